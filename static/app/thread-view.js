// The open conversation's thread: messages, internal notes and replies not (yet) sent, in time
// order, with who wrote each, when (relative, "5 min ago", the date on hover), a link to the
// original post on the network, its approval, its edits on the network and the message it
// answers (which may sit in another conversation).

import { ctx, open } from './agent-state.js';
import { openConversation } from './conversation.js';
import { debounced, h, NETWORK_NAME, reconcile, timeEl } from './util.js';

/** A reply's status in words. */
export const STATUS_TEXT = {
  queued: 'Queued for sending',
  held: 'Awaiting approval',
  sent: 'Sent',
  failed: 'Failed',
  rejected: 'Rejected',
  returned: 'Sent back for changes', // issue 25
};

/** How a message reached Chorus, when not as an ordinary message. */
const ORIGIN_TEXT = {
  standby: 'while a bot held the thread',
  postback: 'pressed a button',
  brand_app: "sent from the network's own app",
};

const QUOTE_CHARS = 80;

export function renderThread() {
  if (!open || !open.el) return;
  const items = threadEntries();
  reconcile(
    open.el.thread,
    items,
    // The quote line is part of the key: it can arrive after the message (refreshMessagesSoon).
    (i) => `${i.key}:${i.reply?.status ?? i.r?.status ?? ''}${i.m?.replying_to ? ':q' : ''}:${i.m?.edited_at ?? ''}:${i.m?.deleted_at ?? ''}:${i.m?.agent_id ?? ''}:${i.m?.permalink ? 'p' : ''}`,
    threadItem,
    () => {},
  );
  // New entries: show the newest, scrolling only the thread (not the page the agent is in).
  if (open.el.thread.dataset.count !== String(items.length)) {
    open.el.thread.dataset.count = String(items.length);
    const wrap = open.el.thread.parentElement;
    wrap.scrollTop = wrap.scrollHeight;
  }
}

/** Messages (with the reply each one sent), notes and unsent replies, oldest first. */
function threadEntries() {
  const items = [];
  const replyByMessage = new Map();
  for (const r of open.replies.values()) if (r.message_id != null) replyByMessage.set(r.message_id, r);
  for (const m of open.messages.values()) items.push({ key: `m${m.id}`, at: m.sent_at, kind: 'message', m, reply: replyByMessage.get(m.id) });
  for (const n of open.notes) items.push({ key: `n${n.id}`, at: n.created_at, kind: 'note', n });
  // Replies not (yet) sent show as their own entries; sent ones are the outbound message.
  for (const r of open.replies.values()) {
    if (r.message_id == null || !open.messages.has(r.message_id)) items.push({ key: `r${r.id}`, at: r.created_at, kind: 'reply', r });
  }
  items.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.key.localeCompare(b.key));
  return items;
}

function threadItem(i) {
  if (i.kind === 'message') return messageItem(i.m, i.reply);
  if (i.kind === 'note') return noteItem(i.n);
  return replyItem(i.r);
}

function messageItem(m, reply) {
  return h(
    'li',
    { class: `msg ${m.direction} ${m.visibility}`, tabindex: '-1', dataset: { messageId: m.id, status: reply ? reply.status : '' } },
    replyQuote(m),
    h(
      'div',
      { class: 'meta small' },
      h('strong', {}, messageAuthor(m, reply)),
      ` · ${m.visibility === 'public' ? 'public' : 'private'} · ${NETWORK_NAME[m.network] ?? m.network} · `,
      timeEl(m.sent_at),
      permalink(m),
      reply ? h('span', { class: 'badge ok' }, STATUS_TEXT.sent) : '',
      reply ? approvalNote(reply) : '',
      ORIGIN_TEXT[m.origin] ? h('span', { class: 'badge origin', dataset: { origin: m.origin } }, ORIGIN_TEXT[m.origin]) : '',
      m.edited_at && !m.deleted_at ? [' · ', editedButton(m)] : '',
    ),
    m.deleted_at
      ? h('p', { class: 'text deleted muted' }, h('em', {}, `Deleted by ${m.direction === 'inbound' ? 'the customer' : 'the brand'} on the network `), timeEl(m.deleted_at))
      : h('p', { class: 'text' }, m.text || ''),
    h('div', { class: 'revisions small', hidden: true }),
  );
}

function noteItem(n) {
  return h(
    'li',
    { class: 'note', dataset: { noteId: n.id } },
    h('div', { class: 'meta small' }, h('strong', {}, `Internal note by ${ctx.agentName(n.agent_id)}`), ' · ', timeEl(n.created_at)),
    h('p', { class: 'text' }, n.text),
  );
}

/** A reply not (yet) sent: queued, held for approval, rejected or failed. */
function replyItem(r) {
  const approval = r.approval_id != null ? open.approvals.get(r.approval_id) : null;
  const why = approval && approval.reasons ? approval.reasons.map((x) => x.why).join('; ') : '';
  return h(
    'li',
    { class: `msg outbound pending-reply ${r.visibility} status-${r.status}`, dataset: { replyId: r.id, status: r.status } },
    h(
      'div',
      { class: 'meta small' },
      h('strong', {}, `Reply by ${ctx.agentName(r.agent_id)}`),
      ` · ${r.visibility} · `,
      h('span', { class: `badge status-${r.status}` }, STATUS_TEXT[r.status] || r.status),
      r.status === 'held' && approval ? ` (${approval.group}${why ? `: ${why}` : ''})` : '',
    ),
    h('p', { class: 'text' }, r.text),
    r.status === 'rejected' && approval?.comment ? h('p', { class: 'small error' }, `Rejected by ${ctx.agentName(approval.decided_by)}: ${approval.comment}`) : '',
    r.status === 'returned' && approval?.comment ? h('p', { class: 'small returned-note' }, `Sent back by ${ctx.agentName(approval.decided_by)}: ${approval.comment}`) : '',
    r.status === 'failed' && r.last_error ? h('p', { class: 'small error' }, r.last_error) : '',
  );
}

