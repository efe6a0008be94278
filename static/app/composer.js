// The reply composer of the open conversation: public or private, the per-network character
// counter, "typing" said to colleagues, sending with one idempotency key per reply (so a retry
// is never sent twice), the private-details warning that a second press confirms, and the
// status of the latest reply (held for approval, sent, rejected, failed).

import { ctx, open } from './agent-state.js';
import { exampleRow, loadExamples } from './drafts.js';
import { conflictText, paneState, tokenOf } from './holding.js';
import { renderThread, STATUS_TEXT } from './thread-view.js';
import { h, onCtrlEnter, randomKey, setText } from './util.js';

// What a reply may hold on each network (docs/protocol.md, "Replies"); shown as a counter.
const LIMITS = {
  x: { public: 280, private: 10000 },
  facebook: { public: 8000, private: 2000 },
  instagram: { public: 2200, private: 1000 },
  whatsapp: { public: 0, private: 4096 },
};

const TYPING_SAY_EVERY_MS = 4000; // the server forgets typing after 8 s
const TYPING_STOP_AFTER_MS = 3000;

/** Builds the composer form into `el`; it starts `el.holderOnly` (inputs only the holder may use). */
export function composer(el) {
  el.holderOnly = [];
  el.text = replyText();
  const visibility = visibilityChoice(el);
  el.counter = h('span', { id: 'reply-counter', class: 'small muted' });
  el.composerHint = h('span', { id: 'composer-hint', class: 'small muted' });
  el.send = h('button', { type: 'submit', class: 'primary', id: 'send-reply' }, 'Send reply');
  el.replyStatus = h('p', { id: 'reply-status', class: 'reply-status', role: 'status', 'aria-live': 'polite' });
  el.composerMsg = h('p', { class: 'error small', role: 'alert' });
  const examples = exampleRow(el);
  el.crisisBox = h('div', { class: 'crisis-helpers' });
  el.holderOnly.push(el.text, el.send, el.visPublic, el.visPrivate, el.useExample);
  const form = h(
    'form',
    { class: 'composer card', 'aria-labelledby': 'composer-h', onsubmit: (e) => { e.preventDefault(); sendReply(); } },
    h('h3', { id: 'composer-h' }, 'Reply'),
    el.crisisBox,
    visibility,
    h('label', { for: 'reply-text' }, 'Message'),
    el.text,
    h('div', { class: 'composer-row' }, el.counter, el.composerHint),
    examples,
    el.exampleNotes,
    h('div', { class: 'composer-row' }, el.send, h('span', { class: 'small muted' }, 'Ctrl+Enter sends')),
    el.composerMsg,
    el.replyStatus,
  );
  loadExamples('');
  return form;
}

function replyText() {
  const text = h('textarea', { id: 'reply-text', rows: 4, 'aria-describedby': 'reply-counter composer-hint' });
  text.addEventListener('input', () => {
    updateCounter();
    typing();
  });
  onCtrlEnter(text, () => sendReply());
  return text;
}

/** "Send as": public or private, starting from how the conversation started. */
function visibilityChoice(el) {
  const visName = 'reply-visibility';
  el.visPublic = h('input', { type: 'radio', name: visName, value: 'public', id: 'vis-public' });
  el.visPrivate = h('input', { type: 'radio', name: visName, value: 'private', id: 'vis-private' });
  const origin = open.summary.origin_visibility;
  (origin === 'private' ? el.visPrivate : el.visPublic).checked = true;
  el.visPublic.addEventListener('change', updateCounter);
  el.visPrivate.addEventListener('change', updateCounter);
  return h(
    'fieldset',
    { class: 'inline' },
    h('legend', {}, 'Send as'),
    h('label', { for: 'vis-public' }, el.visPublic, ' Public reply'),
    h('label', { for: 'vis-private' }, el.visPrivate, ' Private message'),
  );
}

export function updateCounter() {
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

// ---------------------------------------------------------------- typing

let typingSentAt = 0;
let typingTimer = null;

function typing() {
  if (!open || open.loading) return;
  const now = Date.now();
  // The server forgets typing after 8 s; saying it every 4 s while keys are pressed keeps it on.
  if (now - typingSentAt > TYPING_SAY_EVERY_MS) {
    typingSentAt = now;
    ctx.live.send({ type: 'typing', conversation_id: open.id }).catch(() => {});
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_STOP_AFTER_MS);
}

export function stopTyping() {
  clearTimeout(typingTimer);
  if (typingSentAt && open) {
    ctx.live.send({ type: 'typing', conversation_id: open.id, on: false }).catch(() => {});
  }
  typingSentAt = 0;
}

// ---------------------------------------------------------------- sending

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
  keepDraftKey(text);
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
    replySent(el, ack.reply);
  } catch (e) {
    replyRefused(el, id, text, e);
  } finally {
    if (open?.el === el) el.send.disabled = !paneState(open.summary).canWork;
  }
}

/** One key per reply: a retry after a dropped connection reuses it, so it is never sent twice. */
function keepDraftKey(text) {
  if (!open.draftKey || open.draftText !== text) {
    open.draftKey = randomKey();
    open.draftText = text;
  }
}

function replySent(el, reply) {
  open.replies.set(reply.id, { ...open.replies.get(reply.id), ...reply });
  el.text.value = '';
  open.draftKey = null;
  updateCounter();
  renderThread();
  renderReplyStatus();
  if (reply.status === 'held') ctx.announce('Your reply is awaiting approval.');
}

function replyRefused(el, id, text, e) {
  if (e.code === 'private_details') {
    open.privateWarned = text;
    setText(el.composerMsg, `Warning: ${e.message}. Press send again to post it in public anyway, or make it private.`);
    return;
  }
  setText(el.composerMsg, e.code === 'offline' || e.code === 'disconnected' || e.code === 'timeout' ? `${e.message}. Press send again: it will not be sent twice.` : conflictText(id, e));
}

// ---------------------------------------------------------------- the latest reply's status

/** The status of the latest reply, in words, where screen readers hear it. */
export function renderReplyStatus() {
  if (!open || !open.el) return;
  const latest = [...open.replies.values()].sort((a, b) => a.id - b.id).pop();
  const el = open.el.replyStatus;
  if (!latest) {
    setText(el, '');
    el.dataset.status = '';
    return;
  }
  el.dataset.status = latest.status;
  setText(el, replyStatusText(latest));
}

function replyStatusText(latest) {
  const approval = latest.approval_id != null ? open.approvals.get(latest.approval_id) : null;
  if (latest.status === 'held') return `Awaiting approval${approval ? ` by ${approverName(approval.group)}` : ''} — nothing is sent until it is approved.`;
  if (latest.status === 'sent' && approval?.decision === 'edit') return 'Sent (edited by the approver).';
  if (latest.status === 'rejected') return `Rejected${approval?.comment ? `: ${approval.comment}` : ''}.`;
  if (latest.status === 'failed') return `Failed: ${latest.last_error || 'unknown error'}.`;
  return `Your reply: ${STATUS_TEXT[latest.status] || latest.status}`;
}

function approverName(group) {
  return group === 'pr' ? 'PR' : group === 'team_lead' ? 'a team lead' : group;
}
