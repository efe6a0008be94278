// The agent view: the live queue (with "Take next", claim and release) and the open
// conversation (the whole thread, the composer, notes, tags, escalation, resolution), with who
// else is viewing or typing shown live.

import { query } from './api.js';
import { customerPanel } from './customer.js';
import {
  $,
  batched,
  breachText,
  h,
  randomKey,
  reconcile,
  replaceChildren,
  secondsUntil,
  sentimentLabel,
  setText,
  when,
} from './util.js';

let ctx;
let open = null; // the open conversation: {id, summary, detail, messages, notes, replies, approvals, viewers, typists, el…}
let examples = null; // example responses, loaded when first needed
const watched = new Set(); // conversation ids whose topic we follow for the queue rows
const WATCH_ROWS = 40; // keeps every subscription within the server's 64 topics per subscribe
const mine = new Map(); // conversations the agent holds (queue or not)
let brands = []; // the brand accounts (GET /api/v1/brand-accounts), for the queue's filter
const BRAND_KEY = 'chorus_brand_filter'; // the chosen account survives a reload (localStorage)
const NETWORK_NAME = { x: 'X', facebook: 'Facebook', instagram: 'Instagram', whatsapp: 'WhatsApp' };

// What a reply may hold on each network (docs/protocol.md, "Replies"); shown as a counter.
const LIMITS = {
  x: { public: 280, private: 10000 },
  facebook: { public: 8000, private: 2000 },
  instagram: { public: 2200, private: 1000 },
  whatsapp: { public: 0, private: 4096 },
};

const STATUS_TEXT = {
  queued: 'Queued for sending',
  held: 'Awaiting approval',
  sent: 'Sent',
  failed: 'Failed',
  rejected: 'Rejected',
};

export function init(c) {
  ctx = c;
  ctx.loaders.push(load);
  const renderSoon = batched(renderQueue);
  ctx.queue.onChange(renderSoon);
  $('#take-next').addEventListener('click', takeNext);
  $('#brand-filter').addEventListener('change', (e) => {
    localStorage.setItem(BRAND_KEY, e.target.value);
    renderQueue();
  });
  setInterval(tickClocks, 1000);
  wireConversationEvents();
  wireAgentEvents();
  ctx.onCrisisChange(() => open && !open.loading && renderCrisisHelpers());
  // Viewing markers end with the session: say it again on every (re)connect.
  ctx.live.on('status', (state) => {
    if (state === 'live' && open) ctx.live.send({ type: 'viewing', conversation_id: open.id }).then(showViewers, () => {});
  });
  setInterval(expireTypists, 2000);
}

// ---------------------------------------------------------------- loading

async function load(snapshot, reason) {
  await Promise.all([ctx.queue.load(snapshot), loadMine(), loadBrands()]);
  // After a resync or a restart the open conversation may have changed while we were away.
  if (open && reason !== 'initial') await loadOpen(open.id, { keepComposer: true });
}

async function loadMine() {
  const res = await ctx.api.get(`/api/v1/conversations${query({ view: 'mine', limit: 100 })}`);
  mine.clear();
  for (const s of res.items) mine.set(s.id, s);
  renderMine();
}

const refreshMineSoon = (() => {
  let t = null;
  return () => {
    clearTimeout(t);
    t = setTimeout(() => loadMine().catch(() => {}), 300);
  };
})();

// ---------------------------------------------------------------- brand accounts

/** The brand accounts for the queue's filter; without them (an older server) there is no filter. */
async function loadBrands() {
  try {
    brands = await ctx.api.get('/api/v1/brand-accounts');
  } catch (e) {
    console.warn('brand accounts', e);
    brands = [];
  }
  renderBrandFilter();
  renderQueue();
}

/** A conversation from an account registered since we loaded the list: read it again (at most every 10 s). */
const refreshBrandsSoon = (() => {
  let last = 0;
  return () => {
    if (Date.now() - last < 10000) return;
    last = Date.now();
    loadBrands();
  };
})();

function brandLabel(b) {
  return `${b.name || b.platform_account_id} (${NETWORK_NAME[b.network] ?? b.network})`;
}

function renderBrandFilter() {
  const select = $('#brand-filter');
  const wanted = localStorage.getItem(BRAND_KEY) || '';
  replaceChildren(
    select,
    h('option', { value: '' }, 'All brand accounts'),
    brands.map((b) => h('option', { value: b.id }, brandLabel(b))),
  );
  select.value = brands.some((b) => String(b.id) === wanted) ? wanted : '';
  // One account: nothing to choose between.
  $('#brand-filter-wrap').hidden = brands.length < 2;
}

/** The account the queue is narrowed to, or null: only a listed one, and only while there is a choice. */
function brandFilter() {
  if (brands.length < 2) return null;
  const id = Number($('#brand-filter').value);
  return brands.some((b) => b.id === id) ? id : null;
}

// ---------------------------------------------------------------- the queue

function renderQueue() {
  const list = $('#queue-list');
  const all = ctx.queue.sorted();
  const brand = brandFilter();
  const items = brand == null ? all : all.filter((s) => s.brand_account_id === brand);
  setText($('#queue-count'), brand == null ? `(${items.length})` : `(${items.length} of ${all.length})`);
  $('#queue-empty').hidden = items.length > 0 || !ctx.queue.loaded;
  setText($('#queue-empty'), brand == null ? 'Nothing waiting.' : 'Nothing waiting for this brand account.');
  reconcile(list, items, (s) => s.id, makeRow, updateRow);
  if (ctx.queue.loaded && brands.length && all.some((s) => s.brand_account_id != null && !brands.some((b) => b.id === s.brand_account_id))) {
    refreshBrandsSoon();
  }
  // Keep the open conversation's summary fresh from the queue.
  if (open && !open.loading) {
    const s = ctx.queue.get(open.id);
    if (s && s !== open.queueSummary) {
      open.queueSummary = s;
      if (!staleAfterResolve(s)) applySummary(s);
    }
  }
  // "Mine" is what REST said we hold, kept current by the queue: rows we hold join it, rows
  // someone else now holds leave it (held conversations off the queue, e.g. pending, stay).
  for (const q of all) {
    if (q.assignee_id === ctx.me.id) mine.set(q.id, q);
    else if (mine.has(q.id)) mine.delete(q.id);
  }
  renderMine();
  watchRows(items);
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
  const r = li.refs;
  const mineNow = s.assignee_id === ctx.me.id;
  li.classList.toggle('held', s.assignee_id != null);
  li.classList.toggle('mine', mineNow);
  li.classList.toggle('open', open?.id === s.id);
  li.classList.toggle('crisis', s.crisis_id != null);
  li.dueAt = s.due_at;
  setText(r.tier, s.priority === 'tier1' ? 'Tier 1' : s.priority === 'tier2' ? 'Tier 2' : s.priority);
  r.tier.className = `tier ${s.priority}`;
  setText(r.open, s.customer_name || `Customer #${s.customer_id}`);
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
  setText(r.holder, s.assignee_id == null ? 'Unassigned' : mineNow ? 'Held by you' : `Held by ${ctx.agentName(s.assignee_id)}`);
  const viewers = ctx.queue.viewers.get(s.id) || [];
  const typists = ctx.queue.typists.get(s.id) || [];
  setText(
    r.viewers,
    [viewers.length ? `Viewing: ${viewers.map(ctx.agentName).join(', ')}` : '', typists.length ? `typing: ${typists.map(ctx.agentName).join(', ')}` : '']
      .filter(Boolean)
      .join(' · '),
  );
  r.claim.hidden = s.assignee_id != null || lockedOut(s);
  r.release.hidden = !mineNow;
  r.claim.setAttribute('aria-label', `Claim conversation ${s.id}`);
  r.release.setAttribute('aria-label', `Release conversation ${s.id}`);
  updateBreach(li);
}

/** Escalated to a group one is not in: only that group may claim it (the server says 403). */
function lockedOut(s) {
  return s.escalated_to != null && !ctx.groups.includes(s.escalated_to);
}

function updateBreach(li) {
  const left = secondsUntil(li.dueAt);
  setText(li.refs.breach, breachText(li.dueAt));
  li.refs.breach.classList.toggle('breached', left !== null && left < 0);
  li.refs.breach.classList.toggle('soon', left !== null && left >= 0 && left < 300);
}

