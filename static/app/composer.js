// The composer of the open conversation: one text box that writes a public reply, a private
// message or an internal note (a switch above it), the per-network character counter, "typing"
// said to colleagues, sending replies with one idempotency key per reply (so a retry is never
// sent twice), the private-details warning that a second press confirms, @mentions in notes,
// macros (macros.js) and the status of the latest reply (held for approval, sent, rejected,
// failed).

import { ctx, open } from './agent-state.js';
import { plainError } from './errors.js';
import { conflictText, paneState, tokenOf } from './holding.js';
import { applyMacroActions, forgetMacro, macroPicker, openMacroPicker } from './macros.js';
import { renderThread, STATUS_TEXT } from './thread-view.js';
// Issue 25 (floor): a reply the approver sent back starts the composer again, with their comment.
import { returnedDraftSent, showReturned } from './returned-drafts.js';
import { h, onCtrlEnter, randomKey, setText } from './util.js';

// What a reply may hold on each network (docs/protocol.md, "Replies"); shown as a counter.
const LIMITS = {
  x: { public: 280, private: 10000 },
  facebook: { public: 8000, private: 2000 },
  instagram: { public: 2200, private: 1000 },
  whatsapp: { public: 0, private: 4096 },
};

const MODES = {
  public: { label: 'Public reply', send: 'Send reply', key: 'r' },
  private: { label: 'Private message', send: 'Send private message', key: 'm' },
  note: { label: 'Internal note', send: 'Add note', key: 'i' },
};

const TYPING_SAY_EVERY_MS = 4000; // the server forgets typing after 8 s
const TYPING_STOP_AFTER_MS = 3000;
const PLACEHOLDER = /\{\{\s*[\w.]+\s*\}\}/;

/** Builds the composer form into `el`. */
export function composer(el) {
  el.text = replyText(el);
  el.modeSwitch = modeSwitch(el);
  el.textLabel = h('label', { for: 'reply-text', id: 'reply-text-label' });
  el.counter = h('span', { id: 'reply-counter', class: 'small muted' });
  el.composerHint = h('span', { id: 'composer-hint', class: 'small muted' });
  el.send = h('button', { type: 'submit', class: 'primary', id: 'send-reply', 'data-live-action': true });
  el.macroButton = h('button', { type: 'button', id: 'macro-open', 'aria-haspopup': 'listbox', 'aria-keyshortcuts': '/', onclick: () => openMacroPicker() }, 'Macros');
  el.mention = mentionSelect(el);
  el.mentionWrap = h('span', { class: 'mention-wrap' }, h('label', { for: 'mention-select', class: 'visually-hidden' }, 'Mention a colleague'), el.mention);
  el.replyStatus = h('p', { id: 'reply-status', class: 'reply-status', role: 'status', 'aria-live': 'polite' });
  el.composerMsg = h('p', { id: 'composer-msg', class: 'error small', role: 'alert' });
  el.composerDone = h('p', { id: 'composer-done', class: 'small ok-text', role: 'status' });
  el.macroNote = h('p', { id: 'macro-note', class: 'small muted macro-note', 'aria-live': 'polite' });
  el.crisisBox = h('div', { class: 'crisis-helpers' });
  el.returnedBox = h('div', { id: 'returned-draft', class: 'returned-draft', role: 'note', 'aria-label': 'Reply sent back for changes', hidden: true }); // issue 25
  const form = h(
    'form',
    { class: 'composer', id: 'composer', 'aria-labelledby': 'composer-h', onsubmit: (e) => { e.preventDefault(); send(); } },
    h('h3', { id: 'composer-h', class: 'visually-hidden' }, 'Write'),
    el.crisisBox,
    el.returnedBox,
    el.modeSwitch,
    el.textLabel,
    h('div', { class: 'composer-box' }, el.text, macroPicker(el)),
    h('div', { class: 'composer-row' }, el.counter, el.composerHint),
    el.macroNote,
    h(
      'div',
      { class: 'composer-row' },
      el.macroButton,
      el.mentionWrap,
      h('span', { class: 'spacer' }),
      h('span', { class: 'small muted' }, h('kbd', {}, 'Ctrl'), '+', h('kbd', {}, 'Enter'), ' sends'),
      el.send,
    ),
    el.composerMsg,
    el.composerDone,
    el.replyStatus,
  );
  setMode(startMode(), { focus: false });
  // Issue 25: a returned draft fills the box, in the visibility it was written for.
  const back = showReturned(el);
  if (back) setMode(back.visibility === 'private' || LIMITS[open.summary.network]?.public === 0 ? 'private' : back.visibility === 'public' ? 'public' : open.mode, { focus: false });
  return form;
}

