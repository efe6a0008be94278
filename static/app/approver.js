// The approver view: approval requests as a queue that cannot be forgotten (`approvals` topic),
// oldest first, each with how long it has waited (ticking), its deadline and what the server's
// timers said about it (a reminder, an escalation from another group), and each decided once:
// approve, approve with edits, send back to its author with comments, or reject.
//
// Decisions go over REST (POST /api/v1/approvals/{id}/decision): when the reply's author lost
// the conversation (another agent holds it, or it was resolved since), the server refuses an
// approval with 409 `holder_changed` and sends nothing; the approver may then confirm sending it
// anyway on behalf of whoever holds it now (`send_for`), or leave it pending. "Send back" returns
// the draft to its author (their composer opens with it and the comment); it is not an approval.

import { ageText, deadline, forgetMarkers, groupLabel, onApprovalTimer, wireApprovalTimers, withMarkers } from './approval-timers.js';
import { humanize, plainError } from './errors.js';
import { $, batched, h, reconcile, replaceChildren, setText, when } from './util.js';

let ctx;
let approvals = new Map(); // pending approval id -> Approval (with context)
let groups = []; // the groups this person decides for
let render = () => {};

const DECIDED = { approved: 'approved', rejected: 'rejected', sent_back: 'sent back to its author' };

export function init(c) {
  ctx = c;
  groups = ctx.groups;
  ctx.loaders.push(load);
  render = batched(renderList);
  wireApprovalTimers(ctx);
  ctx.live.on('approval.requested', (a) => {
    if (!groups.includes(a.group) || (a.status && a.status !== 'pending')) return;
    const fresh = !approvals.has(a.id);
    approvals.set(a.id, { ...approvals.get(a.id), ...a });
    render();
    if (fresh) {
      ctx.announce(
        a.escalated_from
          ? `Approval request ${a.id} escalated to you from ${groupLabel(a.escalated_from)}: its deadline passed.`
          : `New approval request from ${ctx.agentName(a.author_id)} on conversation ${a.conversation_id}.`,
      );
    }
  });
  ctx.live.on('approval.decided', (a) => {
    const card = document.querySelector(`#approvals-list li[data-key="${a.id}"]`);
    if (approvals.delete(a.id) && card && !card.deciding) {
      setText($('#approvals-msg'), `Request ${a.id} was ${DECIDED[a.status] ?? a.status} by ${ctx.agentName(a.decided_by)}.`);
    }
    forgetMarkers(a.id);
    render();
  });
  onApprovalTimer((kind, d) => {
    const a = approvals.get(d.approval_id);
    if (kind === 'reminder') {
      if (a) ctx.announce(`Reminder: approval request ${d.approval_id} on conversation ${a.conversation_id} is due ${deadline(withMarkers(a))?.text ?? 'soon'}.`);
    } else if (kind === 'escalated') {
      if (!groups.includes(d.to_group) && approvals.delete(d.approval_id)) {
        setText($('#approvals-msg'), `Request ${d.approval_id} moved from ${groupLabel(d.from_group)} to ${groupLabel(d.to_group)}: its deadline passed.`);
      } else if (a) {
        approvals.set(d.approval_id, { ...a, group: d.to_group, due_at: d.due_at ?? null, escalated_from: d.from_group, reminded_at: null });
      }
    }
    render();
  });
  setInterval(() => {
    if ($('#view-approvals').hidden) return;
    for (const li of document.querySelectorAll('#approvals-list li[data-key]')) showTimes(li);
  }, 1000);
}

async function load() {
  const list = await ctx.api.get('/api/v1/approvals?status=pending&limit=200');
  approvals = new Map(list.filter((a) => groups.includes(a.group)).map((a) => [a.id, a]));
  renderList();
}

function renderList() {
  const items = [...approvals.values()].map(withMarkers).filter((a) => groups.includes(a.group)).sort((a, b) => Date.parse(a.requested_at) - Date.parse(b.requested_at));
  setText($('#approvals-count'), `(${items.length})`);
  $('#approvals-empty').hidden = items.length > 0;
  reconcile($('#approvals-list'), items, (a) => a.id, makeCard, updateCard);
}

/** The parts that change while the card waits: group, deadline, reminder, escalation. */
function updateCard(li, a) {
  li.approval = a;
  setText(li.refs.group, groupLabel(a.group));
  li.refs.reminder.hidden = !a.reminded_at;
  li.refs.escalated.hidden = !a.escalated_from;
  setText(li.refs.escalated, a.escalated_from ? `Escalated from ${groupLabel(a.escalated_from)}` : '');
  showTimes(li);
}