function tickClocks() {
  for (const li of $('#queue-list').children) if (li.refs) updateBreach(li);
  if (open && !open.loading && open.el) {
    setText(open.el.due, dueText(open.summary));
  }
}

function renderMine() {
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
    (li, s) => setText(li.btn, `${s.customer_name || `Customer #${s.customer_id}`} · ${s.network} · ${s.status}`),
  );
}

/** Follows the topics of the first rows, so who is viewing them shows on the queue. */
const watchRows = (() => {
  let t = null;
  return (items) => {
    clearTimeout(t);
    t = setTimeout(async () => {
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
  };
})();

function queueMessage(text) {
  setText($('#queue-msg'), text);
}

// ---------------------------------------------------------------- claiming

async function takeNext() {
  const button = $('#take-next');
  button.disabled = true;
  queueMessage('');
  try {
    const ack = await ctx.live.send({ type: 'next' });
    if (!ack.claim) {
      queueMessage('Nothing waiting for you right now.');
      return;
    }
    ctx.queue.upsert(ack.conversation);
    mine.set(ack.conversation.id, ack.conversation);
    queueMessage(`You took conversation ${ack.conversation.id}.`);
    await openConversation(ack.conversation.id);
  } catch (e) {
    queueMessage(e.code === 'at_capacity' ? 'You are at capacity: resolve or release a conversation first.' : `Take next failed: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

/** Claims a conversation; a conflict is said clearly, in the queue and the pane. */
async function claim(id) {
  try {
    const ack = await ctx.live.send({ type: 'claim', conversation_id: id });
    applyClaim(id, ack.claim);
    ctx.announce(`You hold conversation ${id}.`);
    if (open?.id !== id) await openConversation(id);
    return true;
  } catch (e) {
    const text = conflictText(id, e);
    queueMessage(text);
    if (open?.id === id) paneAlert(text);
    ctx.announce(text);
    return false;
  }
}

function conflictText(id, e) {
  const s = ctx.queue.get(id) || (open?.id === id ? open.summary : null);
  const who = s && s.assignee_id != null && s.assignee_id !== ctx.me.id ? ctx.agentName(s.assignee_id) : null;
  switch (e.code) {
    case 'already_claimed':
      return `Conversation ${id} is already taken${who ? ` by ${who}` : ''} (${e.message}).`;
    case 'stale_claim':
      return `Your claim on conversation ${id} is no longer valid: it was released, expired or reassigned. Nothing was changed.`;
    case 'at_capacity':
      return 'You are at capacity: resolve or release a conversation first.';
    case 'forbidden':
      return `Not allowed: ${e.message}`;
    default:
      return `Conversation ${id}: ${e.message}`;
  }
}

function applyClaim(id, claim) {
  const s = ctx.queue.get(id);
  if (s) ctx.queue.upsert({ ...s, assignee_id: claim.agent_id, fence_token: claim.fence_token });
  if (open?.id === id) applySummary({ assignee_id: claim.agent_id, fence_token: claim.fence_token });
  mine.set(id, { ...(s || open?.summary || { id }), assignee_id: claim.agent_id, fence_token: claim.fence_token });
  renderMine();
}

/** The fence token of our claim, when we hold the conversation. */
function tokenOf(id) {
  const s = open?.id === id ? open.summary : ctx.queue.get(id) || mine.get(id);
  return s && s.assignee_id === ctx.me.id ? s.fence_token : null;
}

async function release(id) {
  const token = tokenOf(id);
  if (token == null) return;
  try {
    await ctx.live.send({ type: 'release', conversation_id: id, fence_token: token });
    mine.delete(id);
    renderMine();
    queueMessage(`Released conversation ${id}.`);
  } catch (e) {
    queueMessage(conflictText(id, e));
  }
}

// ---------------------------------------------------------------- events

/** Runs `fn` for events about the open conversation; while it loads they wait. */
function onConv(kind, fn) {
  ctx.live.on(kind, (d) => {
    const id = d.conversation_id ?? d.conversation?.id ?? d.escalation?.conversation_id ?? d.id;
    if (!open || id !== open.id) return;
    if (open.loading) open.buffer.push(() => fn(d));
    else fn(d);
  });
}

function wireConversationEvents() {
  // A note or tag on the customer, from any session: the panel reads the profile again.
  onConv('customer.updated', () => open.customerPanel?.reload());
  // Another session merged or unmerged this conversation's customer: show who it is now.
  for (const kind of ['customer.merged', 'customer.unmerged']) {
    onConv(kind, (d) => {
      const id = open.id;
      loadOpen(id, { keepComposer: true }).then(() => {
        if (open?.id === id) paneNote(kind === 'customer.merged' ? `Customer merged: this is now ${d.survivor_name} (#${d.survivor_id}).` : `Merge undone (customer #${d.merged_id} taken back out).`);
      });
    });
  }
  onConv('conversation.message', (d) => {
    // Keep what the REST view knew of it (the event may carry fewer fields).
    open.messages.set(d.message.id, { ...open.messages.get(d.message.id), ...d.message });
    renderThread();
    // A reply whose quoted message the event does not describe: the conversation view does.
    if (d.message.in_reply_to && d.message.replying_to === undefined) refreshMessagesSoon();
  });
  // Its author edited or deleted it on the network, or the echo of a reply was linked to it.
  onConv('conversation.message_updated', (d) => {
    open.messages.set(d.message.id, { ...open.messages.get(d.message.id), ...d.message });
    renderThread();
  });
  onConv('conversation.note', (d) => {
    if (!open.notes.some((n) => n.id === d.note.id)) open.notes.push(d.note);
    renderThread();
  });
  const holder = (d) => {
    const was = open.summary.assignee_id;
    // Escalating and resolving give the claim back on purpose, and so does our own release:
    // only a claim that ended without us (expired, taken over) is worth an alert.
    const meant =
      (d.agent_id == null && open.summary.escalated_to != null) ||
      d.released_by === ctx.me.id ||
      d.reason === 'resolved' ||
      open.summary.status === 'resolved';
    if (was === ctx.me.id && d.agent_id !== ctx.me.id && !meant) {
      paneAlert(d.agent_id == null ? 'Your claim on this conversation ended.' : `This conversation was reassigned to ${ctx.agentName(d.agent_id)}.`);
    } else if (d.agent_id === ctx.me.id) {
      paneAlert(''); // ours (again): an earlier "claim ended" no longer holds
    }
    applySummary({ assignee_id: d.agent_id ?? null, fence_token: d.fence_token ?? open.summary.fence_token });
  };
  onConv('conversation.claimed', holder);
  onConv('conversation.released', holder);
  onConv('conversation.reassigned', holder);
  // Resolving gives the claim back (docs/protocol.md, "Claims"): nobody holds it afterwards.
  onConv('conversation.resolved', (d) => {
    applySummary({
      status: 'resolved',
      assignee_id: null,
      resolved_at: d.resolved_at ?? open.summary.resolved_at,
      // The event only says whether a follow-up is owed; the Summary after it says when.
      public_followup_due_at: d.public_followup_due ? open.summary.public_followup_due_at ?? d.resolved_at : null,
    });
  });
  onConv('conversation.status', (d) => applySummary({ status: d.status }));
  onConv('conversation.tags', (d) => applySummary({ tags: d.tags }));
  onConv('conversation.team', (d) => applySummary({ team_id: d.team_id }));
  const escalation = (d) => {
    applyEscalation(d.escalation);
    applySummary(d.conversation);
  };
  onConv('conversation.escalated', escalation);
  onConv('conversation.escalation_returned', (d) => {
    escalation(d);
    const e = d.escalation;
    setText(open.el.escMsg, '');
    if (e.from_agent_id === ctx.me.id) {
      setText(open.el.escStatus, `Returned to you by ${ctx.agentName(e.closed_by)} (${ctx.groupName(e.group)}) with the note above; it is yours again.`);
    }
  });
  for (const kind of ['reply.queued', 'reply.sent', 'reply.failed']) {
    onConv(kind, (reply) => {
      const old = open.replies.get(reply.id);
      // reply.sent arrives with "approval_id": null for a reply that was held (reported to the
      // server's owner); keep the approval we know so "approved by" still shows.
      open.replies.set(reply.id, { ...old, ...reply, approval_id: reply.approval_id ?? old?.approval_id ?? null });
      renderThread();
      renderReplyStatus();
    });
  }
  onConv('approval.requested', (a) => {
    open.approvals.set(a.id, a);
    const r = open.replies.get(a.reply_id);
    open.replies.set(a.reply_id, { ...(r || { id: a.reply_id, text: a.text, visibility: a.visibility, agent_id: a.author_id, created_at: a.requested_at }), status: 'held', approval_id: a.id });
    renderThread();
    renderReplyStatus();
  });
  onConv('approval.decided', (a) => {
    open.approvals.set(a.id, { ...open.approvals.get(a.id), ...a });
    const r = open.replies.get(a.reply_id);
    if (r && r.status === 'held') {
      // The decision moves the reply on (queued, or rejected); reply.sent follows an approval.
      open.replies.set(a.reply_id, { ...r, status: a.reply_status || (a.status === 'rejected' ? 'rejected' : 'queued'), text: a.text ?? r.text });
    }
    renderThread();
    renderReplyStatus();
  });
  // Leaving the queue (answered and now pending, resolved, noise) changes the conversation too.
  onConv('queue.remove', (summary) => applySummary(summary));
  onConv('conversation.viewers', (d) => {
    open.viewers = d.viewers || [];
    renderPresence();
  });
  onConv('conversation.typing', (d) => {
    const now = Date.now();
    open.typists = new Map((d.typists || []).map((id) => [id, now + 9000]));
    renderPresence();
  });
  onConv('sla.warning', (d) => paneNote(`First response due ${breachText(d.due_at)}.`));
  onConv('sla.breach', () => paneNote('This conversation is past its response due time.'));
}

