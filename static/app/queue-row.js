// One row of the queue: its elements (made once, then reused for whichever conversation scrolls
// into its place) and what it shows of a conversation — tier, customer and handle, network and
// public or private, the newest customer message, risk, sentiment, time waiting and to breach,
// who holds it and which colleagues view or type in it, and Claim or Release.

import { ctx, open } from './agent-state.js';
import { lockedOut } from './holding.js';
import { breachText, h, holderText, NETWORK_NAME, secondsUntil, sentimentBucket, setText, shortSpan, tierLabel } from './util.js';

const NETWORK_SHORT = { x: 'X', facebook: 'FB', instagram: 'IG', whatsapp: 'WA' };
const SNIPPET_CHARS = 120; // more never fits on the row's line (the whole text is its title)

/** The customer's name as the queue shows it. */
export function customerName(s) {
  return s.customer_name || `Customer #${s.customer_id}`;
}

/**
 * A row's elements; fillRow() fills them for a conversation (rows are reused for others).
 * `act` says what the row's buttons do: {open(id), claim(id), release(id)}.
 */
export function makeRow(act) {
  const r = {};
  const li = h(
    'li',
    { class: 'qrow' },
    h(
      'div',
      { class: 'qline q1' },
      (r.tier = h('span', { class: 'tier' })),
      (r.open = h('button', { type: 'button', class: 'qopen', onclick: () => act.open(li.s.id) })),
      (r.handle = h('span', { class: 'handle' })),
      (r.net = h('span', { class: 'net' })),
      (r.badges = h('span', { class: 'badges' })),
      h('span', { class: 'spacer' }),
      (r.holder = h('span', { class: 'holder' })),
      (r.breach = h('span', { class: 'breach' })),
    ),
    h(
      'div',
      { class: 'qline q2' },
      (r.snippet = h('span', { class: 'snippet' })),
      (r.viewers = h('span', { class: 'viewers' })),
      (r.risk = h('span', { class: 'risk' })),
      (r.sentiment = h('span', { class: 'sentiment' })),
      (r.waited = h('span', { class: 'waited' })),
      h(
        'span',
        { class: 'row-actions' },
        (r.claim = h('button', { type: 'button', class: 'claim', 'data-live-action': true, onclick: () => act.claim(li.s.id) }, 'Claim')),
        (r.release = h('button', { type: 'button', class: 'release ghost', 'data-live-action': true, onclick: () => act.release(li.s.id) }, 'Release')),
      ),
    ),
  );
  // The whole row opens the conversation for the mouse; the keyboard has the name's button.
  li.addEventListener('click', (e) => {
    if (!e.target.closest('button, a')) act.open(li.s.id);
  });
  li.refs = r;
  return li;
}

/** Fills row `li` for Summary `s`. */
export function fillRow(li, s) {
  li.s = s;
  if (li.dataset.conversationId !== String(s.id)) li.dataset.conversationId = s.id;
  li.classList.toggle('held', s.assignee_id != null);
  li.classList.toggle('mine', s.assignee_id === ctx.me.id);
  li.classList.toggle('open', open?.id === s.id);
  if (open?.id === s.id) li.setAttribute('aria-current', 'true');
  else li.removeAttribute('aria-current');
  li.classList.toggle('crisis', s.crisis_id != null);
  li.classList.toggle('tier1', s.priority === 'tier1');
  li.classList.toggle('new', s.status === 'new');
  li.dueAt = s.due_at;
  li.waitingSince = s.awaiting_since;
  showRowFacts(li.refs, s);
  showRowPeople(li.refs, s);
  updateClocks(li);
}

