// Notifications about the agent's own work, whichever conversation is open: conversations
// returned, assigned or moved to them, follow-ups owed, SLA warnings and breaches on theirs,
// failed replies and approval decisions — through attention.js (a toast, and with the agent's
// settings a sound and a desktop notification), keeping "My conversations" current.

import { attend } from './attention.js';
import { ctx, mine, open } from './agent-state.js';
import { openConversation } from './conversation.js';
import { whose } from './holding.js';
import { refreshMineSoon, renderMine } from './queue-view.js';

const returnedToMe = new Set(); // conversations just returned to us (their reassignment says nothing new)

/** The toast action that opens conversation `id`. */
function openAction(id) {
  return { label: 'Open', run: () => openConversation(id) };
}

/** "conversation 12 to you (Dana Whitfield)": the number agents quote, and whose it is. */
function named(id) {
  const s = ctx.queue.get(id) || mine.get(id) || (open?.id === id ? open.summary : null);
  return `conversation ${id} to you${s?.customer_name ? ` (${s.customer_name})` : ''}`;
}

export function wireAgentEvents() {
  const live = ctx.live;
  live.on('conversation.escalation_returned', returnedToUs);
  live.on('conversation.claimed', (d) => {
    if (d.agent_id !== ctx.me.id) return;
    refreshMineSoon();
    if (d.assigned_by === 'auto') {
      attend({ kind: 'assigned', title: 'New conversation for you', text: `${capital(whose(d.conversation_id))} was assigned to you.`, conversationId: d.conversation_id, action: openAction(d.conversation_id), sticky: true });
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
    ctx.toast(`${capital(whose(d.conversation_id))} owes a short public follow-up.`, { action: openAction(d.conversation_id), sticky: true, conversationId: d.conversation_id });
  });
  wireTroubleEvents(live);
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function returnedToUs(d) {
  const e = d.escalation;
  if (e.from_agent_id !== ctx.me.id || e.closed_by === ctx.me.id) return;
  returnedToMe.add(e.conversation_id);
  refreshMineSoon();
  attend({
    kind: 'assigned',
    title: 'A conversation is back with you',
    text: `${ctx.agentName(e.closed_by)} (${ctx.groupName(e.group)}) returned ${named(e.conversation_id)}: “${e.return_note}”`,
    conversationId: e.conversation_id,
    action: openAction(e.conversation_id),
    sticky: true,
  });
}

function reassigned(d) {
  if (d.agent_id === ctx.me.id && returnedToMe.delete(d.conversation_id)) {
    refreshMineSoon(); // the return said it already
  } else if (d.agent_id === ctx.me.id) {
    refreshMineSoon();
    const by = d.from_agent_id === ctx.me.id ? 'You' : 'A supervisor';
    attend({ kind: 'assigned', title: 'Conversation moved to you', text: `${by} moved ${whose(d.conversation_id)} to you.`, conversationId: d.conversation_id, action: openAction(d.conversation_id), sticky: true });
  } else if (d.from_agent_id === ctx.me.id) {
    refreshMineSoon();
    ctx.toast(`${capital(whose(d.conversation_id))} was reassigned to ${ctx.agentName(d.agent_id)}.`, { conversationId: d.conversation_id });
  }
}

/** SLA warnings and breaches, failed replies and decisions on our replies in other conversations. */
function wireTroubleEvents(live) {
  live.on('sla.warning', (d) => {
    if (d.assignee_id !== ctx.me.id) return;
    const left = Math.max(0, Math.round((d.seconds_left ?? 0) / 60));
    attend({ kind: 'sla', title: 'Response due soon', text: `${capital(whose(d.conversation_id))} is due a response in ${left ? `${left} min` : 'under a minute'}.`, conversationId: d.conversation_id, action: openAction(d.conversation_id) });
  });
  live.on('sla.breach', (d) => {
    if (d.assignee_id !== ctx.me.id) return;
    attend({ kind: 'sla', title: 'Response overdue', text: `SLA breached on ${whose(d.conversation_id)}: it is past its response due time.`, conversationId: d.conversation_id, action: openAction(d.conversation_id), sticky: true });
  });
  live.on('reply.failed', (r) => {
    if (r.agent_id === ctx.me.id) {
      ctx.toast(`A reply on ${whose(r.conversation_id)} failed: ${r.last_error || 'the network refused it'}`, { action: openAction(r.conversation_id), sticky: true, conversationId: r.conversation_id });
    }
  });
  live.on('approval.decided', (a) => {
    if (a.author_id !== ctx.me.id) return;
    if (a.status === 'sent_back') return; // issue 25: reply.returned says it (returned-drafts.js)
    const here = open?.id === a.conversation_id && document.visibilityState === 'visible';
    const text = `Your reply on ${whose(a.conversation_id)} was ${a.status} by ${ctx.agentName(a.decided_by)}${a.comment ? `: “${a.comment}”` : '.'}`;
    // The open conversation says it in its own status line; elsewhere (or in another tab) it is news.
    if (here) return;
    attend({ kind: 'approvals', title: a.status === 'rejected' ? 'Reply rejected' : 'Reply approved', text, conversationId: a.conversation_id, action: openAction(a.conversation_id), sticky: a.status === 'rejected' });
  });
}
