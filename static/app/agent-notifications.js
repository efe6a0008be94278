// Notifications about the agent's own work, whichever conversation is open: conversations
// returned, assigned or moved to them, follow-ups owed, SLA breaches, failed replies and
// approval decisions — as toasts (most with "Open"), keeping "My conversations" current.

import { ctx, mine, open } from './agent-state.js';
import { openConversation } from './conversation.js';
import { refreshMineSoon, renderMine } from './queue-view.js';

const returnedToMe = new Set(); // conversations just returned to us (their reassignment says nothing new)

/** The toast action that opens conversation `id`. */
function openAction(id) {
  return { label: 'Open', run: () => openConversation(id) };
}

export function wireAgentEvents() {
  const live = ctx.live;
  live.on('conversation.escalation_returned', returnedToUs);
  live.on('conversation.claimed', (d) => {
    if (d.agent_id === ctx.me.id) {
      refreshMineSoon();
      if (d.assigned_by === 'auto') ctx.toast(`Conversation ${d.conversation_id} was assigned to you.`, openAction(d.conversation_id));
    }
  });
  live.on('conversation.reassigned', reassigned);
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
    ctx.toast(`Conversation ${d.conversation_id} owes a short public follow-up.`, openAction(d.conversation_id));
  });
  wireTroubleEvents(live);
}

function returnedToUs(d) {
  const e = d.escalation;
  if (e.from_agent_id !== ctx.me.id || e.closed_by === ctx.me.id) return;
  returnedToMe.add(e.conversation_id);
  refreshMineSoon();
  ctx.toast(`${ctx.agentName(e.closed_by)} (${ctx.groupName(e.group)}) returned conversation ${e.conversation_id} to you: “${e.return_note}”`, openAction(e.conversation_id));
}

function reassigned(d) {
  if (d.agent_id === ctx.me.id && returnedToMe.delete(d.conversation_id)) {
    refreshMineSoon(); // the return said it already
  } else if (d.agent_id === ctx.me.id) {
    refreshMineSoon();
    ctx.toast(`${ctx.agentName(d.from_agent_id) === 'you' ? 'You' : 'A supervisor'} moved conversation ${d.conversation_id} to you.`, openAction(d.conversation_id));
  } else if (d.from_agent_id === ctx.me.id) {
    refreshMineSoon();
    ctx.toast(`Conversation ${d.conversation_id} was reassigned to ${ctx.agentName(d.agent_id)}.`);
  }
}

/** Breaches, failed replies and decisions on our replies in other conversations. */
function wireTroubleEvents(live) {
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
