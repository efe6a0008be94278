// The open conversation pane: opening and closing it (its live topic and the "viewing" marker),
// reading it over REST, building the pane from its parts (header, thread, composer, notes, tags,
// customer, escalation), and applying Summaries to it so every session viewing it shows the same.

import { query } from './api.js';
import { ctx, open, setOpen, watched } from './agent-state.js';
import { claim, release, resolve, setStatus } from './claims.js';
import { composer, renderReplyStatus, stopTyping } from './composer.js';
import { escalateForm, escalationsBox, renderEscalations } from './conversation-escalation.js';
import { renderEarlier, renderHeader, renderHints, renderPresence } from './conversation-header.js';
import { customerPanel } from './customer.js';
import { renderCrisisHelpers } from './drafts.js';
import { notesForm, tagsForm } from './notes-tags.js';
import { renderQueue } from './queue-view.js';
import { renderThread } from './thread-view.js';
import { $, h, replaceChildren, setText } from './util.js';

const EMPTY_PANE = 'Open a conversation from the queue, or press “Take next”.';

// ---------------------------------------------------------------- opening and closing

export async function openConversation(id) {
  if (location.hash && location.hash !== '#agent') location.hash = '#agent';
  if (open && open.id !== id) closeConversation();
  if (open && open.id === id) {
    open.el?.title.focus();
    return;
  }
  setOpen({ id, loading: true, buffer: [] });
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

/** Who is viewing, from the answer to our own "viewing". */
export function showViewers(ack) {
  if (open && ack && ack.conversation_id === open.id && !open.loading) {
    open.viewers = ack.viewers || [];
    renderPresence();
  }
}

/** Reads the conversation (detail, replies, approvals) and renders it. */
export async function loadOpen(id, { keepComposer = false } = {}) {
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
  applyBuffered();
}

/** Applies the events that arrived while the conversation was being read. */
function applyBuffered() {
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
  setOpen(null);
  replaceChildren($('#conv-pane'), h('p', { class: 'empty' }, EMPTY_PANE));
  renderQueue();
}

// ---------------------------------------------------------------- building the pane

function renderConversation() {
  const d = open.detail;
  const el = {};
  open.el = el;
  // The composer starts `el.holderOnly`, which the side forms add to: it is built before them.
  const article = h(
    'article',
    { class: 'conv', dataset: { conversationId: open.id }, 'aria-labelledby': 'conv-title' },
    paneHead(el, d),
    h('section', { class: 'thread-wrap', 'aria-label': 'Thread' }, (el.thread = h('ol', { id: 'thread', class: 'thread' }))),
    composer(el),
    sideColumn(el),
  );
  el.article = article;
  replaceChildren($('#conv-pane'), article);
  mountCustomerPanel(el, d);
  renderParts();
}

function paneHead(el, d) {
  const customer = d.customer;
  const handles = (customer.identities || []).map((i) => `${i.handle || i.platform_user_id} on ${i.network}`).join(', ');
  return h(
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
    paneActions(el),
    (el.closed = h('p', { id: 'conv-closed', class: 'closed-note', hidden: true })),
    (el.hints = h('div', { class: 'hints' })),
    escalationsBox(el),
  );
}

function paneActions(el) {
  return h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'Conversation actions' },
    (el.claim = h('button', { type: 'button', class: 'primary', id: 'conv-claim', onclick: () => claim(open.id) }, 'Claim')),
    (el.release = h('button', { type: 'button', id: 'conv-release', onclick: () => release(open.id) }, 'Release')),
    (el.resolve = h('button', { type: 'button', id: 'conv-resolve', onclick: resolve }, 'Resolve')),
    (el.pending = h('button', { type: 'button', id: 'conv-pending', onclick: () => setStatus('pending') }, 'Waiting on customer')),
    (el.reopen = h('button', { type: 'button', id: 'conv-reopen', onclick: () => setStatus('open') }, 'Back on the queue')),
  );
}

function sideColumn(el) {
  return h(
    'div',
    { class: 'conv-side' },
    notesForm(el),
    tagsForm(el),
    (el.customer = h('div', { id: 'customer-slot' })),
    escalateForm(el),
    h('section', { class: 'card', 'aria-labelledby': 'earlier-h' }, h('h3', { id: 'earlier-h' }, 'Earlier conversations'), (el.earlier = h('ul', { class: 'earlier' }))),
  );
}

function mountCustomerPanel(el, d) {
  const id = open.id;
  open.customerPanel = customerPanel(ctx, d.customer.id, {
    conversationId: id,
    crm: d.crm,
    openConversation,
    // A merge or an unmerge changes whose conversation this is: read it again.
    onMerged: () => (open?.id === id ? loadOpen(id, { keepComposer: true }) : null),
  });
  replaceChildren(el.customer, open.customerPanel.el);
}

function renderParts() {
  renderHeader();
  renderThread();
  renderPresence();
  renderReplyStatus();
  renderCrisisHelpers();
  renderEarlier();
  renderHints();
  renderEscalations();
}

// ---------------------------------------------------------------- following the summary

/**
 * Takes a (partial) Summary of the open conversation — an ack, a queue entry, an event — and
 * renders the pane from the result: what the pane offers always follows the summary, never the
 * action just taken, so every session viewing it shows the same.
 */
export function applySummary(s) {
  if (!open?.summary || !s) return;
  open.summary = { ...open.summary, ...s, customer_name: s.customer_name ?? open.summary.customer_name };
  renderHeader();
}

/** Keeps the open conversation's summary fresh from the queue. */
export function followQueueSummary() {
  if (!open || open.loading) return;
  const s = ctx.queue.get(open.id);
  if (s && s !== open.queueSummary) {
    open.queueSummary = s;
    if (!staleAfterResolve(s)) applySummary(s);
  }
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

export function paneAlert(text) {
  if (open?.el) setText(open.el.alert, text);
}

export function paneNote(text) {
  if (open?.el) setText(open.el.presence, text);
}
