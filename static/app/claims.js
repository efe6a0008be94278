// What the agent does to hold and finish conversations, over the live connection: take the next
// one, claim, release, resolve (and resolve and take the next) and set the status — and where
// each answer or refusal is said (the queue's status line, the pane's alert, the screen reader).

import { ctx, mine, open } from './agent-state.js';
import { applySummary, openConversation, paneAlert } from './conversation.js';
import { conflictText, tokenOf, whose } from './holding.js';
import { queueMessage, renderMine } from './queue-view.js';
import { $ } from './util.js';

export async function takeNext() {
  const button = $('#take-next');
  if (button.disabled) return;
  button.disabled = true;
  queueMessage('');
  try {
    const ack = await ctx.live.send({ type: 'next' });
    if (!ack.claim) {
      queueMessage('Nothing waiting for you right now.');
      ctx.announce('Nothing waiting for you right now.');
      return;
    }
    ctx.queue.upsert(ack.conversation);
    mine.set(ack.conversation.id, ack.conversation);
    queueMessage(`You took ${whose(ack.conversation.id)}.`);
    await openConversation(ack.conversation.id);
  } catch (e) {
    queueMessage(e.code === 'at_capacity' ? 'You are at capacity: resolve or release a conversation first.' : `Take next failed: ${conflictText(null, e)}`);
  } finally {
    button.disabled = false;
  }
}

/** Claims a conversation; a conflict is said clearly, in the queue and the pane. */
export async function claim(id) {
  try {
    const ack = await ctx.live.send({ type: 'claim', conversation_id: id });
    applyClaim(id, ack.claim);
    ctx.announce(`You hold ${whose(id)}.`);
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

function applyClaim(id, claim) {
  const s = ctx.queue.get(id);
  if (s) ctx.queue.upsert({ ...s, assignee_id: claim.agent_id, fence_token: claim.fence_token });
  if (open?.id === id) applySummary({ assignee_id: claim.agent_id, fence_token: claim.fence_token });
  mine.set(id, { ...(s || open?.summary || { id }), assignee_id: claim.agent_id, fence_token: claim.fence_token });
  renderMine();
}

export async function release(id) {
  const token = tokenOf(id);
  if (token == null) return false;
  try {
    await ctx.live.send({ type: 'release', conversation_id: id, fence_token: token });
    mine.delete(id);
    renderMine();
    queueMessage(`Released ${whose(id)}.`);
    ctx.announce(`Released ${whose(id)}.`);
    return true;
  } catch (e) {
    queueMessage(conflictText(id, e));
    return false;
  }
}

/** Resolves the open conversation; true when it was. */
export async function resolve() {
  if (!open) return false;
  const id = open.id;
  const token = tokenOf(id);
  if (token == null) {
    paneAlert('Claim this conversation to resolve it.');
    return false;
  }
  try {
    const ack = await ctx.live.send({ type: 'resolve', conversation_id: id, fence_token: token });
    mine.delete(id);
    renderMine();
    if (open?.id !== id) return true;
    // The pane follows the answer's Summary (status resolved, nobody holding it), like any other.
    applySummary(ack.conversation);
    // The Resolve button just went away under the keyboard focus: put it somewhere sensible.
    open.el.title.focus();
    ctx.announce(ack.conversation.public_followup_due_at ? 'Resolved. A short public follow-up is still owed.' : 'Resolved.');
    return true;
  } catch (e) {
    paneAlert(conflictText(id, e));
    return false;
  }
}

/** Resolves the open conversation and takes the next one (the agent's rhythm at volume). */
export async function resolveAndNext() {
  // Resolved already (by this agent a moment ago, or anyone): straight to the next one.
  if (open?.summary?.status === 'resolved' && open.summary.assignee_id == null) return takeNext();
  if (await resolve()) await takeNext();
}

/** Sets the open conversation's status (pending: waiting on the customer; open: back on the queue). */
export async function setStatus(status) {
  if (!open) return false;
  const id = open.id;
  const token = tokenOf(id);
  if (token == null) return false;
  try {
    const ack = await ctx.live.send({ type: 'status', conversation_id: id, fence_token: token, status });
    if (open?.id === id) applySummary(ack.conversation);
    return true;
  } catch (e) {
    paneAlert(conflictText(id, e));
    return false;
  }
}
