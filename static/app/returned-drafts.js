// Replies sent back for changes (issue 25). An approver's "send back with comments" returns a held
// reply to its author instead of rejecting it: the author hears of it at once (`reply.returned`
// on their own `agent:<id>` topic — a notice that opens the conversation), and the composer of
// that conversation starts from the returned text with the approver's comment above it. What
// they send then is an ordinary new reply (approval rules apply to it as to any other).
//
// After a reload nothing is lost: the conversation's replies say which one was returned
// (status `returned`) and its approval carries the comment.

import { attend } from './attention.js';
import { ctx, open } from './agent-state.js';
import { openConversation } from './conversation.js';
import { whose } from './holding.js';
import { h, replaceChildren } from './util.js';

const heard = new Map(); // conversation id -> reply.returned data heard live
const DISMISSED_KEY = 'chorus_returned_dismissed'; // reply ids whose returned draft the author put aside

function dismissed() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(DISMISSED_KEY) || '[]'));
  } catch {
    return new Set();
  }
}

function dismiss(replyId) {
  const set = dismissed();
  set.add(replyId);
  sessionStorage.setItem(DISMISSED_KEY, JSON.stringify([...set].slice(-200)));
}

export function wireReturnedDrafts() {
  ctx.live.on('reply.returned', (d) => {
    const here = open?.id === d.conversation_id && !open.loading && open.el;
    // The event also reaches whoever follows the conversation: only the author's draft comes back.
    const author = d.agent_id ?? d.author_id ?? (here ? open.replies.get(d.reply_id)?.agent_id : null) ?? null;
    if (here) {
      const r = open.replies.get(d.reply_id);
      if (r) open.replies.set(d.reply_id, { ...r, status: 'returned' });
    }
    if (author !== ctx.me.id) return;
    heard.set(d.conversation_id, d);
    if (here) {
      // Into the composer now, unless the author is writing something else there.
      if (!open.el.text.value.trim()) showReturned(open.el, { fill: true });
      else showReturned(open.el, { fill: false });
    }
    if (here && document.visibilityState === 'visible') {
      ctx.announce(`${ctx.agentName(d.by)} sent your reply back for changes: ${d.comment}`);
      return;
    }
    attend({
      kind: 'approvals',
      title: 'Reply sent back for changes',
      text: `${ctx.agentName(d.by)} sent back your reply on ${whose(d.conversation_id)}: “${d.comment}”. Open it to change it and send again.`,
      conversationId: d.conversation_id,
      action: { label: 'Open', run: () => openConversation(d.conversation_id) },
      sticky: true,
    });
  });
}

/**
 * The returned draft waiting in the open conversation, or null: the newest of the author's
 * replies that was returned, with no reply of theirs after it, not put aside.
 */
export function returnedDraft() {
  if (!open?.replies) return null;
  const mine = [...open.replies.values()].filter((r) => r.agent_id === ctx.me.id).sort((a, b) => a.id - b.id);
  const live = heard.get(open.id);
  let latest = mine.at(-1);
  let draft = null;
  if (latest?.status === 'returned') {
    const approval = [...(open.approvals?.values() || [])].find((a) => a.reply_id === latest.id);
    draft = {
      reply_id: latest.id,
      text: (live?.reply_id === latest.id ? live.text : null) ?? latest.text ?? approval?.text ?? '',
      comment: approval?.comment ?? (live?.reply_id === latest.id ? live.comment : ''),
      by: approval?.decided_by ?? (live?.reply_id === latest.id ? live.by : null),
      visibility: latest.visibility,
    };
  } else if (live && (!latest || live.reply_id >= latest.id)) {
    // Heard before the conversation's replies say so.
    draft = { ...live, visibility: open.replies.get(live.reply_id)?.visibility ?? null };
  }
  if (!draft || dismissed().has(draft.reply_id)) return null;
  return draft;
}

/**
 * Shows the approver's comment above the composer and, with `fill`, puts the returned text in
 * it. Returns the draft (the composer switches to its visibility), or null.
 */
export function showReturned(el, { fill = true } = {}) {
  const box = el.returnedBox;
  const draft = returnedDraft();
  if (!box) return null;
  if (!draft) {
    box.hidden = true;
    replaceChildren(box);
    return null;
  }
  const put = h('button', { type: 'button', class: 'ghost returned-use' }, 'Put the returned text in the box');
  put.addEventListener('click', () => {
    el.text.value = draft.text;
    el.text.dispatchEvent(new Event('input'));
    el.text.focus();
  });
  const close = h('button', { type: 'button', class: 'ghost returned-dismiss' }, 'Dismiss');
  close.addEventListener('click', () => {
    dismiss(draft.reply_id);
    box.hidden = true;
    replaceChildren(box);
    el.text.focus();
  });
  replaceChildren(
    box,
    h('p', { class: 'returned-head' }, h('strong', {}, `Sent back for changes${draft.by != null ? ` by ${ctx.agentName(draft.by)}` : ''}: `), h('q', { class: 'returned-comment' }, draft.comment || '(no comment)')),
    h('p', { class: 'small' }, 'Your reply is in the box below: change it and send it again (it is a new reply).', ' ', put, ' ', close),
  );
  box.hidden = false;
  box.dataset.replyId = draft.reply_id;
  if (fill) {
    el.text.value = draft.text;
  }
  return draft;
}

/** A new reply went out in the open conversation: the returned draft is dealt with. */
export function returnedDraftSent(el) {
  heard.delete(open?.id);
  if (el?.returnedBox) {
    el.returnedBox.hidden = true;
    replaceChildren(el.returnedBox);
  }
}
