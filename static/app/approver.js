// The approver view: approval requests as they arrive (`approvals` topic), each decided once —
// approve, approve with edits, or reject with a comment.

import { $, batched, duration, h, reconcile, setText, when } from './util.js';

let ctx;
let approvals = new Map(); // pending approval id -> Approval (with context)
let groups = []; // the groups this person decides for

const GROUP_NAME = { team_lead: 'Team lead', pr: 'PR', legal: 'Legal' };

export function init(c) {
  ctx = c;
  groups = ctx.has('admin') ? ['team_lead', 'pr', 'legal'] : [ctx.has('supervisor') && 'team_lead', ctx.has('approver') && 'pr', ctx.has('legal') && 'legal'].filter(Boolean);
  ctx.loaders.push(load);
  const render = batched(renderList);
  ctx.live.on('approval.requested', (a) => {
    if (!groups.includes(a.group) || a.status !== 'pending') return;
    approvals.set(a.id, a);
    render();
    ctx.announce(`New approval request from ${ctx.agentName(a.author_id)} on conversation ${a.conversation_id}.`);
  });
  ctx.live.on('approval.decided', (a) => {
    const card = document.querySelector(`#approvals-list li[data-key="${a.id}"]`);
    if (approvals.delete(a.id) && card && !card.decidedHere) {
      setText($('#approvals-msg'), `Request ${a.id} was ${a.status} by ${ctx.agentName(a.decided_by)}.`);
    }
    render();
  });
  setInterval(() => {
    for (const li of document.querySelectorAll('#approvals-list li[data-key]')) showWait(li);
  }, 1000);
}

async function load() {
  const list = await ctx.api.get('/api/v1/approvals?status=pending&limit=200');
  approvals = new Map(list.filter((a) => groups.includes(a.group)).map((a) => [a.id, a]));
  renderList();
}

function showWait(li) {
  setText(li.refs.wait, `waiting ${duration((Date.now() - Date.parse(li.requestedAt)) / 1000)}`);
}

function renderList() {
  const items = [...approvals.values()].sort((a, b) => Date.parse(a.requested_at) - Date.parse(b.requested_at));
  setText($('#approvals-count'), `(${items.length})`);
  $('#approvals-empty').hidden = items.length > 0;
  reconcile($('#approvals-list'), items, (a) => a.id, makeCard, () => {});
}

function makeCard(a) {
  const conv = a.context?.conversation;
  const own = a.author_id === ctx.me.id;
  const textId = `appr-text-${a.id}`;
  const commentId = `appr-comment-${a.id}`;
  const text = h('textarea', { id: textId, rows: 3 });
  text.value = a.text;
  const comment = h('input', { id: commentId, 'aria-describedby': `appr-help-${a.id}` });
  const msg = h('p', { class: 'error small', role: 'alert' });
  const approve = h('button', { type: 'button', class: 'primary approve' }, 'Approve');
  const edit = h('button', { type: 'button', class: 'edit', disabled: true }, 'Approve with my edits');
  const reject = h('button', { type: 'button', class: 'danger reject' }, 'Reject');
  const wait = h('span', { class: 'wait' });
  text.addEventListener('input', () => (edit.disabled = text.value.trim() === a.text.trim() || !text.value.trim()));
  const li = h(
    'li',
    { class: 'card approval', dataset: { approvalId: a.id, conversationId: a.conversation_id }, 'aria-labelledby': `appr-h-${a.id}` },
    h('h3', { id: `appr-h-${a.id}` }, `${a.visibility === 'public' ? 'Public reply' : 'Private message'} to ${conv?.customer_name || `conversation ${a.conversation_id}`}`),
    h(
      'p',
      { class: 'small muted' },
      `By ${ctx.agentName(a.author_id)} · for ${GROUP_NAME[a.group] || a.group} · conversation ${a.conversation_id}`,
      conv ? ` · ${conv.network} · ${conv.priority} · risk ${conv.risk}` : '',
      ' · requested ',
      h('time', { datetime: a.requested_at }, when(a.requested_at)),
      ' · ',
      wait,
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
    h('p', { id: `appr-help-${a.id}`, class: 'small muted' }, own ? 'This is your own reply: another approver must decide it.' : 'A comment is needed to reject.'),
    h('div', { class: 'actions' }, approve, edit, reject),
    msg,
  );
  li.refs = { wait };
  li.requestedAt = a.requested_at;
  showWait(li);
  const decide = async (decision) => {
    const cmd = { type: 'approval.decide', approval_id: a.id, decision };
    const note = comment.value.trim();
    if (decision === 'reject' && !note) {
      setText(msg, 'Say why in the comment: the agent sees it.');
      comment.focus();
      return;
    }
    if (decision === 'edit') cmd.text = text.value.trim();
    if (note) cmd.comment = note;
    for (const b of [approve, edit, reject]) b.disabled = true;
    try {
      const ack = await ctx.live.send(cmd);
      li.decidedHere = true;
      approvals.delete(a.id);
      setText($('#approvals-msg'), `Request ${a.id} ${ack.approval.status}${decision === 'edit' ? ' with your edits' : ''}.`);
      renderList();
      $('#approvals-list li .approve')?.focus();
    } catch (e) {
      setText(msg, e.code === 'conflict' ? `Already decided: ${e.message}` : e.code === 'forbidden' ? `Not yours to decide: ${e.message}` : e.message);
      if (e.code === 'conflict') setTimeout(() => { approvals.delete(a.id); renderList(); }, 3000);
      approve.disabled = reject.disabled = false;
      edit.disabled = text.value.trim() === a.text.trim();
    }
  };
  approve.addEventListener('click', () => decide('approve'));
  edit.addEventListener('click', () => decide('edit'));
  reject.addEventListener('click', () => decide('reject'));
  return li;
}
