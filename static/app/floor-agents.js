// The floor's agents table: per agent their status and its history today (a small timeline of
// online / away / offline), conversations held against capacity, handling time, replies, first
// responses, resolved, SLA breaches and the time since their last action (ticking); filtered by
// team and status, sorted by any column (the column headers are buttons). Each row takes
// conversations dropped on it from the queue tables (floor-queue.js).

import { acceptsDrop, droppedIds, moveTo } from './floor-queue.js';
import { floorAgent, heldNow, queueHeld, serverNow, state, statusOf, statusSince } from './floor-state.js';
import { $, compactDuration, duration, h, reconcile, replaceChildren, setText, when } from './util.js';

let ctx;
let rerender = () => {};
const STATUS_ORDER = { online: 0, away: 1, offline: 2, unknown: 3 };
const sort = { key: 'status', dir: 1 };

const COLUMNS = [
  { key: 'name', label: 'Agent', value: (r) => r.name.toLowerCase() },
  { key: 'team', label: 'Team', value: (r) => r.teamName.toLowerCase() },
  { key: 'status', label: 'Status today', value: (r) => STATUS_ORDER[r.status] ?? 9 },
  { key: 'held', label: 'Held / capacity', value: (r) => r.held },
  { key: 'handling', label: 'Handling time', value: (r) => r.handling ?? -1 },
  { key: 'replies', label: 'Replies', value: (r) => r.replies ?? -1 },
  { key: 'first', label: 'First responses', value: (r) => r.first ?? -1 },
  { key: 'resolved', label: 'Resolved', value: (r) => r.resolved ?? -1 },
  { key: 'breaches', label: 'Breaches', value: (r) => r.breaches ?? -1 },
  // Most recent first when ascending: the smaller the time since, the higher.
  { key: 'last', label: 'Last action', value: (r) => (r.lastAt ? -Date.parse(r.lastAt) : Infinity) },
];

/** `render` draws the whole view again (filters and sorting change more than this table). */
export function initAgents(c, render) {
  ctx = c;
  rerender = render;
  renderHead();
  $('#floor-team').addEventListener('change', () => rerender());
  $('#floor-status').addEventListener('change', () => rerender());
}

function renderHead() {
  const tr = h('tr');
  for (const col of COLUMNS) {
    const button = h('button', { type: 'button', class: 'sort', dataset: { sort: col.key } }, col.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }));
    button.addEventListener('click', () => {
      if (sort.key === col.key) sort.dir = -sort.dir;
      else {
        sort.key = col.key;
        // Figures read best largest first; names and status in their natural order.
        sort.dir = ['name', 'team', 'status', 'last'].includes(col.key) ? 1 : -1;
      }
      renderHeadState();
      rerender();
    });
    tr.append(h('th', { scope: 'col', class: `col-${col.key}` }, button));
  }
  replaceChildren($('#agents-head'), tr);
  renderHeadState();
}