const returnedToMe = new Set(); // conversations just returned to us (their reassignment says nothing new)

function wireAgentEvents() {
  const live = ctx.live;
  live.on('conversation.escalation_returned', (d) => {
    const e = d.escalation;
    if (e.from_agent_id !== ctx.me.id || e.closed_by === ctx.me.id) return;
    returnedToMe.add(e.conversation_id);
    refreshMineSoon();
    ctx.toast(`${ctx.agentName(e.closed_by)} (${ctx.groupName(e.group)}) returned conversation ${e.conversation_id} to you: “${e.return_note}”`, {
      label: 'Open',
      run: () => openConversation(e.conversation_id),
    });
  });
  live.on('conversation.claimed', (d) => {
    if (d.agent_id === ctx.me.id) {
      refreshMineSoon();
      if (d.assigned_by === 'auto') ctx.toast(`Conversation ${d.conversation_id} was assigned to you.`, { label: 'Open', run: () => openConversation(d.conversation_id) });
    }
  });
  live.on('conversation.reassigned', (d) => {
    if (d.agent_id === ctx.me.id && returnedToMe.delete(d.conversation_id)) {
      refreshMineSoon(); // the return said it already
    } else if (d.agent_id === ctx.me.id) {
      refreshMineSoon();
      ctx.toast(`${ctx.agentName(d.from_agent_id) === 'you' ? 'You' : 'A supervisor'} moved conversation ${d.conversation_id} to you.`, {
        label: 'Open',
        run: () => openConversation(d.conversation_id),
      });
    } else if (d.from_agent_id === ctx.me.id) {
      refreshMineSoon();
      ctx.toast(`Conversation ${d.conversation_id} was reassigned to ${ctx.agentName(d.agent_id)}.`);
    }
  });
  live.on('conversation.released', (d) => {
    if (d.released_by === ctx.me.id || mine.has(d.conversation_id)) refreshMineSoon();
  });
  // Off the queue and no longer ours (resolved: the claim went with it); pending ones stay ours.
  live.on('queue.remove', (s) => {
    if (mine.has(s.id) && (s.status === 'resolved' || s.assignee_id !== ctx.me.id)) {
      mine.delete(s.id);
      renderMine();
    }
  });
  live.on('conversation.followup_due', (d) => {
    ctx.toast(`Conversation ${d.conversation_id} owes a short public follow-up.`, { label: 'Open', run: () => openConversation(d.conversation_id) });
  });
  live.on('sla.breach', (d) => {
    if (d.assignee_id === ctx.me.id) ctx.toast(`SLA breached on conversation ${d.conversation_id}.`);
  });
  live.on('reply.failed', (r) => {
    if (r.agent_id === ctx.me.id) ctx.toast(`A reply on conversation ${r.conversation_id} failed: ${r.last_error || 'unknown error'}`);
  });
  live.on('approval.decided', (a) => {
    if (a.author_id === ctx.me.id && open?.id !== a.conversation_id) {
      ctx.toast(`Your reply on conversation ${a.conversation_id} was ${a.status}${a.comment ? `: “${a.comment}”` : ''}.`);
    }
  });
}

// ---------------------------------------------------------------- the open conversation

export async function openConversation(id) {
  if (location.hash && location.hash !== '#agent') location.hash = '#agent';
  if (open && open.id !== id) closeConversation();
  if (open && open.id === id) {
    open.el?.title.focus();
    return;
  }
  open = { id, loading: true, buffer: [] };
  renderQueue();
  replaceChildren($('#conv-pane'), h('p', { class: 'empty', role: 'status' }, `Loading conversation ${id}…`));
  try {
    // Subscribe first, then read: events in between wait in the buffer and apply after.
    await ctx.live.subscribe([`conversation:${id}`]).catch((e) => console.warn('subscribe', e));
    await loadOpen(id);
    ctx.live.send({ type: 'viewing', conversation_id: id }).then(showViewers, () => {});
    open?.el?.title.focus();
  } catch (e) {
    if (open?.id === id) replaceChildren($('#conv-pane'), h('p', { class: 'error', role: 'alert' }, `Could not open conversation ${id}: ${e.message}`));
  }
}

function showViewers(ack) {
  if (open && ack && ack.conversation_id === open.id && !open.loading) {
    open.viewers = ack.viewers || [];
    renderPresence();
  }
}

/** Reads the conversation (detail, replies, approvals) and renders it. */
async function loadOpen(id, { keepComposer = false } = {}) {
  if (!open || open.id !== id) return;
  open.loading = true;
  open.buffer = open.buffer || [];
  const [detail, replies, approvals] = await Promise.all([
    ctx.api.get(`/api/v1/conversations/${id}`),
    ctx.api.get(`/api/v1/conversations/${id}/replies`),
    ctx.api.get(`/api/v1/approvals${query({ conversation_id: id, status: 'all' })}`).catch(() => []),
  ]);
  if (!open || open.id !== id) return;
  const draft = keepComposer && open.el ? { text: open.el.text.value, key: open.draftKey } : null;
  Object.assign(open, {
    detail,
    summary: detail.conversation,
    messages: new Map(detail.messages.map((m) => [m.id, m])),
    notes: [...detail.notes],
    replies: new Map(replies.map((r) => [r.id, r])),
    approvals: new Map(approvals.map((a) => [a.id, a])),
    viewers: open.viewers || [],
    typists: new Map(),
  });
  renderConversation();
  if (draft) {
    open.el.text.value = draft.text;
    open.draftKey = draft.key;
  }
  open.loading = false;
  const waiting = open.buffer;
  open.buffer = [];
  for (const fn of waiting) fn();
}

function closeConversation() {
  if (!open) return;
  const id = open.id;
  stopTyping();
  ctx.live.send({ type: 'viewing', conversation_id: id, on: false }).catch(() => {});
  if (!watched.has(id)) ctx.live.unsubscribe([`conversation:${id}`]);
  open = null;
  replaceChildren($('#conv-pane'), h('p', { class: 'empty' }, 'Open a conversation from the queue, or press “Take next”.'));
  renderQueue();
}