/** "Open on X": the original post on the network, in a new tab, when the server can say where. */
function permalink(m) {
  if (!m.permalink || m.deleted_at) return '';
  return [
    ' · ',
    h(
      'a',
      { class: 'permalink', href: m.permalink, target: '_blank', rel: 'noopener noreferrer' },
      `Open on ${NETWORK_NAME[m.network] ?? m.network}`,
      h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
    ),
  ];
}

function messageAuthor(m, reply) {
  if (m.author_name) return m.author_name;
  if (m.direction === 'inbound') return 'Customer';
  const agentId = reply?.agent_id ?? m.agent_id;
  const name = ctx.agents.get(agentId)?.name;
  const brand = open.detail.brand_account_name || 'the brand';
  return name ? `${name} for ${brand}` : brand;
}

/** "approved by Pat" / "edited by Pat" for a reply that went through approval. */
function approvalNote(reply) {
  const a = reply.approval_id != null ? open.approvals.get(reply.approval_id) : null;
  if (!a || !a.decided_by) return '';
  return h('span', { class: 'small muted' }, ` ${a.decision === 'edit' ? 'edited and approved' : 'approved'} by ${ctx.agentName(a.decided_by)}`);
}

// ---------------------------------------------------------------- edits on the network

/** "edited": shows the earlier texts (kept for the audit trail) on request. */
function editedButton(m) {
  return h(
    'button',
    { type: 'button', class: 'linklike small edited', 'aria-expanded': 'false', onclick: (e) => toggleRevisions(e.currentTarget, m) },
    'edited ',
    timeEl(m.edited_at),
  );
}

async function toggleRevisions(button, m) {
  const box = button.closest('li')?.querySelector('.revisions');
  if (!box) return;
  if (!box.hidden) {
    box.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    return;
  }
  try {
    const revs = await ctx.api.get(`/api/v1/conversations/${open.id}/messages/${m.id}/revisions`);
    box.replaceChildren(
      h('p', { class: 'muted' }, 'Earlier versions:'),
      h('ol', {}, revs.map((r) => h('li', {}, h('q', {}, r.text), ' · replaced ', timeEl(r.replaced_at)))),
    );
    box.hidden = false;
    button.setAttribute('aria-expanded', 'true');
  } catch (err) {
    box.replaceChildren(h('p', { class: 'error' }, `Could not load the earlier versions: ${err.message || err}`));
    box.hidden = false;
  }
}

// ---------------------------------------------------------------- the message answered

/** The first `n` characters of a text on one line, with an ellipsis when cut. */
function clip(text, n) {
  const chars = [...String(text ?? '').replace(/\s+/g, ' ').trim()];
  return chars.length > n ? `${chars.slice(0, n).join('').trimEnd()}…` : chars.join('');
}

/**
 * The line above a message that answers another: who and what it answers (Chorus may hold that
 * message in another customer's conversation: people reply under each other's public posts),
 * as a button that shows it; or a plain note when Chorus does not have the message answered.
 */
function replyQuote(m) {
  const q = m.replying_to;
  if (!q) {
    if (!m.in_reply_to) return '';
    return h('p', { class: 'reply-quote missing small' }, h('span', { 'aria-hidden': 'true' }, '↪ '), 'in reply to a post Chorus does not have');
  }
  const who = q.author_name || (q.direction === 'outbound' ? open.detail.brand_account_name || 'the brand' : 'a customer');
  const here = q.conversation_id === open.id;
  return h(
    'button',
    {
      type: 'button',
      class: 'reply-quote small',
      title: clip(q.text, 1000),
      dataset: { quotedMessageId: q.message_id, quotedConversationId: q.conversation_id },
      onclick: () => showQuoted(q),
    },
    h('span', { 'aria-hidden': 'true' }, '↪ '),
    `in reply to ${who}: `,
    h('q', {}, clip(q.text, QUOTE_CHARS)),
    h('span', { class: 'visually-hidden' }, here ? ' (show that message)' : ` (open conversation ${q.conversation_id})`),
  );
}

/** Shows the quoted message: in this thread, or by opening the conversation that holds it. */
async function showQuoted(q) {
  if (q.conversation_id !== open?.id) await openConversation(q.conversation_id);
  if (open?.id === q.conversation_id) focusMessage(q.message_id);
}

function focusMessage(id) {
  const li = open?.el?.thread.querySelector(`li[data-message-id="${id}"]`);
  if (!li) return;
  li.scrollIntoView({ block: 'nearest' });
  li.focus({ preventScroll: true });
  li.classList.add('flash');
  setTimeout(() => li.classList.remove('flash'), 2000);
}

/** Reads the thread again (a moment later, once per burst) for what events do not carry. */
export const refreshMessagesSoon = debounced(async () => {
  const id = open?.id;
  if (id == null || open.loading) return;
  try {
    const detail = await ctx.api.get(`/api/v1/conversations/${id}`);
    if (open?.id !== id || open.loading) return;
    for (const m of detail.messages) open.messages.set(m.id, { ...open.messages.get(m.id), ...m });
    renderThread();
  } catch (e) {
    console.warn('reading the thread again', e);
  }
}, 500);
