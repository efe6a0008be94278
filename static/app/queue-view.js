// The queue pane of the agent view: the live queue rows (tier, breach clock, risk, who holds and
// who views each, claim and release), the "My conversations" list, the queue's status line, and
// following the topics of the first rows so that who is viewing them shows.

import { query } from './api.js';
import { ctx, mine, open, watched } from './agent-state.js';
import { brandFilter, noticeUnknownBrands } from './brand-filter.js';
import { claim, release } from './claims.js';
import { followQueueSummary, openConversation } from './conversation.js';
import { lockedOut } from './holding.js';
import { $, breachText, debounced, h, holderText, reconcile, replaceChildren, secondsUntil, setText, tierLabel } from './util.js';

const WATCH_ROWS = 40; // keeps every subscription within the server's 64 topics per subscribe

// ---------------------------------------------------------------- my conversations

export async function loadMine() {
  const res = await ctx.api.get(`/api/v1/conversations${query({ view: 'mine', limit: 100 })}`);
  mine.clear();
  for (const s of res.items) mine.set(s.id, s);
  renderMine();
}

export const refreshMineSoon = debounced(() => loadMine().catch(() => {}), 300);

export function renderMine() {
  const items = [...mine.values()].sort((a, b) => a.id - b.id);
  reconcile(
    $('#mine-list'),
    items,
    (s) => s.id,
    (s) => {
      const li = h('li', { class: 'mine-row' });
      li.btn = h('button', { type: 'button', class: 'linklike', onclick: () => openConversation(s.id) });
      li.append(li.btn);
      return li;
    },
    (li, s) => setText(li.btn, `${customerName(s)} · ${s.network} · ${s.status}`),
  );
}

/**
 * "Mine" is what REST said we hold, kept current by the queue: rows we hold join it, rows
 * someone else now holds leave it (held conversations off the queue, e.g. pending, stay).
 */
function followQueueHolders(queued) {
  for (const q of queued) {
    if (q.assignee_id === ctx.me.id) mine.set(q.id, q);
    else if (mine.has(q.id)) mine.delete(q.id);
  }
}

// ---------------------------------------------------------------- the queue

export function renderQueue() {
  const list = $('#queue-list');
  const all = ctx.queue.sorted();
  const brand = brandFilter();
  const items = brand == null ? all : all.filter((s) => s.brand_account_id === brand);
  setText($('#queue-count'), brand == null ? `(${items.length})` : `(${items.length} of ${all.length})`);
  $('#queue-empty').hidden = items.length > 0 || !ctx.queue.loaded;
  setText($('#queue-empty'), brand == null ? 'Nothing waiting.' : 'Nothing waiting for this brand account.');
  reconcile(list, items, (s) => s.id, makeRow, updateRow);
  if (ctx.queue.loaded) noticeUnknownBrands(all);
  followQueueSummary();
  followQueueHolders(all);
  renderMine();
  watchRows(items);
}

function customerName(s) {
  return s.customer_name || `Customer #${s.customer_id}`;
}

function makeRow(s) {
  const r = {};
  const li = h(
    'li',
    { class: 'qrow', dataset: { conversationId: s.id } },
    h(
      'div',
      { class: 'qline' },
      (r.tier = h('span', { class: 'tier' })),
      (r.open = h('button', { type: 'button', class: 'qopen linklike', onclick: () => openConversation(s.id) })),
      (r.breach = h('span', { class: 'breach' })),
    ),
    h(
      'div',
      { class: 'qline small' },
      (r.network = h('span', { class: 'network' })),
      (r.visibility = h('span', { class: 'visibility' })),
      (r.risk = h('span', { class: 'risk' })),
      (r.tags = h('span', { class: 'badges' })),
    ),
    (r.reasons = h('div', { class: 'reasons small' })),
    h(
      'div',
      { class: 'qline small' },
      (r.holder = h('span', { class: 'holder' })),
      (r.viewers = h('span', { class: 'viewers' })),
      h(
        'span',
        { class: 'row-actions' },
        (r.claim = h('button', { type: 'button', class: 'claim', onclick: () => claim(s.id) }, 'Claim')),
        (r.release = h('button', { type: 'button', class: 'release ghost', onclick: () => release(s.id) }, 'Release')),
      ),
    ),
  );
  li.refs = r;
  return li;
}