function renderConversation() {
  const d = open.detail;
  const el = {};
  open.el = el;
  const customer = d.customer;
  const handles = (customer.identities || []).map((i) => `${i.handle || i.platform_user_id} on ${i.network}`).join(', ');
  const article = h(
    'article',
    { class: 'conv', dataset: { conversationId: open.id }, 'aria-labelledby': 'conv-title' },
    h(
      'header',
      { class: 'conv-head' },
      h(
        'div',
        { class: 'conv-title-row' },
        (el.title = h('h2', { id: 'conv-title', tabindex: '-1' }, customer.display_name || `Customer #${customer.id}`)),
        h('button', { type: 'button', class: 'ghost', onclick: closeConversation, 'aria-label': 'Close conversation' }, 'Close'),
      ),
      h('p', { class: 'small muted' }, `${handles}${customer.followers != null ? ` · ${customer.followers} followers` : ''} · to ${d.brand_account_name || 'brand'} · conversation ${open.id}`),
      (el.facts = h('dl', { class: 'facts' })),
      (el.reasons = h('p', { class: 'reasons small' })),
      h('p', { class: 'holder-line' }, (el.holder = h('span', { id: 'conv-holder', class: 'holder' })), ' · ', (el.due = h('span', { class: 'breach' }))),
      (el.presence = h('p', { id: 'conv-presence', class: 'presence small', 'aria-live': 'polite' })),
      (el.alert = h('div', { id: 'conv-alert', class: 'alert', role: 'alert' })),
      h(
        'div',
        { class: 'actions', role: 'group', 'aria-label': 'Conversation actions' },
        (el.claim = h('button', { type: 'button', class: 'primary', id: 'conv-claim', onclick: () => claim(open.id) }, 'Claim')),
        (el.release = h('button', { type: 'button', id: 'conv-release', onclick: () => release(open.id) }, 'Release')),
        (el.resolve = h('button', { type: 'button', id: 'conv-resolve', onclick: resolve }, 'Resolve')),
        (el.pending = h('button', { type: 'button', id: 'conv-pending', onclick: () => setStatus('pending') }, 'Waiting on customer')),
        (el.reopen = h('button', { type: 'button', id: 'conv-reopen', onclick: () => setStatus('open') }, 'Back on the queue')),
      ),
      (el.closed = h('p', { id: 'conv-closed', class: 'closed-note', hidden: true })),
      (el.hints = h('div', { class: 'hints' })),
      escalationsBox(el),
    ),
    h('section', { class: 'thread-wrap', 'aria-label': 'Thread' }, (el.thread = h('ol', { id: 'thread', class: 'thread' }))),
    composer(el),
    h(
      'div',
      { class: 'conv-side' },
      notesForm(el),
      tagsForm(el),
      (el.customer = h('div', { id: 'customer-slot' })),
      escalateForm(el),
      h('section', { class: 'card', 'aria-labelledby': 'earlier-h' }, h('h3', { id: 'earlier-h' }, 'Earlier conversations'), (el.earlier = h('ul', { class: 'earlier' }))),
    ),
  );
  el.article = article;
  replaceChildren($('#conv-pane'), article);
  const id = open.id;
  open.customerPanel = customerPanel(ctx, customer.id, {
    conversationId: id,
    crm: d.crm,
    openConversation,
    // A merge or an unmerge changes whose conversation this is: read it again.
    onMerged: () => (open?.id === id ? loadOpen(id, { keepComposer: true }) : null),
  });
  replaceChildren(el.customer, open.customerPanel.el);
  renderHeader();
  renderThread();
  renderPresence();
  renderReplyStatus();
  renderCrisisHelpers();
  renderEarlier();
  renderHints();
  renderEscalations();
}

/**
 * Takes a (partial) Summary of the open conversation — an ack, a queue entry, an event — and
 * renders the pane from the result: what the pane offers always follows the summary, never the
 * action just taken, so every session viewing it shows the same.
 */
function applySummary(s) {
  if (!open?.summary || !s) return;
  open.summary = { ...open.summary, ...s, customer_name: s.customer_name ?? open.summary.customer_name };
  renderHeader();
}

/**
 * A queue entry from before the open conversation was resolved (the queue patches holders in
 * place, so it can still hold the old status for a moment). Only a newer customer message
 * reopens a resolved conversation, and that moves `last_message_at`.
 */
function staleAfterResolve(s) {
  const now = open.summary;
  if (now.status !== 'resolved' || s.status === 'resolved') return false;
  return Date.parse(s.last_message_at || 0) <= Date.parse(now.last_message_at || 0);
}

/**
 * What the pane offers, from the summary alone (its status, and who holds it against who I am).
 * A resolved conversation is finished work: nothing to release, resolve or send — except a
 * public follow-up still owed ("back to public"), for which it may be claimed again.
 */
function paneState(s) {
  const iHold = s.assignee_id === ctx.me.id;
  const resolved = s.status === 'resolved';
  const followup = resolved && s.public_followup_due_at != null;
  const live = !resolved || followup; // there is still something to send
  return {
    iHold,
    resolved,
    followup,
    canWork: iHold && live,
    canClaim: !iHold && live && !lockedOut(s),
  };
}

/** The pane's due line: the time to breach, or when it was resolved (nothing is due then). */
function dueText(s) {
  if (s.status !== 'resolved') return breachText(s.due_at);
  return s.resolved_at ? `resolved ${when(s.resolved_at)}` : 'resolved';
}

function composerHint(s, st) {
  if (st.canWork) return '';
  if (st.resolved && !st.followup) return 'Resolved — nothing more to send here. A new message from the customer reopens it.';
  if (st.resolved) return 'Resolved — a short public follow-up is still owed: claim it to post one.';
  if (lockedOut(s)) return `Escalated to ${ctx.groupName(s.escalated_to)}: only ${ctx.groupName(s.escalated_to)} may take it until they return it.`;
  return 'Claim this conversation to reply, tag, escalate or resolve it.';
}

function renderHeader() {
  if (!open || !open.el) return;
  const s = open.summary;
  const el = open.el;
  const st = paneState(s);
  const iHold = st.iHold;
  const crisis = s.crisis_id != null ? ctx.crises.get(s.crisis_id) : null;
  replaceChildren(
    el.facts,
    fact('Status', s.status),
    fact('Tier', s.priority === 'tier1' ? '1' : s.priority === 'tier2' ? '2' : s.priority),
    fact('Risk', String(s.risk)),
    fact('Sentiment', `${sentimentLabel(s.sentiment_start)} → ${sentimentLabel(s.sentiment_now)}`),
    fact('Network', `${s.network}, started ${s.origin_visibility}`),
    fact('Category', s.category || '—'),
    fact('Language', s.language || '—'),
    fact('Team', ctx.teamName(s.team_id)),
    fact('Tags', (s.tags || []).join(', ') || '—'),
    s.escalated_to ? fact('Escalated to', s.escalated_to) : '',
    s.crisis_id != null ? fact('Crisis', crisis ? crisis.name : `#${s.crisis_id}`) : '',
  );
  setText(el.reasons, (s.risk_reasons || []).length ? `Risk reasons: ${(s.risk_reasons || []).map((x) => `${x.detail} (+${x.weight})`).join(' · ')}` : '');
  setText(el.holder, s.assignee_id == null ? 'Unassigned' : iHold ? 'Held by you' : `Held by ${ctx.agentName(s.assignee_id)}`);
  el.holder.dataset.holder = s.assignee_id ?? '';
  setText(el.due, dueText(s));
  el.article.dataset.status = s.status;
  el.claim.hidden = !st.canClaim;
  el.claim.textContent = s.assignee_id != null && !iHold ? 'Claim (held by someone else)' : 'Claim';
  el.release.hidden = !st.canWork;
  el.resolve.hidden = !st.canWork || st.resolved;
  el.pending.hidden = !st.canWork || s.status === 'pending' || st.resolved;
  el.reopen.hidden = !st.canWork || s.status !== 'pending';
  for (const input of el.holderOnly) input.disabled = !st.canWork;
  const hint = composerHint(s, st);
  setText(el.composerHint, hint);
  // Resolved: said where the buttons were, as well as at the composer further down.
  const closed = st.resolved && !st.canWork;
  el.composerHint.classList.toggle('closed', closed);
  el.closed.hidden = !closed;
  setText(el.closed, closed ? hint : '');
  renderTags();
  updateCounter();
  renderCrisisHelpers();
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

function renderThread() {
  if (!open || !open.el) return;
  const items = [];
  const replyByMessage = new Map();
  for (const r of open.replies.values()) if (r.message_id != null) replyByMessage.set(r.message_id, r);
  for (const m of open.messages.values()) items.push({ key: `m${m.id}`, at: m.sent_at, kind: 'message', m, reply: replyByMessage.get(m.id) });
  for (const n of open.notes) items.push({ key: `n${n.id}`, at: n.created_at, kind: 'note', n });
  // Replies not (yet) sent show as their own entries; sent ones are the outbound message.
  for (const r of open.replies.values()) {
    if (r.message_id == null || !open.messages.has(r.message_id)) items.push({ key: `r${r.id}`, at: r.created_at, kind: 'reply', r });
  }
  items.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.key.localeCompare(b.key));
  reconcile(
    open.el.thread,
    items,
    // The quote line is part of the key: it can arrive after the message (refreshMessagesSoon).
    (i) => `${i.key}:${i.reply?.status ?? i.r?.status ?? ''}${i.m?.replying_to ? ':q' : ''}:${i.m?.edited_at ?? ''}:${i.m?.deleted_at ?? ''}:${i.m?.agent_id ?? ''}`,
    threadItem,
    () => {},
  );
  // New entries: show the newest, scrolling only the thread (not the page the agent is in).
  if (open.el.thread.dataset.count !== String(items.length)) {
    open.el.thread.dataset.count = String(items.length);
    const wrap = open.el.thread.parentElement;
    wrap.scrollTop = wrap.scrollHeight;
  }
}

