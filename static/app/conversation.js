// The open conversation: opening and closing it (its live topic and the "viewing" marker),
// reading it over REST, building the workspace from its parts — the header and actions, the
// thread and the composer in the middle, the side panel (tags, the customer, escalation, earlier
// conversations) — and applying Summaries to it so every session viewing it shows the same.
// On a narrow screen the conversation replaces the queue (with a way back) rather than sitting
// under it.

import { query } from './api.js';
import { ctx, open, setOpen, watched } from './agent-state.js';
import { claim, release, resolve, resolveAndNext, setStatus } from './claims.js';
import { composer, renderReplyStatus, setMode, stopTyping } from './composer.js';
import { escalateForm, escalationsBox, renderEscalations } from './conversation-escalation.js';
import { renderEarlier, renderHeader, renderHints, renderPresence } from './conversation-header.js';
import { customerPanel } from './customer.js';
import { renderCrisisHelpers } from './crisis-drafts.js';
import { plainError } from './errors.js';
import { tagsForm } from './conversation-tags.js';
import { focusQueue, renderQueue } from './queue-view.js';
import { renderThread } from './thread-view.js';
import { clearToastsFor } from './toasts.js';
import { $, h, NETWORK_NAME, replaceChildren, setText } from './util.js';

const EMPTY_PANE = 'Open a conversation from the queue, or press “Take next” (n). Press ? for every shortcut.';

// ---------------------------------------------------------------- opening and closing

/** Shows the queue or the conversation (on a narrow screen only one of them is in view). */
function showPane(which) {
  $('#view-agent').dataset.pane = which;
}