function renderHeadState() {
  for (const th of $('#agents-head').querySelectorAll('th')) {
    const key = th.querySelector('button').dataset.sort;
    if (key === sort.key) th.setAttribute('aria-sort', sort.dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
    setText(th.querySelector('.sort-mark'), key === sort.key ? (sort.dir > 0 ? ' ▲' : ' ▼') : '');
  }
}

/** The agents a supervisor looks after: active, and not wallboard-only accounts. */
export function floorPeople() {
  return [...ctx.agents.values()].filter((a) => a.active && !(a.roles.length === 1 && a.roles[0] === 'wallboard'));
}

/** One agent's row as figures. */
export function agentFigures(a, counts = queueHeld(ctx.queue)) {
  const f = floorAgent(a.id);
  const p = state.presence.get(a.id);
  const teamId = f ? f.team_id : a.team_id;
  return {
    id: a.id,
    name: a.name,
    teamId,
    teamName: teamId == null ? '—' : ctx.teamName(teamId),
    status: statusOf(a.id),
    since: statusSince(a.id),
    held: heldNow(a.id, counts),
    capacity: p?.capacity ?? f?.capacity ?? a.capacity,
    handling: f?.handling_secs ?? null,
    replies: f?.replies ?? null,
    first: f?.first_responses ?? null,
    resolved: f?.resolved ?? null,
    breaches: f?.breaches ?? null,
    lastAt: state.lastAction.get(a.id) ?? f?.last_action_at ?? null,
  };
}

function passes(r) {
  const team = $('#floor-team').value;
  const status = $('#floor-status').value;
  if (team === 'none' && r.teamId != null) return false;
  if (team && team !== 'none' && String(r.teamId) !== team) return false;
  if (status && r.status !== status) return false;
  return true;
}

export function renderAgents() {
  const counts = queueHeld(ctx.queue);
  const all = floorPeople().map((a) => agentFigures(a, counts));
  const rows = all.filter(passes);
  const col = COLUMNS.find((c) => c.key === sort.key);
  rows.sort((x, y) => {
    const a = col.value(x);
    const b = col.value(y);
    const d = a < b ? -1 : a > b ? 1 : 0;
    return d * sort.dir || x.name.localeCompare(y.name);
  });
  setText($('#agents-shown'), rows.length === all.length ? `${all.length} agents` : `${rows.length} of ${all.length} agents`);
  $('#agents-empty').hidden = rows.length > 0;
  reconcile($('#agents-rows'), rows, (r) => r.id, makeRow, updateRow);
}

function makeRow(r) {
  const tr = h('tr', { dataset: { agentId: r.id } });
  const c = (cls) => h('td', { class: cls });
  tr.refs = {
    name: h('th', { scope: 'row', class: 'f-name' }),
    team: c('f-team'),
    status: c('f-status'),
    dot: h('span', { class: 'status-dot', 'aria-hidden': 'true' }),
    statusText: h('span', { class: 'status-text' }),
    since: h('span', { class: 'small muted status-since' }),
    timeline: h('div', { class: 'timeline', role: 'img' }),
    held: c('f-held num'),
    handling: c('f-handling num'),
    replies: c('f-replies num'),
    first: c('f-first num'),
    resolved: c('f-resolved num'),
    breaches: c('f-breaches num'),
    last: c('f-last num'),
  };
  const x = tr.refs;
  x.status.append(h('span', { class: 'status-line' }, x.dot, ' ', x.statusText, x.since), x.timeline);
  tr.append(x.name, x.team, x.status, x.held, x.handling, x.replies, x.first, x.resolved, x.breaches, x.last);
  // A drop target for conversations dragged from the queue.
  tr.addEventListener('dragover', (e) => {
    if (!acceptsDrop(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    tr.classList.add('drop-over');
  });
  tr.addEventListener('dragleave', (e) => {
    if (!tr.contains(e.relatedTarget)) tr.classList.remove('drop-over');
  });
  tr.addEventListener('drop', (e) => {
    tr.classList.remove('drop-over');
    const ids = droppedIds(e);
    if (!ids.length) return;
    e.preventDefault();
    moveTo(ids, Number(tr.dataset.agentId));
  });
  return tr;
}

function updateRow(tr, r) {
  const x = tr.refs;
  tr.dataset.status = r.status;
  tr.lastAt = r.lastAt;
  setText(x.name, r.name);
  setText(x.team, r.teamName);
  x.dot.className = `status-dot ${r.status}`;
  setText(x.statusText, r.status === 'unknown' ? 'not seen yet' : r.status);
  tr.since = r.since;
  showSince(tr);
  renderTimeline(tr, r);
  const full = r.held >= r.capacity;
  setText(x.held, `${r.held} / ${r.capacity}${full ? ' (at capacity)' : ''}`);
  tr.classList.toggle('at-capacity', full);
  setText(x.handling, r.handling == null ? '—' : compactDuration(r.handling));
  x.handling.title = r.handling == null ? '' : duration(r.handling);
  setText(x.replies, r.replies ?? '—');
  setText(x.first, r.first ?? '—');
  setText(x.resolved, r.resolved ?? '—');
  setText(x.breaches, r.breaches ?? '—');
  x.breaches.classList.toggle('bad', (r.breaches ?? 0) > 0);
  showLast(tr);
}

function showSince(tr) {
  const since = tr.since ? (serverNow() - Date.parse(tr.since)) / 1000 : null;
  setText(tr.refs.since, since != null && since >= 0 ? ` · ${compactDuration(since)}` : '');
}

function showLast(tr) {
  const x = tr.refs;
  if (!tr.lastAt) {
    setText(x.last, '—');
    x.last.title = 'Nothing today';
    return;
  }
  setText(x.last, `${compactDuration((serverNow() - Date.parse(tr.lastAt)) / 1000)} ago`);
  x.last.title = when(tr.lastAt);
}

/** Moves the ticking parts on: time in status, time since the last action. */
export function tickAgents() {
  for (const tr of $('#agents-rows').children) {
    if (!tr.refs) continue;
    showSince(tr);
    showLast(tr);
  }
}

/** Today's statuses as a bar from the start of the day to now, with the same in words. */
function renderTimeline(tr, r) {
  const segs = state.timelines.get(r.id) || [];
  const start = Date.parse(state.floor?.since ?? startOfUtcDay());
  const now = serverNow();
  // Redraw when the parts change, and once a minute as the day moves on.
  const sig = `${JSON.stringify(segs)}|${Math.floor(now / 60000)}`;
  if (tr.timelineSig === sig) return;
  tr.timelineSig = sig;
  const span = Math.max(1, now - start);
  const totals = { online: 0, away: 0, offline: 0 };
  const parts = [];
  for (const s of segs) {
    const from = Math.max(start, Date.parse(s.from));
    const to = Math.min(now, s.to ? Date.parse(s.to) : now);
    if (to <= from) continue;
    totals[s.status] = (totals[s.status] || 0) + (to - from);
    const el = h('span', { class: `seg ${s.status}` });
    el.style.left = `${((from - start) / span) * 100}%`;
    el.style.width = `${((to - from) / span) * 100}%`;
    parts.push(el);
  }
  // Before the first part the day is unknown: drawn as offline, as the server counts it.
  replaceChildren(tr.refs.timeline, parts);
  const words = ['online', 'away', 'offline'].filter((k) => totals[k] > 0).map((k) => `${k} ${duration(totals[k] / 1000)}`);
  const label = `${r.name} today: ${words.length ? words.join(', ') : 'no status recorded'}`;
  tr.refs.timeline.setAttribute('aria-label', label);
  tr.refs.timeline.title = segs
    .map((s) => `${s.status} ${when(s.from)}–${s.to ? when(s.to) : 'now'}`)
    .join('\n');
  tr.dataset.online = Math.round((totals.online || 0) / 1000);
}

function startOfUtcDay() {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())).toISOString();
}
