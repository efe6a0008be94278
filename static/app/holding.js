// Who may do what with a conversation, worked out from its Summary and who I am: whether an
// escalation locks me out, the fence token of my claim, what the pane offers, and a refusal from
// the server in words. Rules only (no DOM, no requests), shared by the queue, the pane and the
// composer.

import { ctx, mine, open } from './agent-state.js';
import { humanize, plainError } from './errors.js';

/** Escalated to a group one is not in: only that group may claim it (the server says 403). */
export function lockedOut(s) {
  return s.escalated_to != null && !ctx.groups.includes(s.escalated_to);
}

/** The fence token of our claim, when we hold the conversation. */
export function tokenOf(id) {
  const s = open?.id === id ? open.summary : ctx.queue.get(id) || mine.get(id);
  return s && s.assignee_id === ctx.me.id ? s.fence_token : null;
}

/**
 * What the pane offers, from the summary alone (its status, and who holds it against who I am).
 * A resolved conversation is finished work: nothing to release, resolve or send — except a
 * public follow-up still owed ("back to public"), for which it may be claimed again.
 */
export function paneState(s) {
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

/** "Dana Whitfield's conversation" (or "conversation 12" when the console does not know her). */
export function whose(id) {
  const s = (open?.id === id ? open.summary : null) || ctx.queue.get(id) || mine.get(id);
  return s?.customer_name ? `${s.customer_name}'s conversation` : `conversation ${id}`;
}

/** A refused claim, release or change on conversation `id` (null: none in particular), said for the agent. */
export function conflictText(id, e) {
  const s = id == null ? null : ctx.queue.get(id) || (open?.id === id ? open.summary : null) || mine.get(id);
  // Who holds it: as the console knows it, else as the server's message says ("held by agent 4").
  const said = /\bagent #?(\d+)\b/.exec(e.message || '');
  const holder = s && s.assignee_id != null && s.assignee_id !== ctx.me.id ? s.assignee_id : said ? Number(said[1]) : null;
  const who = holder != null && holder !== ctx.me.id ? ctx.agentName(holder) : null;
  const what = s?.customer_name ? `${s.customer_name}'s conversation` : id == null ? 'That conversation' : `Conversation ${id}`;
  switch (e.code) {
    case 'already_claimed':
      return `${what} is already taken${who ? ` by ${who}` : ' by a colleague'}.`;
    case 'stale_claim':
      return `Your claim on ${what.replace(/^That/, 'that')} is no longer valid: it was released, expired or reassigned. Nothing was changed.`;
    case 'conflict':
      return `${what} cannot be changed that way: ${humanize(e.message, ctx.agentName)}.`;
    default:
      return plainError(e, ctx.agentName);
  }
}