export async function openConversation(id) {
  if (location.hash && location.hash !== '#agent') location.hash = '#agent';
  showPane('conversation');
  clearToastsFor(id);
  if (open && open.id !== id) closeConversation({ quiet: true });
  if (open && open.id === id) {
    open.el?.title.focus();
    return;
  }
  setOpen({ id, loading: true, buffer: [] });
  renderQueue();
  const known = ctx.queue.get(id)?.customer_name;
  replaceChildren($('#conv-pane'), h('p', { class: 'empty loading', role: 'status' }, `Loading ${known ? `${known}'s conversation` : 'the conversation'}…`));
  try {
    // Subscribe first, then read: events in between wait in the buffer and apply after.
    await ctx.live.subscribe([`conversation:${id}`]).catch((e) => console.warn('subscribe', e));
    await loadOpen(id);
    ctx.live.send({ type: 'viewing', conversation_id: id }).then(showViewers, () => {});
    open?.el?.title.focus();
  } catch (e) {
    if (open?.id === id) {
      replaceChildren($('#conv-pane'), h('p', { class: 'error', role: 'alert' }, `Could not open ${known ? `${known}'s conversation` : 'the conversation'}: ${plainError(e, ctx.agentName)}`));
    }
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
  const draft = keepComposer && open.el ? { text: open.el.text.value, key: open.draftKey, mode: open.mode, macro: open.macro } : null;
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
    open.macro = draft.macro;
    if (draft.mode) setMode(draft.mode, { focus: false });
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

/** Closes the open conversation; back to the queue (and its row) unless another one opens. */
function closeConversation({ quiet = false } = {}) {
  if (!open) return;
  const id = open.id;
  stopTyping();
  ctx.live.send({ type: 'viewing', conversation_id: id, on: false }).catch(() => {});
  if (!watched.has(id)) ctx.live.unsubscribe([`conversation:${id}`]);
  setOpen(null);
  replaceChildren($('#conv-pane'), h('p', { class: 'empty' }, EMPTY_PANE));
  replaceChildren($('#side-pane'));
  $('#side-pane').hidden = true;
  $('#view-agent').classList.add('no-side');
  if (quiet) return;
  showPane('queue');
  renderQueue();
  focusQueue();
}

/** The way back to the queue on a narrow screen: the conversation stays open. */
function backToQueue() {
  showPane('queue');
  focusQueue();
}

// ---------------------------------------------------------------- building the pane

function renderConversation() {
  const d = open.detail;
  const el = { holderOnly: [] };
  open.el = el;
  const article = h(
    'article',
    { class: 'conv', dataset: { conversationId: open.id }, 'aria-labelledby': 'conv-title' },
    paneHead(el, d),
    h('section', { class: 'thread-wrap', 'aria-label': 'Thread', tabindex: '-1' }, (el.thread = h('ol', { id: 'thread', class: 'thread' }))),
    composer(el),
  );
  el.article = article;
  replaceChildren($('#conv-pane'), article);
  const side = $('#side-pane');
  replaceChildren(side, sideColumn(el));
  side.hidden = false;
  side.classList.remove('shown');
  $('#view-agent').classList.remove('no-side');
  mountCustomerPanel(el, d);
  renderParts();
}

function paneHead(el, d) {
  const customer = d.customer;
  const s = d.conversation;
  const handle = (customer.identities || []).find((i) => i.network === s.network)?.handle || s.customer_handle;
  return h(
    'header',
    { class: 'conv-head' },
    h(
      'div',
      { class: 'conv-title-row' },
      h('button', { type: 'button', class: 'ghost back', id: 'conv-back', onclick: backToQueue }, h('span', { 'aria-hidden': 'true' }, '← '), 'Queue'),
      (el.title = h('h2', { id: 'conv-title', tabindex: '-1' }, customer.display_name || `Customer #${customer.id}`)),
      h(
        'span',
        { class: 'small muted conv-where' },
        [handle, `${NETWORK_NAME[s.network] ?? s.network}, started ${s.origin_visibility}`, `to ${d.brand_account_name || 'the brand'}`, `#${open.id}`].filter(Boolean).join(' · '),
        customer.followers != null ? ` · ${customer.followers} followers` : '',
      ),
      (el.sideToggle = h('button', { type: 'button', class: 'side-toggle', id: 'toggle-side', 'aria-controls': 'side-pane', 'aria-expanded': 'false', onclick: () => toggleSide() }, 'Customer & details')),
      h('button', { type: 'button', class: 'ghost', onclick: () => closeConversation(), 'aria-label': 'Close conversation' }, 'Close'),
    ),
    (el.facts = h('dl', { class: 'facts small' })),
    h(
      'div',
      { class: 'status-row' },
      h('p', { class: 'holder-line' }, (el.holder = h('span', { id: 'conv-holder', class: 'holder' })), ' · ', (el.due = h('span', { class: 'breach' }))),
      (el.presence = h('p', { id: 'conv-presence', class: 'presence small', 'aria-live': 'polite' })),
    ),
    (el.alert = h('div', { id: 'conv-alert', class: 'alert', role: 'alert' })),
    paneActions(el),
    (el.closed = h('p', { id: 'conv-closed', class: 'closed-note', hidden: true })),
    (el.hints = h('div', { class: 'hints' })),
    escalationsBox(el),
  );
}

function paneActions(el) {
  const action = (id, label, run, extra = {}) => h('button', { type: 'button', id, 'data-live-action': true, onclick: run, ...extra }, label);
  return h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'Conversation actions' },
    (el.claim = action('conv-claim', 'Claim', () => claim(open.id), { class: 'primary', 'aria-keyshortcuts': 'c' })),
    (el.release = action('conv-release', 'Release', () => release(open.id), { 'aria-keyshortcuts': 'u' })),
    (el.resolve = action('conv-resolve', 'Resolve', resolve, { 'aria-keyshortcuts': 'e' })),
    (el.resolveNext = action('conv-resolve-next', 'Resolve and take next', resolveAndNext, { class: 'primary', 'aria-keyshortcuts': 'Shift+E' })),
    (el.pending = action('conv-pending', 'Waiting on customer', () => setStatus('pending'))),
    (el.reopen = action('conv-reopen', 'Back on the queue', () => setStatus('open'))),
  );
}

/** The side panel: the conversation's tags, the customer, escalating, earlier conversations. */
function sideColumn(el) {
  return h(
    'div',
    { class: 'side-inner' },
    h(
      'div',
      { class: 'side-head' },
      h('h2', { id: 'side-h' }, 'Customer and details'),
      h('button', { type: 'button', class: 'ghost side-close', id: 'side-close', onclick: () => toggleSide(false) }, 'Close details'),
    ),
    tagsForm(el),
    h('section', { class: 'card', 'aria-labelledby': 'triage-h' }, h('h3', { id: 'triage-h' }, 'Why this priority'), (el.reasons = h('p', { class: 'reasons small' }))),
    (el.customer = h('div', { id: 'customer-slot' })),
    escalateForm(el),
    h('section', { class: 'card', 'aria-labelledby': 'earlier-h' }, h('h3', { id: 'earlier-h' }, 'Earlier conversations'), (el.earlier = h('ul', { class: 'earlier' }))),
  );
}

/** On a narrower screen the side panel slides over the conversation on request (Esc closes it). */
function toggleSide(show = !$('#side-pane').classList.contains('shown')) {
  const side = $('#side-pane');
  side.classList.toggle('shown', show);
  open?.el?.sideToggle.setAttribute('aria-expanded', String(show));
  if (show) $('#side-close').focus();
  else open?.el?.sideToggle.focus();
}

export function wireSidePane() {
  $('#side-pane').addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && $('#side-pane').classList.contains('shown') && !e.defaultPrevented) {
      e.preventDefault();
      toggleSide(false);
    }
  });
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
