// Who may do what with a conversation, worked out from its Summary and who I am: whether an
// escalation locks me out, the fence token of my claim, what the pane offers, and a refusal from
// the server in words. Rules only (no DOM, no requests), shared by the queue, the pane and the
// composer.

import { ctx, mine, open } from './agent-state.js';

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

/** A refused claim, release or change on conversation `id`, said for the agent. */
export function conflictText(id, e) {
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
