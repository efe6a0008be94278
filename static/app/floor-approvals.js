// The floor's "Approvals waiting": every pending approval request, oldest first, with how long it
// has waited (ticking), its deadline and whether the timers reminded or escalated it. The list
// comes with each floor read; approval.* events (for the groups the supervisor decides for) keep
// it current in between.

import { ageSecs, deadline, groupLabel, withMarkers } from './approval-timers.js';
import { serverNow, state } from './floor-state.js';
import { $, duration, h, reconcile, setText } from './util.js';

let ctx;

export function initApprovals(c, render) {
  ctx = c;
  ctx.live.on('approval.requested', (a) => {
    if (a.status && a.status !== 'pending') return;
    state.approvals.set(a.id, { ...state.approvals.get(a.id), id: a.id, conversation_id: a.conversation_id, group: a.group, author_id: a.author_id, requested_at: a.requested_at, due_at: a.due_at ?? null, escalated_from: a.escalated_from ?? null });
    render();
  });
  ctx.live.on('approval.decided', (a) => {
    if (state.approvals.delete(a.id)) render();
  });
  ctx.live.on('approval.escalated', (d) => {
    const a = state.approvals.get(d.approval_id);
    if (!a) return;
    state.approvals.set(d.approval_id, { ...a, group: d.to_group, due_at: d.due_at ?? null, escalated_from: d.from_group });
    render();
  });
}

export function renderApprovals() {
  const items = [...state.approvals.values()].map(withMarkers).sort((a, b) => Date.parse(a.requested_at) - Date.parse(b.requested_at));
  setText($('#floor-approvals-count'), `(${items.length})`);
  $('#floor-approvals-empty').hidden = items.length > 0;
  $('#floor-approvals-table').hidden = items.length === 0;
  reconcile($('#floor-approvals-rows'), items, (a) => a.id, makeRow, updateRow);
}

function makeRow() {
  const tr = h('tr');
  tr.refs = { conv: h('th', { scope: 'row' }), group: h('td', { class: 'a-group' }), author: h('td', { class: 'a-author' }), age: h('td', { class: 'a-age num' }), due: h('td', { class: 'a-due' }) };
  tr.append(tr.refs.conv, tr.refs.group, tr.refs.author, tr.refs.age, tr.refs.due);
  return tr;
}

function updateRow(tr, a) {
  tr.dataset.approvalId = a.id;
  tr.approval = a;
  setText(tr.refs.conv, `#${a.conversation_id}`);
  setText(tr.refs.group, `${groupLabel(a.group)}${a.escalated_from ? ` (escalated from ${groupLabel(a.escalated_from)})` : ''}`);
  setText(tr.refs.author, ctx.agentName(a.author_id));
  showTimes(tr);
}

function showTimes(tr) {
  const a = tr.approval;
  const now = serverNow();
  setText(tr.refs.age, duration(ageSecs(a.requested_at, now)));
  const d = deadline(a, now);
  setText(tr.refs.due, d ? d.text : 'no deadline');
  tr.dataset.deadline = d?.state ?? 'none';
  tr.classList.toggle('overdue', d?.state === 'overdue');
  tr.classList.toggle('due-soon', d?.state === 'soon');
}

export function tickApprovals() {
  for (const tr of $('#floor-approvals-rows').children) if (tr.approval) showTimes(tr);
}
