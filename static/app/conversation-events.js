// Live events about the open conversation, applied to the pane: new and edited messages, notes,
// who holds it, its status and tags, escalations, replies and their approvals, who views or
// types, and SLA warnings. Events that arrive while the conversation is being read wait for it.

import { ctx, open } from './agent-state.js';
import { renderReplyStatus } from './composer.js';
import { applyEscalation } from './conversation-escalation.js';
import { renderPresence } from './conversation-header.js';
import { applySummary, loadOpen, paneAlert, paneNote } from './conversation.js';
import { refreshMessagesSoon, renderThread } from './thread-view.js';
import { breachText, setText } from './util.js';

const TYPING_LAPSE_MS = 9000; // the server's 8 s, and a little more

/** Runs `fn` for events about the open conversation; while it loads they wait. */
function onConv(kind, fn) {
  ctx.live.on(kind, (d) => {
    const id = d.conversation_id ?? d.conversation?.id ?? d.escalation?.conversation_id ?? d.id;
    if (!open || id !== open.id) return;
    if (open.loading) open.buffer.push(() => fn(d));
    else fn(d);
  });
}

export function wireConversationEvents() {
  wireCustomerEvents();
  wireThreadEvents();
  wireHolderEvents();
  wireSummaryEvents();
  wireEscalationEvents();
  wireReplyEvents();
  // Leaving the queue (answered and now pending, resolved, noise) changes the conversation too.
  onConv('queue.remove', (summary) => applySummary(summary));
  wirePresenceEvents();
}

function wireCustomerEvents() {
  // A note or tag on the customer, from any session: the panel reads the profile again.
  onConv('customer.updated', () => open.customerPanel?.reload());
  // Another session merged or unmerged this conversation's customer: show who it is now.
  for (const kind of ['customer.merged', 'customer.unmerged']) {
    onConv(kind, (d) => {
      const id = open.id;
      loadOpen(id, { keepComposer: true }).then(() => {
        if (open?.id === id) paneNote(kind === 'customer.merged' ? `Customer merged: this is now ${d.survivor_name} (#${d.survivor_id}).` : `Merge undone (customer #${d.merged_id} taken back out).`);
      });
    });
  }
}

function wireThreadEvents() {
  onConv('conversation.message', (d) => {
    // Keep what the REST view knew of it (the event may carry fewer fields).
    open.messages.set(d.message.id, { ...open.messages.get(d.message.id), ...d.message });
    renderThread();
    // What the event does not carry (the message a reply quotes; the link to the post on the
    // network, from a server that leaves it out of events), the conversation view does.
    if ((d.message.in_reply_to && d.message.replying_to === undefined) || d.message.permalink === undefined) refreshMessagesSoon();
  });
  // Its author edited or deleted it on the network, or the echo of a reply was linked to it.
  onConv('conversation.message_updated', (d) => {
    open.messages.set(d.message.id, { ...open.messages.get(d.message.id), ...d.message });
    renderThread();
  });
  onConv('conversation.note', (d) => {
    if (!open.notes.some((n) => n.id === d.note.id)) open.notes.push(d.note);
    renderThread();
  });
}

function wireHolderEvents() {
  const holder = (d) => {
    alertLostClaim(d);
    applySummary({ assignee_id: d.agent_id ?? null, fence_token: d.fence_token ?? open.summary.fence_token });
  };
  onConv('conversation.claimed', holder);
  onConv('conversation.released', holder);
  onConv('conversation.reassigned', holder);
}

/** Says in the pane when our claim ended without us meaning it (expired, taken over). */
function alertLostClaim(d) {
  const was = open.summary.assignee_id;
  // Escalating and resolving give the claim back on purpose, and so does our own release.
  const meant =
    (d.agent_id == null && open.summary.escalated_to != null) ||
    d.released_by === ctx.me.id ||
    d.reason === 'resolved' ||
    open.summary.status === 'resolved';
  if (was === ctx.me.id && d.agent_id !== ctx.me.id && !meant) {
    paneAlert(d.agent_id == null ? 'Your claim on this conversation ended.' : `This conversation was reassigned to ${ctx.agentName(d.agent_id)}.`);
  } else if (d.agent_id === ctx.me.id) {
    paneAlert(''); // ours (again): an earlier "claim ended" no longer holds
  }
}

function wireSummaryEvents() {
  // Resolving gives the claim back (docs/protocol.md, "Claims"): nobody holds it afterwards.
  onConv('conversation.resolved', (d) => {
    applySummary({
      status: 'resolved',
      assignee_id: null,
      resolved_at: d.resolved_at ?? open.summary.resolved_at,
      // The event only says whether a follow-up is owed; the Summary after it says when.
      public_followup_due_at: d.public_followup_due ? open.summary.public_followup_due_at ?? d.resolved_at : null,
    });
  });
  onConv('conversation.status', (d) => applySummary({ status: d.status }));
  onConv('conversation.tags', (d) => applySummary({ tags: d.tags }));
  onConv('conversation.team', (d) => applySummary({ team_id: d.team_id }));
}

function wireEscalationEvents() {
  const escalation = (d) => {
    applyEscalation(d.escalation);
    applySummary(d.conversation);
  };
  onConv('conversation.escalated', escalation);
  onConv('conversation.escalation_returned', (d) => {
    escalation(d);
    const e = d.escalation;
    setText(open.el.escMsg, '');
    if (e.from_agent_id === ctx.me.id) {
      setText(open.el.escStatus, `Returned to you by ${ctx.agentName(e.closed_by)} (${ctx.groupName(e.group)}) with the note above; it is yours again.`);
    }
  });
}

function wireReplyEvents() {
  for (const kind of ['reply.queued', 'reply.sent', 'reply.failed']) {
    onConv(kind, (reply) => {
      const old = open.replies.get(reply.id);
      // reply.sent arrives with "approval_id": null for a reply that was held (reported to the
      // server's owner); keep the approval we know so "approved by" still shows.
      open.replies.set(reply.id, { ...old, ...reply, approval_id: reply.approval_id ?? old?.approval_id ?? null });
      renderReplies();
    });
  }
  onConv('approval.requested', (a) => {
    open.approvals.set(a.id, a);
    const r = open.replies.get(a.reply_id);
    open.replies.set(a.reply_id, { ...(r || { id: a.reply_id, text: a.text, visibility: a.visibility, agent_id: a.author_id, created_at: a.requested_at }), status: 'held', approval_id: a.id });
    renderReplies();
  });
  onConv('approval.decided', (a) => {
    open.approvals.set(a.id, { ...open.approvals.get(a.id), ...a });
    const r = open.replies.get(a.reply_id);
    if (r && r.status === 'held') {
      // The decision moves the reply on (queued, or rejected); reply.sent follows an approval.
      open.replies.set(a.reply_id, { ...r, status: a.reply_status || (a.status === 'rejected' ? 'rejected' : a.status === 'sent_back' ? 'returned' : 'queued'), text: a.text ?? r.text });
    }
    renderReplies();
  });
}

function renderReplies() {
  renderThread();
  renderReplyStatus();
}

function wirePresenceEvents() {
  onConv('conversation.viewers', (d) => {
    open.viewers = d.viewers || [];
    renderPresence();
  });
  onConv('conversation.typing', (d) => {
    const now = Date.now();
    open.typists = new Map((d.typists || []).map((id) => [id, now + TYPING_LAPSE_MS]));
    renderPresence();
  });
  onConv('sla.warning', (d) => paneNote(`First response due ${breachText(d.due_at)}.`));
  onConv('sla.breach', () => paneNote('This conversation is past its response due time.'));
}
