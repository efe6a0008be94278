// The escalation queue: conversations escalated to the groups one is in (team leads, PR,
// legal; admins all three), oldest first — the list from `GET /api/v1/escalations`, then
// `conversation.escalated` / `conversation.escalation_returned` on the `escalations` topic.
// Each can be opened in the agent view's conversation panel, claimed (only the group may), or
// returned to the agent who raised it with a note (`escalation.return`).

import { openConversation } from './agent.js';
import { query } from './api.js';
import { humanize, plainError } from './errors.js';
import { $, batched, duration, h, holderText, onCtrlEnter, reconcile, setText, tierLabel, when } from './util.js';

let ctx;
let items = new Map(); // conversation id -> {escalation, conversation} (one open escalation each)
const names = new Map(); // conversation id -> customer name, or a promise while it is read
const returnedHere = new Set(); // escalation ids this page returned (their event says nothing new)
let render = () => {};

export function init(c) {
  ctx = c;
  render = batched(renderList);
  ctx.loaders.push(load);
  setText($('#escalations-groups'), `For: ${ctx.groups.map(ctx.groupName).join(', ')}`);

  ctx.live.on('conversation.escalated', (d) => {
    const e = d.escalation;
    const cid = e.conversation_id;
    if (ctx.groups.includes(e.group)) {
      items.set(cid, d);
      render();
      arrived(d);
    } else if (items.delete(cid)) {
      // Sent on from here (a team lead to PR or legal): it leaves this queue.
      message(`Conversation ${cid} was escalated on to ${ctx.groupName(e.group)} by ${ctx.agentName(e.from_agent_id)}.`);
      render();
    }
  });
  ctx.live.on('conversation.escalation_returned', (d) => {
    const e = d.escalation;
    const had = items.get(e.conversation_id);
    if (!had || had.escalation.id !== e.id) return;
    items.delete(e.conversation_id);
    if (!returnedHere.has(e.id)) {
      message(`Conversation ${e.conversation_id} was returned to ${ctx.agentName(e.from_agent_id)} by ${ctx.agentName(e.closed_by)}.`);
    }
    render();
  });
  // Who holds each one (claims are heard on the `queue` topic every console follows).
  const holder = (d) => {
    const it = items.get(d.conversation_id);
    if (!it) return;
    it.conversation = { ...it.conversation, assignee_id: d.agent_id ?? null, fence_token: d.fence_token ?? it.conversation.fence_token };
    render();
  };
  ctx.live.on('conversation.claimed', holder);
  ctx.live.on('conversation.released', holder);
  ctx.live.on('conversation.reassigned', holder);
  // Tier, risk, tags as they change; resolving closes the escalation (it leaves the queue).
  ctx.live.on('queue.upsert', (s) => {
    const it = items.get(s.id);
    if (!it) return;
    it.conversation = { ...it.conversation, ...s, customer_name: s.customer_name ?? it.conversation.customer_name };
    render();
  });
  ctx.live.on('queue.remove', (s) => {
    if (s.status === 'resolved' && items.delete(s.id)) {
      message(`Conversation ${s.id} was resolved.`);
      render();
    }
  });
  ctx.queue.onChange(render); // customer names the queue knows
  setInterval(() => {
    for (const li of document.querySelectorAll('#escalations-list > li[data-key]')) showWait(li);
  }, 1000);
}

async function load() {
  // The list is not limited to one's own groups: ask for each of them.
  const lists = await Promise.all(ctx.groups.map((group) => ctx.api.get(`/api/v1/escalations${query({ status: 'open', group, limit: 200 })}`)));
  items = new Map(lists.flat().map((d) => [d.escalation.conversation_id, d]));
  renderList();
}

function message(text) {
  setText($('#escalations-msg'), text);
}

function viewShown() {
  return !$('#view-escalations').hidden;
}

/** Says a new arrival: in the view's status line when it is shown, else as a notification. */
function arrived(d) {
  const e = d.escalation;
  const text = `New escalation to ${ctx.groupName(e.group)} from ${ctx.agentName(e.from_agent_id)}: ${customerName(d)} (conversation ${e.conversation_id}) — “${e.reason}”.`;
  if (viewShown()) message(text);
  else ctx.toast(text, { action: { label: 'Show', run: () => (location.hash = '#escalations') } });
}