function threadItem(i) {
  if (i.kind === 'message') {
    const m = i.m;
    return h(
      'li',
      { class: `msg ${m.direction} ${m.visibility}`, tabindex: '-1', dataset: { messageId: m.id, status: i.reply ? i.reply.status : '' } },
      replyQuote(m),
      h(
        'div',
        { class: 'meta small' },
        h('strong', {}, messageAuthor(m, i.reply)),
        ` · ${m.visibility === 'public' ? 'public' : 'private'} · ${m.network} · `,
        h('time', { datetime: m.sent_at }, when(m.sent_at)),
        i.reply ? h('span', { class: 'badge ok' }, STATUS_TEXT.sent) : '',
        i.reply ? approvalNote(i.reply) : '',
        ORIGIN_TEXT[m.origin] ? h('span', { class: 'badge origin', dataset: { origin: m.origin } }, ORIGIN_TEXT[m.origin]) : '',
        m.edited_at && !m.deleted_at ? [' · ', editedButton(m)] : '',
      ),
      m.deleted_at
        ? h('p', { class: 'text deleted muted' }, h('em', {}, `Deleted by ${m.direction === 'inbound' ? 'the customer' : 'the brand'} on the network `), h('time', { datetime: m.deleted_at }, when(m.deleted_at)))
        : h('p', { class: 'text' }, m.text || ''),
      h('div', { class: 'revisions small', hidden: true }),
    );
  }
  if (i.kind === 'note') {
    const n = i.n;
    return h(
      'li',
      { class: 'note', dataset: { noteId: n.id } },
      h('div', { class: 'meta small' }, h('strong', {}, `Note by ${ctx.agentName(n.agent_id)}`), ' · ', h('time', { datetime: n.created_at }, when(n.created_at))),
      h('p', { class: 'text' }, n.text),
    );
  }
  const r = i.r;
  const approval = r.approval_id != null ? open.approvals.get(r.approval_id) : null;
  const why = approval && approval.reasons ? approval.reasons.map((x) => x.why).join('; ') : '';
  return h(
    'li',
    { class: `msg outbound pending-reply ${r.visibility} status-${r.status}`, dataset: { replyId: r.id, status: r.status } },
    h(
      'div',
      { class: 'meta small' },
      h('strong', {}, `Reply by ${ctx.agentName(r.agent_id)}`),
      ` · ${r.visibility} · `,
      h('span', { class: `badge status-${r.status}` }, STATUS_TEXT[r.status] || r.status),
      r.status === 'held' && approval ? ` (${approval.group}${why ? `: ${why}` : ''})` : '',
    ),
    h('p', { class: 'text' }, r.text),
    r.status === 'rejected' && approval?.comment ? h('p', { class: 'small error' }, `Rejected by ${ctx.agentName(approval.decided_by)}: ${approval.comment}`) : '',
    r.status === 'failed' && r.last_error ? h('p', { class: 'small error' }, r.last_error) : '',
  );
}

/** How a message reached Chorus, when not as an ordinary message. */
const ORIGIN_TEXT = {
  standby: 'while a bot held the thread',
  postback: 'pressed a button',
  brand_app: "sent from the network's own app",
};

/** "edited": shows the earlier texts (kept for the audit trail) on request. */
function editedButton(m) {
  return h(
    'button',
    {
      type: 'button',
      class: 'linklike small edited',
      'aria-expanded': 'false',
      onclick: async (e) => {
        const button = e.currentTarget;
        const box = button.closest('li')?.querySelector('.revisions');
        if (!box) return;
        if (!box.hidden) {
          box.hidden = true;
          button.setAttribute('aria-expanded', 'false');
          return;
        }
        try {
          const revs = await ctx.api.get(`/api/v1/conversations/${open.id}/messages/${m.id}/revisions`);
          box.replaceChildren(
            h('p', { class: 'muted' }, 'Earlier versions:'),
            h('ol', {}, revs.map((r) => h('li', {}, h('q', {}, r.text), ' · replaced ', h('time', { datetime: r.replaced_at }, when(r.replaced_at))))),
          );
          box.hidden = false;
          button.setAttribute('aria-expanded', 'true');
        } catch (err) {
          box.replaceChildren(h('p', { class: 'error' }, `Could not load the earlier versions: ${err.message || err}`));
          box.hidden = false;
        }
      },
    },
    `edited ${when(m.edited_at)}`,
  );
}

const QUOTE_CHARS = 80;

/** The first `n` characters of a text on one line, with an ellipsis when cut. */
function clip(text, n) {
  const chars = [...String(text ?? '').replace(/\s+/g, ' ').trim()];
  return chars.length > n ? `${chars.slice(0, n).join('').trimEnd()}…` : chars.join('');
}

/**
 * The line above a message that answers another: who and what it answers (Chorus may hold that
 * message in another customer's conversation: people reply under each other's public posts),
 * as a button that shows it; or a plain note when Chorus does not have the message answered.
 */
function replyQuote(m) {
  const q = m.replying_to;
  if (!q) {
    if (!m.in_reply_to) return '';
    return h('p', { class: 'reply-quote missing small' }, h('span', { 'aria-hidden': 'true' }, '↪ '), 'in reply to a post Chorus does not have');
  }
  const who = q.author_name || (q.direction === 'outbound' ? open.detail.brand_account_name || 'the brand' : 'a customer');
  const here = q.conversation_id === open.id;
  return h(
    'button',
    {
      type: 'button',
      class: 'reply-quote small',
      title: clip(q.text, 1000),
      dataset: { quotedMessageId: q.message_id, quotedConversationId: q.conversation_id },
      onclick: () => showQuoted(q),
    },
    h('span', { 'aria-hidden': 'true' }, '↪ '),
    `in reply to ${who}: `,
    h('q', {}, clip(q.text, QUOTE_CHARS)),
    h('span', { class: 'visually-hidden' }, here ? ' (show that message)' : ` (open conversation ${q.conversation_id})`),
  );
}

/** Shows the quoted message: in this thread, or by opening the conversation that holds it. */
async function showQuoted(q) {
  if (q.conversation_id !== open?.id) await openConversation(q.conversation_id);
  if (open?.id === q.conversation_id) focusMessage(q.message_id);
}

function focusMessage(id) {
  const li = open?.el?.thread.querySelector(`li[data-message-id="${id}"]`);
  if (!li) return;
  li.scrollIntoView({ block: 'nearest' });
  li.focus({ preventScroll: true });
  li.classList.add('flash');
  setTimeout(() => li.classList.remove('flash'), 2000);
}

/** Reads the thread again (a moment later, once per burst) for what events do not carry. */
const refreshMessagesSoon = (() => {
  let t = null;
  return () => {
    clearTimeout(t);
    t = setTimeout(async () => {
      const id = open?.id;
      if (id == null || open.loading) return;
      try {
        const detail = await ctx.api.get(`/api/v1/conversations/${id}`);
        if (open?.id !== id || open.loading) return;
        for (const m of detail.messages) open.messages.set(m.id, { ...open.messages.get(m.id), ...m });
        renderThread();
      } catch (e) {
        console.warn('reading the thread again', e);
      }
    }, 500);
  };
})();