/** The row's tier, customer, network, snippet, risk, sentiment and badges. */
function showRowFacts(r, s) {
  setText(r.tier, tierLabel(s.priority));
  r.tier.className = `tier ${s.priority}`;
  const name = customerName(s);
  setText(r.open, name);
  setText(r.handle, s.customer_handle || '');
  const network = NETWORK_NAME[s.network] ?? s.network;
  const vis = s.origin_visibility === 'private' ? 'private' : 'public';
  setText(r.net, `${NETWORK_SHORT[s.network] ?? network} · ${vis}`);
  r.net.title = `${network}, started ${vis}`;
  r.net.className = `net ${s.network} ${vis}`;
  const snippet = s.snippet || '';
  // Only what can show is laid out (the row cuts it with an ellipsis anyway).
  setText(r.snippet, snippet.length > SNIPPET_CHARS ? `${snippet.slice(0, SNIPPET_CHARS)}…` : snippet);
  r.snippet.title = snippet;
  r.open.setAttribute('aria-label', `${name}${s.customer_handle ? ` ${s.customer_handle}` : ''}, ${network} ${vis}, ${tierLabel(s.priority)}${s.status === 'new' ? ', new' : ''}${snippet ? `: ${snippet}` : ''}`);
  setText(r.risk, `risk ${s.risk}`);
  r.risk.title = (s.risk_reasons || []).map((x) => `${x.detail || x.code} (+${x.weight})`).join('\n') || 'No risk reasons';
  const mood = sentimentBucket(s.sentiment_now);
  setText(r.sentiment, mood ? { negative: 'negative', neutral: 'neutral', positive: 'positive' }[mood] : '');
  r.sentiment.className = `sentiment ${mood || ''}`;
  r.sentiment.title = s.sentiment_now == null ? '' : `Sentiment now ${Math.round(s.sentiment_now * 100) / 100}`;
  const badges = [
    s.crisis_id != null ? ['crisis-tag', 'Crisis'] : null,
    s.escalated_to ? ['escalated', `Escalated to ${ctx.groupName(s.escalated_to)}`] : null,
  ].filter(Boolean);
  const sig = badges.map((b) => b[1]).join('|');
  if (r.badges.dataset.sig !== sig) {
    r.badges.dataset.sig = sig;
    r.badges.replaceChildren(...badges.map(([cls, text]) => h('span', { class: `badge ${cls}` }, text)));
  }
}

/** Who holds the row, who views it or types in it, and whether I may claim or release it. */
function showRowPeople(r, s) {
  setText(r.holder, holderText(s.assignee_id, ctx.me.id, ctx.agentName));
  r.holder.classList.toggle('nobody', s.assignee_id == null);
  setText(r.viewers, viewersText(s.id));
  r.claim.hidden = s.assignee_id != null || lockedOut(s);
  r.release.hidden = s.assignee_id !== ctx.me.id;
  const who = customerName(s);
  r.claim.setAttribute('aria-label', `Claim ${who}'s conversation`);
  r.release.setAttribute('aria-label', `Release ${who}'s conversation`);
}

function viewersText(id) {
  // Colleagues only: the agent knows what they are looking at themselves.
  const viewers = (ctx.queue.viewers.get(id) || []).filter((v) => v !== ctx.me.id);
  const typists = (ctx.queue.typists.get(id) || []).filter((v) => v !== ctx.me.id);
  return [viewers.length ? `Viewing: ${viewers.map(ctx.agentName).join(', ')}` : '', typists.length ? `typing: ${typists.map(ctx.agentName).join(', ')}` : '']
    .filter(Boolean)
    .join(' · ');
}

/** The row's breach clock and waiting time, as of now. */
export function updateClocks(li) {
  const left = secondsUntil(li.dueAt);
  setText(li.refs.breach, breachText(li.dueAt));
  li.refs.breach.classList.toggle('breached', left !== null && left < 0);
  li.refs.breach.classList.toggle('soon', left !== null && left >= 0 && left < 300);
  const waited = li.waitingSince ? (Date.now() - Date.parse(li.waitingSince)) / 1000 : null;
  setText(li.refs.waited, waited == null ? '' : `waiting ${shortSpan(waited)}`);
}