/**
 * The customer's name: the Summary carries it; the queue or the conversation's detail are the
 * fallback should a Summary arrive without one (older servers sent null here).
 */
function customerName(d) {
  const s = d.conversation;
  const id = s.id;
  const known = s.customer_name ?? ctx.queue.get(id)?.customer_name ?? names.get(id);
  if (typeof known === 'string') return known;
  if (!names.has(id)) {
    names.set(
      id,
      ctx.api
        .get(`/api/v1/conversations/${id}`)
        .then((detail) => {
          names.set(id, detail.customer.display_name || detail.conversation.customer_name || `Customer #${s.customer_id}`);
          render();
        })
        .catch(() => names.delete(id)),
    );
  }
  return `Customer #${s.customer_id}`;
}

function renderList() {
  const list = [...items.values()].sort(
    (a, b) => Date.parse(a.escalation.created_at) - Date.parse(b.escalation.created_at) || a.escalation.id - b.escalation.id,
  );
  setText($('#escalations-count'), `(${list.length})`);
  $('#escalations-empty').hidden = list.length > 0;
  const nav = $('#nav-escalations');
  if (nav) setText(nav, list.length ? `Escalations (${list.length})` : 'Escalations');
  reconcile($('#escalations-list'), list, (d) => d.escalation.id, makeRow, updateRow);
}

function showWait(li) {
  setText(li.refs.wait, `waiting ${duration((Date.now() - Date.parse(li.createdAt)) / 1000)}`);
}

function makeRow(d) {
  const e = d.escalation;
  const cid = e.conversation_id;
  const who = ctx.agentName(e.from_agent_id);
  const r = {};
  const noteId = `escq-note-${e.id}`;
  r.note = h('textarea', { id: noteId, rows: 3, maxlength: 2000, required: true, 'aria-describedby': `escq-help-${e.id}` });
  r.returnBtn = h('button', { type: 'submit', class: 'primary return' }, `Return to ${who}`);
  r.form = h(
    'form',
    { class: 'return-form', 'aria-label': `Return conversation ${cid} to ${who}` },
    h('label', { for: noteId }, `Note for ${who}`),
    r.note,
    h('p', { id: `escq-help-${e.id}`, class: 'small muted' }, `What ${who === 'you' ? 'you' : 'they'} should know or do. Returning hands the conversation straight back to ${who === 'you' ? 'you' : 'them'}. Ctrl+Enter returns it.`),
    r.returnBtn,
  );
  r.msg = h('p', { class: 'error small', role: 'alert' });
  const li = h(
    'li',
    { class: 'card escalation', dataset: { escalationId: e.id, conversationId: cid, group: e.group }, 'aria-labelledby': `escq-h-${e.id}` },
    h(
      'div',
      { class: 'qline' },
      (r.tier = h('span', { class: 'tier' })),
      h('h3', { id: `escq-h-${e.id}`, class: 'esc-customer' }, (r.name = h('span', {}))),
      h('span', { class: 'badge group' }, `To ${ctx.groupName(e.group)}`),
    ),
    (r.facts = h('p', { class: 'small muted' })),
    (r.reasons = h('p', { class: 'reasons small' })),
    h(
      'p',
      { class: 'small esc-from' },
      `Escalated by ${who} to ${ctx.groupName(e.group)} · `,
      h('time', { datetime: e.created_at }, when(e.created_at)),
      ' · ',
      (r.wait = h('span', { class: 'wait' })),
    ),
    h('blockquote', { class: 'esc-reason' }, h('span', { class: 'visually-hidden' }, 'Reason: '), e.reason),
    h('p', { class: 'holder-line' }, (r.holder = h('span', { class: 'holder' }))),
    h(
      'div',
      { class: 'actions', role: 'group', 'aria-label': `Conversation ${cid}` },
      (r.open = h('button', { type: 'button', class: 'open' }, 'Open conversation')),
      (r.claim = h('button', { type: 'button', class: 'claim' }, 'Claim')),
    ),
    r.form,
    r.msg,
  );
  li.refs = r;
  li.createdAt = e.created_at;
  showWait(li);

  r.open.addEventListener('click', () => openConversation(cid));
  r.claim.addEventListener('click', () => claim(li, cid));
  r.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    giveBack(li, e);
  });
  onCtrlEnter(r.note, () => r.form.requestSubmit());
  return li;
}