function messageAuthor(m, reply) {
  if (m.author_name) return m.author_name;
  if (m.direction === 'inbound') return 'Customer';
  const agentId = reply?.agent_id ?? m.agent_id;
  const name = ctx.agents.get(agentId)?.name;
  const brand = open.detail.brand_account_name || 'the brand';
  return name ? `${name} for ${brand}` : brand;
}

/** "approved by Pat" / "edited by Pat" for a reply that went through approval. */
function approvalNote(reply) {
  const a = reply.approval_id != null ? open.approvals.get(reply.approval_id) : null;
  if (!a || !a.decided_by) return '';
  return h('span', { class: 'small muted' }, ` ${a.decision === 'edit' ? 'edited and approved' : 'approved'} by ${ctx.agentName(a.decided_by)}`);
}

/** The status of the latest reply, in words, where screen readers hear it. */
function renderReplyStatus() {
  if (!open || !open.el) return;
  const latest = [...open.replies.values()].sort((a, b) => a.id - b.id).pop();
  const el = open.el.replyStatus;
  if (!latest) {
    setText(el, '');
    el.dataset.status = '';
    return;
  }
  const approval = latest.approval_id != null ? open.approvals.get(latest.approval_id) : null;
  let text = `Your reply: ${STATUS_TEXT[latest.status] || latest.status}`;
  if (latest.status === 'held') text = `Awaiting approval${approval ? ` by ${approval.group === 'pr' ? 'PR' : approval.group === 'team_lead' ? 'a team lead' : approval.group}` : ''} — nothing is sent until it is approved.`;
  if (latest.status === 'sent' && approval?.decision === 'edit') text = 'Sent (edited by the approver).';
  if (latest.status === 'rejected') text = `Rejected${approval?.comment ? `: ${approval.comment}` : ''}.`;
  if (latest.status === 'failed') text = `Failed: ${latest.last_error || 'unknown error'}.`;
  el.dataset.status = latest.status;
  setText(el, text);
}

function renderPresence() {
  if (!open || !open.el) return;
  const others = (open.viewers || []).filter((id) => id !== ctx.me.id);
  const typing = [...open.typists.keys()].filter((id) => id !== ctx.me.id);
  const parts = [];
  parts.push(others.length ? `Also viewing: ${others.map(ctx.agentName).join(', ')}` : 'Nobody else is viewing');
  if (typing.length) parts.push(`${typing.map(ctx.agentName).join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`);
  setText(open.el.presence, parts.join(' · '));
}

function expireTypists() {
  if (!open || !open.typists) return;
  const now = Date.now();
  let changed = false;
  for (const [id, until] of open.typists) {
    if (until < now) {
      open.typists.delete(id);
      changed = true;
    }
  }
  if (changed) renderPresence();
}

function renderEarlier() {
  const list = open.detail.earlier_conversations || [];
  replaceChildren(
    open.el.earlier,
    list.length
      ? list.map((s) =>
          h(
            'li',
            {},
            h('button', { type: 'button', class: 'linklike', onclick: () => openConversation(s.id) }, `#${s.id} · ${when(s.first_message_at)} · ${s.status} · ${s.message_count} messages`),
          ),
        )
      : h('li', { class: 'muted' }, 'None: first time this customer writes.'),
  );
}

function renderHints() {
  const hints = open.detail.escalation_hints || [];
  replaceChildren(
    open.el.hints,
    hints.map((x) => h('p', { class: 'hint' }, h('strong', {}, `Escalate to ${x.group}: `), x.guidance, h('span', { class: 'small muted' }, ` (${x.matched})`))),
  );
}

function paneAlert(text) {
  if (open?.el) setText(open.el.alert, text);
}

function paneNote(text) {
  if (open?.el) setText(open.el.presence, text);
}

// ---------------------------------------------------------------- composer

function composer(el) {
  el.holderOnly = [];
  const visName = 'reply-visibility';
  el.text = h('textarea', { id: 'reply-text', rows: 4, 'aria-describedby': 'reply-counter composer-hint' });
  el.text.addEventListener('input', () => {
    updateCounter();
    typing();
  });
  el.text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      sendReply();
    }
  });
  el.visPublic = h('input', { type: 'radio', name: visName, value: 'public', id: 'vis-public' });
  el.visPrivate = h('input', { type: 'radio', name: visName, value: 'private', id: 'vis-private' });
  const origin = open.summary.origin_visibility;
  (origin === 'private' ? el.visPrivate : el.visPublic).checked = true;
  el.visPublic.addEventListener('change', updateCounter);
  el.visPrivate.addEventListener('change', updateCounter);
  el.counter = h('span', { id: 'reply-counter', class: 'small muted' });
  el.composerHint = h('span', { id: 'composer-hint', class: 'small muted' });
  el.send = h('button', { type: 'submit', class: 'primary', id: 'send-reply' }, 'Send reply');
  el.replyStatus = h('p', { id: 'reply-status', class: 'reply-status', role: 'status', 'aria-live': 'polite' });
  el.composerMsg = h('p', { class: 'error small', role: 'alert' });
  el.examples = h('select', { id: 'example-select' }, h('option', { value: '' }, 'Example responses…'));
  el.exampleSearch = h('input', { id: 'example-search', type: 'search', placeholder: 'Search examples' });
  el.exampleSearch.addEventListener('input', () => loadExamples(el.exampleSearch.value));
  el.useExample = h('button', { type: 'button', onclick: useExample }, 'Use as draft');
  el.exampleNotes = h('p', { class: 'small muted', 'aria-live': 'polite' });
  el.crisisBox = h('div', { class: 'crisis-helpers' });
  el.holderOnly.push(el.text, el.send, el.visPublic, el.visPrivate, el.useExample);
  const form = h(
    'form',
    { class: 'composer card', 'aria-labelledby': 'composer-h', onsubmit: (e) => { e.preventDefault(); sendReply(); } },
    h('h3', { id: 'composer-h' }, 'Reply'),
    el.crisisBox,
    h(
      'fieldset',
      { class: 'inline' },
      h('legend', {}, 'Send as'),
      h('label', { for: 'vis-public' }, el.visPublic, ' Public reply'),
      h('label', { for: 'vis-private' }, el.visPrivate, ' Private message'),
    ),
    h('label', { for: 'reply-text' }, 'Message'),
    el.text,
    h('div', { class: 'composer-row' }, el.counter, el.composerHint),
    h(
      'div',
      { class: 'composer-row' },
      h('label', { for: 'example-search', class: 'visually-hidden' }, 'Search example responses'),
      el.exampleSearch,
      h('label', { for: 'example-select', class: 'visually-hidden' }, 'Example responses'),
      el.examples,
      el.useExample,
    ),
    el.exampleNotes,
    h('div', { class: 'composer-row' }, el.send, h('span', { class: 'small muted' }, 'Ctrl+Enter sends')),
    el.composerMsg,
    el.replyStatus,
  );
  loadExamples('');
  return form;
}

function updateCounter() {
  if (!open?.el) return;
  const el = open.el;
  const vis = el.visPrivate.checked ? 'private' : 'public';
  const limit = LIMITS[open.summary.network]?.[vis];
  const n = [...el.text.value].length;
  if (limit === 0) {
    setText(el.counter, `${open.summary.network} has no public replies: send a private message.`);
  } else if (limit) {
    setText(el.counter, `${n} / ${limit} characters`);
  }
  el.counter.classList.toggle('error', limit !== undefined && n > limit);
}

let typingSentAt = 0;
let typingTimer = null;
function typing() {
  if (!open || open.loading) return;
  const now = Date.now();
  // The server forgets typing after 8 s; saying it every 4 s while keys are pressed keeps it on.
  if (now - typingSentAt > 4000) {
    typingSentAt = now;
    ctx.live.send({ type: 'typing', conversation_id: open.id }).catch(() => {});
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 3000);
}

function stopTyping() {
  clearTimeout(typingTimer);
  if (typingSentAt && open) {
    ctx.live.send({ type: 'typing', conversation_id: open.id, on: false }).catch(() => {});
  }
  typingSentAt = 0;
}