/** Age and deadline, every second. */
function showTimes(li) {
  const a = li.approval;
  const now = Date.now();
  setText(li.refs.wait, ageText(a.requested_at, now));
  const d = deadline(a, now);
  li.refs.deadline.hidden = !d;
  li.dataset.deadline = d?.state ?? 'none';
  if (d) {
    setText(li.refs.deadline, d.text.charAt(0).toUpperCase() + d.text.slice(1));
    li.refs.deadline.className = `badge deadline ${d.state}`;
    li.refs.deadline.title = `Due ${when(a.due_at)}`;
  }
}

function makeCard(a) {
  const conv = a.context?.conversation;
  const own = a.author_id === ctx.me.id;
  const textId = `appr-text-${a.id}`;
  const commentId = `appr-comment-${a.id}`;
  const text = h('textarea', { id: textId, rows: 3 });
  text.value = a.text;
  const comment = h('input', { id: commentId, maxlength: 2000, 'aria-describedby': `appr-help-${a.id}` });
  const msg = h('p', { class: 'error small', role: 'alert' });
  const approve = h('button', { type: 'button', class: 'primary approve' }, 'Approve');
  const edit = h('button', { type: 'button', class: 'edit', disabled: true }, 'Approve with my edits');
  const sendBack = h('button', { type: 'button', class: 'send-back' }, 'Send back for changes');
  const reject = h('button', { type: 'button', class: 'danger reject' }, 'Reject');
  const refs = {
    wait: h('span', { class: 'wait' }),
    group: h('span', { class: 'group' }),
    deadline: h('span', { class: 'badge deadline', hidden: true }),
    reminder: h('span', { class: 'badge reminder', hidden: true }, 'Reminder sent'),
    escalated: h('span', { class: 'badge escalated-from', hidden: true }),
  };
  text.addEventListener('input', () => (edit.disabled = text.value.trim() === a.text.trim() || !text.value.trim()));
  const li = h(
    'li',
    { class: 'card approval', dataset: { approvalId: a.id, conversationId: a.conversation_id }, 'aria-labelledby': `appr-h-${a.id}` },
    h('h3', { id: `appr-h-${a.id}` }, `${a.visibility === 'public' ? 'Public reply' : 'Private message'} to ${conv?.customer_name || `conversation ${a.conversation_id}`}`),
    h('p', { class: 'timers' }, h('span', { class: 'badge age' }, refs.wait), refs.deadline, refs.reminder, refs.escalated),
    h(
      'p',
      { class: 'small muted' },
      `By ${ctx.agentName(a.author_id)} · for `,
      refs.group,
      ` · conversation ${a.conversation_id}`,
      conv ? ` · ${conv.network} · ${conv.priority} · risk ${conv.risk}` : '',
      ' · requested ',
      h('time', { datetime: a.requested_at }, when(a.requested_at)),
    ),
    h('ul', { class: 'reasons small' }, (a.reasons || []).map((r) => h('li', {}, r.why))),
    (a.context?.recent_messages || []).length
      ? h(
          'details',
          { open: true },
          h('summary', {}, 'Latest messages'),
          h('ol', { class: 'thread compact' }, a.context.recent_messages.map((m) => h('li', { class: `msg ${m.direction} ${m.visibility}` }, h('span', { class: 'small muted' }, `${m.author_name || m.direction} · ${when(m.sent_at)}: `), m.text))),
        )
      : '',
    h('label', { for: textId }, 'Reply text (edit it to approve a better version)'),
    text,
    h('label', { for: commentId }, 'Comment'),
    comment,
    h(
      'p',
      { id: `appr-help-${a.id}`, class: 'small muted' },
      own ? 'This is your own reply: another approver must decide it.' : 'A comment is needed to send back or reject. Sending back returns the draft to its author to change and send again.',
    ),
    h('div', { class: 'actions' }, approve, edit, sendBack, reject),
    msg,
  );
  li.refs = refs;
  li.approval = a;
  const buttons = [approve, edit, sendBack, reject];
  const enable = () => {
    approve.disabled = reject.disabled = sendBack.disabled = false;
    edit.disabled = text.value.trim() === a.text.trim() || !text.value.trim();
  };
  /** Posts a decision; `sendFor` confirms sending for whoever holds the conversation now. */
  const post = async (body, sendFor) => {
    for (const b of buttons) b.disabled = true;
    li.deciding = true; // our own approval.decided event says nothing new
    setText(msg, '');
    try {
      const decided = await ctx.api.post(`/api/v1/approvals/${a.id}/decision`, sendFor === undefined ? body : { ...body, send_for: { holder_id: sendFor } });
      approvals.delete(a.id);
      forgetMarkers(a.id);
      const said =
        body.decision === 'send_back'
          ? `Request ${a.id} sent back to ${ctx.agentName(a.author_id)} with your comment.`
          : `Request ${a.id} ${DECIDED[decided.status] ?? decided.status}${body.decision === 'edit' ? ' with your edits' : ''}${sendFor === undefined ? '' : sendFor == null ? ' (nobody holds the conversation)' : ` for ${ctx.agentName(sendFor)}, who holds the conversation now`}.`;
      setText($('#approvals-msg'), said);
      renderList();
      $('#approvals-list li .approve')?.focus();
    } catch (e) {
      li.deciding = false;
      if (e.code === 'holder_changed') {
        await askToSendAnyway(e, body);
        return;
      }
      setText(msg, e.code === 'conflict' ? `Already decided: ${humanize(e.message, ctx.agentName)}.` : e.code === 'forbidden' ? `Not yours to decide: ${humanize(e.message, ctx.agentName)}.` : plainError(e, ctx.agentName));
      if (e.code === 'conflict') setTimeout(() => { approvals.delete(a.id); renderList(); }, 3000);
      enable();
    }
  };
  // The reply's author no longer holds the conversation: say who does, and let the approver
  // send it anyway for them (or for nobody) — or leave it pending.
  const confirm = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': `appr-confirm-h-${a.id}`, hidden: true });
  const askToSendAnyway = async (e, body) => {
    let holder = null;
    try {
      const d = await ctx.api.get(`/api/v1/conversations/${a.conversation_id}`);
      holder = (d.conversation ?? d).assignee_id ?? null;
    } catch (err) {
      setText(msg, `${humanize(e.message, ctx.agentName)} (and who holds it now could not be read: ${plainError(err)})`);
      enable();
      return;
    }
    const send = h(
      'button',
      { type: 'button', class: 'primary send-anyway', dataset: { holderId: holder ?? '' } },
      holder == null ? 'Send anyway (nobody holds it)' : `Send anyway for the current holder (${ctx.agentName(holder)})`,
    );
    const cancel = h('button', { type: 'button', class: 'cancel' }, 'Cancel');
    send.addEventListener('click', () => {
      confirm.hidden = true;
      post(body, holder);
    });
    cancel.addEventListener('click', () => {
      confirm.hidden = true;
      setText(msg, '');
      setText($('#approvals-msg'), `Request ${a.id} is still pending.`);
      enable();
      approve.focus();
    });
    const author = ctx.agentName(a.author_id);
    replaceChildren(
      confirm,
      h(
        'p',
        { id: `appr-confirm-h-${a.id}`, class: 'confirm-text' },
        h('strong', {}, 'Not sent: '),
        `${author === 'you' ? 'you no longer hold' : `${author} no longer holds`} this conversation — `,
        holder == null ? 'nobody does now.' : `${ctx.agentName(holder)} ${holder === ctx.me.id ? 'do' : 'does'} now.`,
        ' Send the reply anyway?',
      ),
      // The server's own words, as it gave them.
      h('p', { class: 'small muted confirm-detail' }, e.message),
      h('div', { class: 'actions' }, send, cancel),
    );
    confirm.hidden = false;
    send.focus();
  };
  const decide = (decision) => {
    const body = { decision };
    const note = comment.value.trim();
    if ((decision === 'reject' || decision === 'send_back') && !note) {
      setText(msg, decision === 'send_back' ? 'Say what to change in the comment: the author sees it above their draft.' : 'Say why in the comment: the agent sees it.');
      comment.focus();
      return;
    }
    if (decision === 'edit') body.text = text.value.trim();
    if (note) body.comment = note;
    confirm.hidden = true;
    post(body);
  };
  li.insertBefore(confirm, msg);
  approve.addEventListener('click', () => decide('approve'));
  edit.addEventListener('click', () => decide('edit'));
  sendBack.addEventListener('click', () => decide('send_back'));
  reject.addEventListener('click', () => decide('reject'));
  return li;
}