/** How the conversation started says how to answer: in private when it started there. */
function startMode() {
  const s = open.summary;
  if (s.origin_visibility === 'private' || LIMITS[s.network]?.public === 0) return 'private';
  return 'public';
}

function replyText(el) {
  const text = h('textarea', { id: 'reply-text', rows: 3, 'aria-describedby': 'reply-counter composer-hint macro-note' });
  text.addEventListener('input', () => {
    // "/" at the start of an empty reply opens the macros.
    if (text.value === '/' && open.mode !== 'note') {
      text.value = '';
      openMacroPicker();
      return;
    }
    if (!text.value.trim()) forgetMacro();
    updateCounter();
    if (open.mode !== 'note') typing();
  });
  onCtrlEnter(text, () => send());
  text.addEventListener('keydown', (e) => {
    // Esc leaves the text box, so that single-key shortcuts work again.
    if (e.key === 'Escape' && !e.defaultPrevented) {
      e.preventDefault();
      el.title?.focus();
    }
  });
  return text;
}

/** Public reply / Private message / Internal note: radio buttons that look like a switch. */
function modeSwitch(el) {
  el.modes = {};
  const group = h('div', { class: 'mode-switch', role: 'radiogroup', 'aria-label': 'Write as' });
  for (const [mode, m] of Object.entries(MODES)) {
    const input = h('input', { type: 'radio', name: 'composer-mode', value: mode, id: `mode-${mode}`, class: 'visually-hidden', 'aria-keyshortcuts': m.key });
    input.addEventListener('change', () => input.checked && setMode(mode, { focus: false }));
    el.modes[mode] = input;
    group.append(input, h('label', { for: `mode-${mode}`, class: `mode mode-${mode}` }, m.label, h('kbd', { class: 'mode-key', 'aria-hidden': 'true' }, m.key)));
  }
  return group;
}

/** Switches the composer to `mode` (public, private, note), keeping what is written. */
export function setMode(mode, { focus = true } = {}) {
  if (!open?.el || !MODES[mode]) return;
  const el = open.el;
  open.mode = mode;
  el.modes[mode].checked = true;
  el.text.closest('form')?.setAttribute('data-mode', mode);
  const who = open.summary.customer_name || open.detail?.customer?.display_name || 'the customer';
  setText(el.textLabel, mode === 'note' ? 'Internal note (only colleagues see it; @name notifies one)' : mode === 'private' ? `Private message to ${who}` : `Public reply to ${who}`);
  setText(el.send, MODES[mode].send);
  el.mentionWrap.hidden = mode !== 'note';
  el.macroButton.hidden = mode === 'note';
  setText(el.composerMsg, '');
  renderComposerState();
  if (focus) {
    if (el.text.disabled) {
      setText(el.composerMsg, paneState(open.summary).resolved ? 'This conversation is resolved: nothing more to send here.' : 'Claim this conversation to reply (press c).');
    } else el.text.focus();
  }
}

/** What the composer allows now: notes always, replies only for the holder. */
export function renderComposerState() {
  if (!open?.el) return;
  const el = open.el;
  const st = paneState(open.summary);
  const off = open.mode === 'note' ? false : !st.canWork;
  el.text.disabled = off;
  el.send.disabled = off;
  el.macroButton.disabled = off;
  el.modes.public.disabled = LIMITS[open.summary.network]?.public === 0;
  updateCounter();
}

export function updateCounter() {
  if (!open?.el) return;
  const el = open.el;
  if (open.mode === 'note') {
    setText(el.counter, '');
    el.counter.classList.remove('error');
    return;
  }
  const limit = LIMITS[open.summary.network]?.[open.mode];
  const n = [...el.text.value].length;
  if (limit === 0) setText(el.counter, `${open.summary.network} has no public replies: send a private message.`);
  else if (limit) setText(el.counter, `${n} / ${limit} characters`);
  el.counter.classList.toggle('error', limit !== undefined && n > limit);
}

/** Puts the keyboard in the composer, in `mode` (from the shortcuts r, m, i). */
export function focusComposer(mode) {
  setMode(mode === 'public' && LIMITS[open?.summary?.network]?.public === 0 ? 'private' : mode);
}

// ---------------------------------------------------------------- @mentions