async function sendReply() {
  const el = open.el;
  const text = el.text.value.trim();
  setText(el.composerMsg, '');
  if (!text) {
    setText(el.composerMsg, 'Write a reply first.');
    el.text.focus();
    return;
  }
  const token = tokenOf(open.id);
  if (token == null) {
    setText(el.composerMsg, 'Claim this conversation to reply.');
    return;
  }
  // One key per reply: a retry after a dropped connection reuses it, so it is never sent twice.
  if (!open.draftKey || open.draftText !== text) {
    open.draftKey = randomKey();
    open.draftText = text;
  }
  const id = open.id;
  el.send.disabled = true;
  stopTyping();
  try {
    const ack = await ctx.live.send({
      type: 'reply',
      conversation_id: id,
      fence_token: token,
      text,
      visibility: el.visPrivate.checked ? 'private' : 'public',
      idempotency_key: open.draftKey,
      // Sending the same text again after the private-details warning confirms it.
      confirm_private_details: open.privateWarned === text || undefined,
    });
    if (open?.id !== id) return;
    const reply = ack.reply;
    open.replies.set(reply.id, { ...open.replies.get(reply.id), ...reply });
    el.text.value = '';
    open.draftKey = null;
    updateCounter();
    renderThread();
    renderReplyStatus();
    if (reply.status === 'held') ctx.announce('Your reply is awaiting approval.');
  } catch (e) {
    if (e.code === 'private_details') {
      open.privateWarned = text;
      setText(el.composerMsg, `Warning: ${e.message}. Press send again to post it in public anyway, or make it private.`);
      return;
    }
    setText(el.composerMsg, e.code === 'offline' || e.code === 'disconnected' || e.code === 'timeout' ? `${e.message}. Press send again: it will not be sent twice.` : conflictText(id, e));
  } finally {
    if (open?.el === el) el.send.disabled = !paneState(open.summary).canWork;
  }
}

async function loadExamples(q) {
  try {
    const list = await ctx.api.get(`/api/v1/example-responses${query({ q })}`);
    examples = list;
    if (!open?.el) return;
    const byTopic = new Map();
    for (const x of list) {
      if (!byTopic.has(x.topic)) byTopic.set(x.topic, []);
      byTopic.get(x.topic).push(x);
    }
    replaceChildren(
      open.el.examples,
      h('option', { value: '' }, list.length ? `Example responses (${list.length})…` : 'No example responses'),
      [...byTopic].map(([topic, xs]) => h('optgroup', { label: topic }, xs.map((x) => h('option', { value: x.id }, x.title)))),
    );
  } catch (e) {
    console.warn('example responses', e);
  }
}

function useExample() {
  const id = Number(open.el.examples.value);
  const x = (examples || []).find((e) => e.id === id);
  if (!x) return;
  insertDraft(x.body.replaceAll('{name}', open.detail.customer.display_name || 'there'));
  setText(open.el.exampleNotes, x.tone_notes ? `Tone: ${x.tone_notes}` : '');
}

function insertDraft(text) {
  const t = open.el.text;
  t.value = text;
  updateCounter();
  t.focus();
}

/** The crisis banner's holding message and approved responses, as drafts for this reply. */
function renderCrisisHelpers() {
  if (!open?.el) return;
  const crises = [...ctx.crises.values()];
  const s = open.summary;
  const linked = s.crisis_id != null ? ctx.crises.get(s.crisis_id) : null;
  const relevant = linked ? [linked] : crises;
  // Drafts go into the composer: only while there is something to send.
  const off = !paneState(s).canWork;
  replaceChildren(
    open.el.crisisBox,
    relevant.map((c) =>
      h(
        'div',
        { class: 'crisis-helper' },
        h('p', {}, h('strong', {}, linked ? `Part of crisis “${c.name}”` : `Crisis active: “${c.name}”`), linked && c.hold_replies ? ' — replies here wait for PR approval.' : ''),
        h('button', { type: 'button', disabled: off, onclick: () => insertDraft(c.holding_message) }, 'Use holding message'),
        ...(c.responses || []).map((r) => h('button', { type: 'button', disabled: off, onclick: () => insertDraft(r.text) }, `Use “${r.message_type}” (v${r.version})`)),
      ),
    ),
  );
}

// ---------------------------------------------------------------- notes, tags, escalation, status

function notesForm(el) {
  el.note = h('textarea', { id: 'note-text', rows: 2, 'aria-describedby': 'note-help' });
  el.mention = h(
    'select',
    { id: 'mention-select', onchange: () => {
      const handle = el.mention.value;
      if (handle) {
        el.note.value = `${el.note.value}${el.note.value && !el.note.value.endsWith(' ') ? ' ' : ''}@${handle} `;
        el.note.focus();
      }
      el.mention.value = '';
    } },
    h('option', { value: '' }, 'Mention a colleague…'),
    [...ctx.agents.values()].filter((a) => a.id !== ctx.me.id && a.active).map((a) => h('option', { value: a.email.split('@')[0] }, `${a.name} (@${a.email.split('@')[0]})`)),
  );
  el.noteMsg = h('p', { class: 'small', role: 'status' });
  return h(
    'form',
    { class: 'card', 'aria-labelledby': 'notes-h', onsubmit: async (e) => {
      e.preventDefault();
      const text = el.note.value.trim();
      if (!text) return;
      try {
        const ack = await ctx.live.send({ type: 'note', conversation_id: open.id, text });
        if (!open.notes.some((n) => n.id === ack.note.id)) open.notes.push(ack.note);
        el.note.value = '';
        setText(el.noteMsg, ack.note.mentions?.length ? `Note added; ${ack.note.mentions.length} colleague(s) notified.` : 'Note added.');
        renderThread();
      } catch (err) {
        setText(el.noteMsg, `Could not add the note: ${err.message}`);
      }
    } },
    h('h3', { id: 'notes-h' }, 'Internal note'),
    h('label', { for: 'note-text' }, 'Note (only colleagues see it)'),
    el.note,
    h('p', { id: 'note-help', class: 'small muted' }, 'Type @name to notify a colleague.'),
    h('div', { class: 'composer-row' }, h('label', { for: 'mention-select', class: 'visually-hidden' }, 'Mention a colleague'), el.mention, h('button', { type: 'submit' }, 'Add note')),
    el.noteMsg,
  );
}

function tagsForm(el) {
  el.tagList = h('ul', { class: 'tags', 'aria-label': 'Tags' });
  el.tagInput = h('input', { id: 'tag-input', placeholder: 'refund' });
  el.tagMsg = h('p', { class: 'small', role: 'status' });
  el.holderOnly.push(el.tagInput);
  return h(
    'form',
    { class: 'card', 'aria-labelledby': 'tags-h', onsubmit: (e) => {
      e.preventDefault();
      const tag = el.tagInput.value.trim();
      if (tag) changeTags([tag], []).then((ok) => ok && (el.tagInput.value = ''));
    } },
    h('h3', { id: 'tags-h' }, 'Tags'),
    el.tagList,
    h('label', { for: 'tag-input' }, 'Add a tag'),
    h('div', { class: 'composer-row' }, el.tagInput, h('button', { type: 'submit' }, 'Add tag')),
    el.tagMsg,
  );
}

function renderTags() {
  const el = open.el;
  const iHold = paneState(open.summary).canWork;
  replaceChildren(
    el.tagList,
    (open.summary.tags || []).map((t) =>
      h('li', { class: 'tag' }, t, iHold ? h('button', { type: 'button', class: 'ghost', 'aria-label': `Remove tag ${t}`, onclick: () => changeTags([], [t]) }, '×') : ''),
    ),
  );
}

async function changeTags(add, remove) {
  const token = tokenOf(open.id);
  if (token == null) return false;
  try {
    const ack = await ctx.live.send({ type: 'tags', conversation_id: open.id, fence_token: token, add, remove });
    setText(open.el.tagMsg, '');
    applySummary({ tags: ack.tags });
    return true;
  } catch (e) {
    setText(open.el.tagMsg, conflictText(open.id, e));
    return false;
  }
}