function updateRow(li, d) {
  const r = li.refs;
  const s = d.conversation;
  const name = customerName(d);
  const mine = s.assignee_id === ctx.me.id;
  setText(r.name, name);
  setText(r.tier, tierLabel(s.priority));
  r.tier.className = `tier ${s.priority}`;
  li.classList.toggle('tier1', s.priority === 'tier1');
  setText(r.facts, `Conversation ${s.id} · ${s.network}, started ${s.origin_visibility} · risk ${s.risk} · ${s.status}${s.crisis_id != null ? ' · crisis' : ''}`);
  setText(r.reasons, (s.risk_reasons || []).length ? `Risk reasons: ${s.risk_reasons.map((x) => `${x.detail || x.code} (+${x.weight})`).join(' · ')}` : 'No risk reasons.');
  setText(r.holder, holderText(s.assignee_id, ctx.me.id, ctx.agentName));
  r.holder.dataset.holder = s.assignee_id ?? '';
  r.claim.hidden = mine;
  setText(r.claim, s.assignee_id != null && !mine ? `Claim (held by ${ctx.agentName(s.assignee_id)})` : 'Claim');
  r.open.setAttribute('aria-label', `Open conversation ${s.id} with ${name}`);
  r.claim.setAttribute('aria-label', `Claim conversation ${s.id} with ${name}`);
  li.classList.toggle('mine', mine);
  li.classList.toggle('held', s.assignee_id != null);
}

async function claim(li, id) {
  const r = li.refs;
  setText(r.msg, '');
  r.claim.disabled = true;
  try {
    const ack = await ctx.live.send({ type: 'claim', conversation_id: id });
    const it = items.get(id);
    if (it) it.conversation = { ...it.conversation, assignee_id: ack.claim.agent_id, fence_token: ack.claim.fence_token };
    renderList();
    message(`You hold conversation ${id}: open it to reply, or return it with a note.`);
    r.open.focus();
  } catch (e) {
    setText(
      r.msg,
      e.code === 'already_claimed'
        ? `Already taken: ${humanize(e.message, ctx.agentName)}.`
        : e.code === 'forbidden'
          ? `Not allowed: ${humanize(e.message, ctx.agentName)}.`
          : e.code === 'at_capacity'
            ? 'You are at capacity: resolve or release a conversation first.'
            : `Could not claim it: ${plainError(e, ctx.agentName)}`,
    );
  } finally {
    r.claim.disabled = false;
  }
}

async function giveBack(li, e) {
  const r = li.refs;
  const note = r.note.value.trim();
  setText(r.msg, '');
  if (!note) {
    setText(r.msg, `Write a note for ${ctx.agentName(e.from_agent_id)} first.`);
    r.note.focus();
    return;
  }
  r.returnBtn.disabled = true;
  try {
    const ack = await ctx.live.send({ type: 'escalation.return', conversation_id: e.conversation_id, note });
    returnedHere.add(ack.escalation.id);
    // Focus goes to the next row (or the heading when none is left), not to the page's top.
    const next = li.nextElementSibling || li.previousElementSibling;
    items.delete(e.conversation_id);
    renderList();
    message(`Returned conversation ${e.conversation_id} to ${ctx.agentName(ack.escalation.from_agent_id)}${ack.conversation.assignee_id === ack.escalation.from_agent_id ? ', who holds it again' : ''}.`);
    (next?.isConnected ? next.refs.open : $('#escq-h'))?.focus();
  } catch (err) {
    setText(
      r.msg,
      err.code === 'forbidden'
        ? `Not yours to return: ${humanize(err.message, ctx.agentName)}.`
        : err.code === 'not_found'
          ? 'It is no longer escalated (returned, resolved or sent on meanwhile).'
          : `Could not return it: ${plainError(err, ctx.agentName)}`,
    );
    if (err.code === 'not_found') {
      setTimeout(() => {
        if (items.get(e.conversation_id)?.escalation.id === e.id) items.delete(e.conversation_id);
        render();
      }, 3000);
    }
  } finally {
    r.returnBtn.disabled = false;
  }
}