/** "Mention a colleague…": picking one writes their @handle into the note. */
function mentionSelect(el) {
  const handleOf = (a) => a.email.split('@')[0];
  const select = h(
    'select',
    {
      id: 'mention-select',
      onchange: () => {
        const handle = select.value;
        if (handle) {
          el.text.value = `${el.text.value}${el.text.value && !el.text.value.endsWith(' ') ? ' ' : ''}@${handle} `;
          el.text.focus();
        }
        select.value = '';
      },
    },
    h('option', { value: '' }, 'Mention a colleague…'),
    [...ctx.agents.values()].filter((a) => a.id !== ctx.me.id && a.active).map((a) => h('option', { value: handleOf(a) }, `${a.name} (@${handleOf(a)})`)),
  );
  return select;
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

function send() {
  if (!open?.el || open.el.send.disabled) return;
  return open.mode === 'note' ? sendNote() : sendReply();
}

async function sendNote() {
  const el = open.el;
  const text = el.text.value.trim();
  setText(el.composerMsg, '');
  setText(el.composerDone, '');
  if (!text) {
    setText(el.composerMsg, 'Write the note first.');
    el.text.focus();
    return;
  }
  const id = open.id;
  el.send.disabled = true;
  try {
    const ack = await ctx.live.send({ type: 'note', conversation_id: id, text });
    if (open?.id !== id) return;
    if (!open.notes.some((n) => n.id === ack.note.id)) open.notes.push(ack.note);
    el.text.value = '';
    const n = ack.note.mentions?.length || 0;
    setText(el.composerDone, n ? `Note added; ${n === 1 ? 'a colleague was' : `${n} colleagues were`} notified.` : 'Note added.');
    renderThread();
    leaveComposer(el);
  } catch (err) {
    setText(el.composerMsg, `Could not add the note: ${plainError(err, ctx.agentName)}`);
  } finally {
    if (open?.el === el) renderComposerState();
  }
}

async function sendReply() {
  const el = open.el;
  const text = el.text.value.trim();
  setText(el.composerMsg, '');
  setText(el.composerDone, '');
  if (!text) {
    setText(el.composerMsg, 'Write a reply first.');
    el.text.focus();
    return;
  }
  const gap = PLACEHOLDER.exec(el.text.value);
  if (gap) {
    setText(el.composerMsg, `Fill in ${gap[0]} first: the macro could not.`);
    el.text.focus();
    el.text.setSelectionRange(gap.index, gap.index + gap[0].length);
    return;
  }
  const token = tokenOf(open.id);
  if (token == null) {
    setText(el.composerMsg, 'Claim this conversation to reply.');
    return;
  }
  keepDraftKey(text);
  const id = open.id;
  const macro = open.macro;
  el.send.disabled = true;
  stopTyping();
  try {
    const ack = await ctx.live.send({
      type: 'reply',
      conversation_id: id,
      fence_token: token,
      text,
      visibility: open.mode === 'private' ? 'private' : 'public',
      idempotency_key: open.draftKey,
      // Sending the same text again after the private-details warning confirms it.
      confirm_private_details: open.privateWarned === text || undefined,
    });
    if (open?.id !== id) return;
    replySent(el, ack.reply);
    if (macro) await applyMacroActions(id, macro, ack.reply);
  } catch (e) {
    replyRefused(el, id, text, e);
  } finally {
    if (open?.el === el) renderComposerState();
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
  returnedDraftSent(el); // issue 25: the returned draft went out as this new reply
  open.replies.set(reply.id, { ...open.replies.get(reply.id), ...reply });
  el.text.value = '';
  open.draftKey = null;
  updateCounter();
  renderThread();
  renderReplyStatus();
  if (reply.status === 'held') ctx.announce('Your reply is awaiting approval.');
  leaveComposer(el);
}

/**
 * Once sent, the keyboard leaves the emptied box for the conversation, so the next key is an
 * action again (e resolve, Shift+E resolve and next…); r, m or i writes more.
 */
function leaveComposer(el) {
  if (document.activeElement === el.text) el.title?.focus();
}

function replyRefused(el, id, text, e) {
  if (e.code === 'private_details') {
    open.privateWarned = text;
    setText(el.composerMsg, `Warning: ${e.message}. Press send again to post it in public anyway, or switch to a private message.`);
    return;
  }
  setText(el.composerMsg, ['offline', 'disconnected', 'timeout'].includes(e.code) ? plainError(e) : conflictText(id, e));
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
  if (latest.status === 'returned') return `Sent back for changes${approval?.decided_by != null ? ` by ${ctx.agentName(approval.decided_by)}` : ''}${approval?.comment ? `: ${approval.comment}` : ''} — change it below and send again.`; // issue 25
  if (latest.status === 'failed') return `Failed: ${latest.last_error || 'the network refused it'}.`;
  return `Your reply: ${STATUS_TEXT[latest.status] || latest.status}`;
}

function approverName(group) {
  return group === 'pr' ? 'PR' : group === 'team_lead' ? 'a team lead' : group;
}