function escalateForm(el) {
  // Agents escalate to their team lead; team leads onward to PR or legal (docs/protocol.md).
  const groups = [['team_lead', 'Team lead']];
  if (ctx.has('supervisor')) groups.push(['pr', 'PR'], ['legal', 'Legal']);
  if (ctx.teams.size) groups.push(['team', 'Another team']);
  el.escGroup = h('select', { id: 'esc-group' }, groups.map(([v, label]) => h('option', { value: v }, label)));
  el.escTeam = h('select', { id: 'esc-team' }, [...ctx.teams.values()].map((t) => h('option', { value: t.id }, t.name)));
  el.escTeamWrap = h('span', { hidden: true }, h('label', { for: 'esc-team' }, 'Team '), el.escTeam);
  el.escGroup.addEventListener('change', () => (el.escTeamWrap.hidden = el.escGroup.value !== 'team'));
  el.escReason = h('input', { id: 'esc-reason', required: true });
  el.escMsg = h('p', { class: 'small', role: 'status' });
  const button = h('button', { type: 'submit' }, 'Escalate');
  el.holderOnly.push(el.escGroup, el.escReason, button);
  return h(
    'form',
    { class: 'card', 'aria-labelledby': 'esc-h', onsubmit: async (e) => {
      e.preventDefault();
      const token = tokenOf(open.id);
      if (token == null) return;
      const cmd = { type: 'escalate', conversation_id: open.id, fence_token: token, group: el.escGroup.value, reason: el.escReason.value.trim() };
      if (cmd.group === 'team') cmd.team_id = Number(el.escTeam.value);
      try {
        const ack = await ctx.live.send(cmd);
        el.escReason.value = '';
        setText(el.escMsg, `Escalated to ${cmd.group === 'team' ? ctx.teamName(cmd.team_id) : ctx.groupName(cmd.group)}; your claim was handed back.`);
        applyEscalation(ack.escalation);
        applySummary(ack.conversation);
        refreshMineSoon();
      } catch (err) {
        setText(el.escMsg, conflictText(open.id, err));
      }
    } },
    h('h3', { id: 'esc-h' }, 'Escalate'),
    h('label', { for: 'esc-group' }, 'To'),
    el.escGroup,
    el.escTeamWrap,
    h('label', { for: 'esc-reason' }, 'Reason'),
    el.escReason,
    button,
    el.escMsg,
  );
}

// ---------------------------------------------------------------- the case's escalations

/** The case's escalations (to whom, why, how they came back) and, for the group, "return". */
function escalationsBox(el) {
  el.escList = h('ol', { class: 'esc-history' });
  el.escStatus = h('p', { id: 'esc-status', class: 'small', role: 'status', 'aria-live': 'polite' });
  el.escReturnNote = h('textarea', { id: 'esc-return-note', rows: 2, maxlength: 2000, required: true });
  el.escReturnLabel = h('label', { for: 'esc-return-note' });
  el.escReturnBtn = h('button', { type: 'submit', id: 'esc-return', class: 'primary' });
  el.escReturnMsg = h('p', { class: 'error small', role: 'alert' });
  el.escReturnNote.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      el.escReturn.requestSubmit();
    }
  });
  el.escReturn = h(
    'form',
    { class: 'return-form', onsubmit: (e) => { e.preventDefault(); giveBack(); } },
    el.escReturnLabel,
    el.escReturnNote,
    h('div', { class: 'composer-row' }, el.escReturnBtn, h('span', { class: 'small muted' }, 'Ctrl+Enter returns it')),
    el.escReturnMsg,
  );
  el.escBox = h('section', { class: 'esc-box', 'aria-labelledby': 'esc-hist-h' }, h('h3', { id: 'esc-hist-h' }, 'Escalations'), el.escList, el.escStatus, el.escReturn);
  return el.escBox;
}

/** Applies an escalation (new, returned) to the open conversation's case history. */
function applyEscalation(e) {
  if (!open?.detail || !e) return;
  const list = open.detail.escalations || [];
  // A new escalation closes the open one as forwarded (the server does the same).
  const others = list
    .filter((x) => x.id !== e.id)
    .map((x) => (x.status === 'open' && e.status === 'open' ? { ...x, status: 'forwarded', closed_by: e.from_agent_id, closed_at: e.created_at } : x));
  open.detail.escalations = [...others, e].sort((a, b) => a.id - b.id);
  renderEscalations();
}

const ESC_STATUS = { open: 'open', returned: 'returned', forwarded: 'sent on', resolved: 'closed by resolving' };

function mayReturn(e) {
  if (e.group === 'team') return ctx.has('supervisor') || (ctx.me.team_id != null && ctx.me.team_id === e.to_team_id);
  return ctx.groups.includes(e.group);
}

function renderEscalations() {
  if (!open?.el) return;
  const el = open.el;
  const list = open.detail.escalations || [];
  el.escBox.hidden = list.length === 0;
  replaceChildren(
    el.escList,
    list.map((e) =>
      h(
        'li',
        { class: `esc-item status-${e.status}`, dataset: { escalationId: e.id, status: e.status } },
        h(
          'div',
          { class: 'small' },
          h('strong', {}, `To ${e.group === 'team' ? ctx.teamName(e.to_team_id) : ctx.groupName(e.group)}`),
          ` by ${ctx.agentName(e.from_agent_id)} · `,
          h('time', { datetime: e.created_at }, when(e.created_at)),
          ' · ',
          h('span', { class: 'badge' }, ESC_STATUS[e.status] || e.status),
        ),
        h('p', { class: 'text' }, `Why: ${e.reason}`),
        e.status === 'returned'
          ? h('p', { class: 'return-note' }, h('strong', {}, `Returned by ${ctx.agentName(e.closed_by)}: `), e.return_note)
          : e.closed_by != null
            ? h('p', { class: 'small muted' }, `${ESC_STATUS[e.status] || e.status} by ${ctx.agentName(e.closed_by)}`)
            : '',
      ),
    ),
  );
  const current = list.find((e) => e.status === 'open');
  el.escReturn.hidden = !current || !mayReturn(current);
  if (current && !el.escReturn.hidden) {
    const who = ctx.agentName(current.from_agent_id);
    setText(el.escReturnLabel, `Return to ${who} with a note`);
    setText(el.escReturnBtn, `Return to ${who}`);
  }
}

async function giveBack() {
  const el = open.el;
  const id = open.id;
  const note = el.escReturnNote.value.trim();
  setText(el.escReturnMsg, '');
  if (!note) {
    setText(el.escReturnMsg, 'Write a note first: it tells the agent what to do.');
    el.escReturnNote.focus();
    return;
  }
  el.escReturnBtn.disabled = true;
  try {
    const ack = await ctx.live.send({ type: 'escalation.return', conversation_id: id, note });
    if (open?.id !== id) return;
    el.escReturnNote.value = '';
    applyEscalation(ack.escalation);
    setText(el.escStatus, `Returned to ${ctx.agentName(ack.escalation.from_agent_id)}.`);
    applySummary(ack.conversation);
  } catch (e) {
    setText(el.escReturnMsg, e.code === 'not_found' ? 'It is no longer escalated (returned, resolved or sent on meanwhile).' : conflictText(id, e));
  } finally {
    el.escReturnBtn.disabled = false;
  }
}

async function resolve() {
  const id = open.id;
  const token = tokenOf(id);
  if (token == null) return;
  try {
    const ack = await ctx.live.send({ type: 'resolve', conversation_id: id, fence_token: token });
    mine.delete(id);
    renderMine();
    if (open?.id !== id) return;
    // The pane follows the answer's Summary (status resolved, nobody holding it), like any other.
    applySummary(ack.conversation);
    // The Resolve button just went away under the keyboard focus: put it somewhere sensible.
    open.el.title.focus();
    ctx.announce(ack.conversation.public_followup_due_at ? 'Resolved. A short public follow-up is still owed.' : 'Resolved.');
  } catch (e) {
    paneAlert(conflictText(id, e));
  }
}

async function setStatus(status) {
  const id = open.id;
  const token = tokenOf(id);
  if (token == null) return;
  try {
    const ack = await ctx.live.send({ type: 'status', conversation_id: id, fence_token: token, status });
    if (open?.id === id) applySummary(ack.conversation);
  } catch (e) {
    paneAlert(conflictText(id, e));
  }
}