function updateRow(li, s) {
  li.classList.toggle('held', s.assignee_id != null);
  li.classList.toggle('mine', s.assignee_id === ctx.me.id);
  li.classList.toggle('open', open?.id === s.id);
  li.classList.toggle('crisis', s.crisis_id != null);
  li.dueAt = s.due_at;
  showRowFacts(li.refs, s);
  showRowPeople(li.refs, s);
  updateBreach(li);
}

/** The row's tier, customer, network, risk, badges and risk reasons. */
function showRowFacts(r, s) {
  setText(r.tier, tierLabel(s.priority));
  r.tier.className = `tier ${s.priority}`;
  setText(r.open, customerName(s));
  r.open.setAttribute('aria-label', `Open conversation ${s.id} with ${s.customer_name || `customer #${s.customer_id}`}`);
  setText(r.network, s.network);
  setText(r.visibility, s.origin_visibility);
  r.visibility.className = `visibility ${s.origin_visibility}`;
  setText(r.risk, `Risk ${s.risk}`);
  replaceChildren(
    r.tags,
    s.crisis_id != null ? h('span', { class: 'badge crisis-tag' }, 'Crisis') : '',
    s.escalated_to ? h('span', { class: 'badge escalated' }, `Escalated to ${ctx.groupName(s.escalated_to)}`) : '',
    s.status === 'new' ? h('span', { class: 'badge' }, 'New') : '',
  );
  setText(r.reasons, (s.risk_reasons || []).map((x) => x.detail || x.code).join(' · '));
  r.reasons.title = (s.risk_reasons || []).map((x) => `${x.code} +${x.weight}: ${x.detail}`).join('\n');
}

/** Who holds the row, who views it or types in it, and whether I may claim or release it. */
function showRowPeople(r, s) {
  setText(r.holder, holderText(s.assignee_id, ctx.me.id, ctx.agentName));
  setText(r.viewers, viewersText(s.id));
  r.claim.hidden = s.assignee_id != null || lockedOut(s);
  r.release.hidden = s.assignee_id !== ctx.me.id;
  r.claim.setAttribute('aria-label', `Claim conversation ${s.id}`);
  r.release.setAttribute('aria-label', `Release conversation ${s.id}`);
}

function viewersText(id) {
  const viewers = ctx.queue.viewers.get(id) || [];
  const typists = ctx.queue.typists.get(id) || [];
  return [viewers.length ? `Viewing: ${viewers.map(ctx.agentName).join(', ')}` : '', typists.length ? `typing: ${typists.map(ctx.agentName).join(', ')}` : '']
    .filter(Boolean)
    .join(' · ');
}

function updateBreach(li) {
  const left = secondsUntil(li.dueAt);
  setText(li.refs.breach, breachText(li.dueAt));
  li.refs.breach.classList.toggle('breached', left !== null && left < 0);
  li.refs.breach.classList.toggle('soon', left !== null && left >= 0 && left < 300);
}

/** Moves every row's breach clock on (once a second). */
export function tickQueueClocks() {
  for (const li of $('#queue-list').children) if (li.refs) updateBreach(li);
}

/** Follows the topics of the first rows, so who is viewing them shows on the queue. */
const watchRows = debounced(async (items) => {
  const want = new Set(items.slice(0, WATCH_ROWS).map((s) => s.id));
  const add = [...want].filter((id) => !watched.has(id));
  const drop = [...watched].filter((id) => !want.has(id) && id !== open?.id);
  for (const id of drop) watched.delete(id);
  for (const id of add) watched.add(id);
  try {
    if (drop.length) await ctx.live.unsubscribe(drop.map((id) => `conversation:${id}`));
    if (add.length) await ctx.live.subscribe(add.map((id) => `conversation:${id}`));
  } catch (e) {
    for (const id of add) watched.delete(id);
    console.warn('could not follow queue rows', e);
  }
}, 500);

export function queueMessage(text) {
  setText($('#queue-msg'), text);
}
