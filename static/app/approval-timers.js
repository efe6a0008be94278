// Approval requests as a queue that cannot be forgotten (issue 25): how long each has waited,
// its deadline ("due in 4 min", "overdue by 2 min") and what the server's timers said about it —
// `approval.reminder` at three quarters of the deadline, `approval.escalated` when it passed and
// the request moved on to the next group. Shared by the approvals view and the floor's
// "Approvals waiting"; no DOM building here, only the facts and their words.

import { duration } from './util.js';

const markers = new Map(); // approval id -> {reminded_at, escalated_from, group, due_at}
const listeners = new Set();
let wired = false;

const GROUP_NAME = { team_lead: 'Team lead', pr: 'PR', legal: 'Legal' };

/** "Team lead", "PR", "Legal". */
export function groupLabel(g) {
  return GROUP_NAME[g] ?? g;
}

/** Listens to the timers' events once, however many views ask. */
export function wireApprovalTimers(ctx) {
  if (wired) return;
  wired = true;
  ctx.live.on('approval.reminder', (d) => {
    mark(d.approval_id, { reminded_at: new Date().toISOString(), due_at: d.due_at ?? undefined, group: d.group ?? undefined });
    notify('reminder', d);
  });
  ctx.live.on('approval.escalated', (d) => {
    // A fresh deadline in the new group: its reminder is still to come.
    mark(d.approval_id, { escalated_from: d.from_group, group: d.to_group, due_at: d.due_at ?? null, reminded_at: null });
    notify('escalated', d);
  });
}

function mark(id, facts) {
  const old = markers.get(id) || {};
  const next = { ...old };
  for (const [k, v] of Object.entries(facts)) if (v !== undefined) next[k] = v;
  markers.set(id, next);
}

function notify(kind, d) {
  for (const fn of listeners) {
    try {
      fn(kind, d);
    } catch (e) {
      console.error('approval timer listener', e);
    }
  }
}

/** Calls `fn(kind, data)` on a reminder or an escalation ("reminder" | "escalated"). */
export function onApprovalTimer(fn) {
  listeners.add(fn);
}

/** The request with what the timers said since it was read merged in (events are newer). */
export function withMarkers(a) {
  const m = markers.get(a.id);
  if (!m) return a;
  return {
    ...a,
    group: m.group ?? a.group,
    due_at: m.due_at !== undefined ? m.due_at : a.due_at,
    reminded_at: m.reminded_at !== undefined ? m.reminded_at : a.reminded_at,
    escalated_from: m.escalated_from ?? a.escalated_from ?? null,
  };
}

/** Forgets what the timers said about a request (decided, or read afresh). */
export function forgetMarkers(id) {
  markers.delete(id);
}

/** Seconds the request has waited. */
export function ageSecs(requestedAt, now = Date.now()) {
  if (!requestedAt) return null;
  return Math.max(0, (now - Date.parse(requestedAt)) / 1000);
}

/** "waiting 3 min 5 s". */
export function ageText(requestedAt, now = Date.now()) {
  return `waiting ${duration(ageSecs(requestedAt, now))}`;
}

/**
 * The deadline in words and as a state: null without one; `ok` while more than a quarter of it
 * is left, `soon` in its last quarter (the server reminds then), `overdue` once past.
 */
export function deadline(a, now = Date.now()) {
  if (!a.due_at) return null;
  const due = Date.parse(a.due_at);
  const left = (due - now) / 1000;
  if (left < 0) return { state: 'overdue', text: `overdue by ${duration(-left)}`, left };
  const start = Date.parse(a.requested_at || a.due_at);
  const whole = Math.max(1, (due - start) / 1000);
  return { state: left <= whole / 4 ? 'soon' : 'ok', text: `due in ${duration(left)}`, left };
}
