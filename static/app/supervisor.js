// The supervisor's floor view (issue 25): GET /api/v1/floor read when the view opens, every
// 15 seconds while it is in view and shortly after anything moves, with the live events in
// between — who is on (`presence`), the queue and its claims (`queue`), approvals (`approvals`),
// the wallboard's totals (`wallboard`) and volume spikes (`crisis.alert`).
//
// Its parts: the agents table (floor-agents.js), the queue by team with reassignment by picker
// or by drag and drop (floor-queue.js), the teams table (here), "Approvals waiting"
// (floor-approvals.js) and the alerts panel (alerts.js, shared with the crisis console).

import { wireApprovalTimers, onApprovalTimer } from './approval-timers.js';
import { initAgents, renderAgents, tickAgents } from './floor-agents.js';
import { initApprovals, renderApprovals, tickApprovals } from './floor-approvals.js';
import { initQueue, renderPickers, renderTeamQueues, tickQueues } from './floor-queue.js';
import { applyPresenceList, moveOffQueue, newer, noteAction, noteMove, notePresence, state, takeBaseline, takeFloor } from './floor-state.js';
import { $, batched, compactDuration, h, percent, reconcile, replaceChildren, setText, when } from './util.js';

let ctx;
let render = () => {};
let crisisAlerts = []; // early-warning alerts, newest first (the spike indicator)
const SPIKE_FRESH_SECS = 30 * 60; // an alert counts as a live spike for half an hour (the default cooldown)
const READ_EVERY_MS = 15000;
const READ_AFTER_EVENT_MS = 1500;

export function init(c) {
  ctx = c;
  ctx.loaders.push(load);
  render = batched(renderAll);
  ctx.queue.onChange(render);
  wireApprovalTimers(ctx);
  onApprovalTimer(() => {
    render();
    readSoon();
  });
  initAgents(ctx, render);
  // After a move the view redraws at once, not at the next frame: the result line, the
  // picker and the agents table say the same load together.
  initQueue(ctx, ({ reread }) => {
    renderAll();
    if (reread) readSoon(800);
  });
  initApprovals(ctx, render);
  wirePresence();
  wireClaims();
  // The floor totals, from the wallboard topic: they count everyone online, including agents
  // whose presence this page has not heard yet.
  ctx.live.on('tick', (f) => showFloorTotals(f));
  ctx.live.on('crisis.alert', (a) => {
    crisisAlerts = [a, ...crisisAlerts.filter((x) => x.id !== a.id)];
    renderSpike();
  });
  for (const kind of ['approval.requested', 'approval.decided', 'queue.remove']) ctx.live.on(kind, () => readSoon());
  setInterval(tick, 1000);
  setInterval(() => shown() && readFloor(), READ_EVERY_MS);
  document.addEventListener('visibilitychange', () => shown() && readSoon(100));
}

function wirePresence() {
  ctx.live.on('presence.changed', (p) => {
    if (!newer(p, state.presence.get(p.agent_id))) return;
    state.presence.set(p.agent_id, p);
    state.heardSince?.add(p.agent_id);
    notePresence(p);
    render();
    readSoon();
  });
  // Subscribing to `presence` answers who is on now, in the ack: the list is whole from the
  // first moment, not only the agents who changed status since the page opened.
  ctx.live.on('subscribing', (topics) => {
    if (topics.includes('presence')) state.heardSince = new Set();
  });
  ctx.live.on('subscribed', (ack) => {
    if (!Array.isArray(ack.presence)) return;
    applyPresenceList(ack.presence, ctx.me.id);
    render();
  });
  // Our own status is known without waiting for an event.
  ctx.live.on('hello', (hello) => {
    if (!state.presence.has(hello.agent.id)) state.presence.set(hello.agent.id, { agent_id: hello.agent.id, name: hello.agent.name, status: 'online', capacity: hello.agent.capacity, load: null });
    render();
  });
}

/**
 * Claims move load between agents. The queue store moves the conversations it lists; the ones
 * it does not (held while waiting on the customer) move the off-queue counts here.
 */
function wireClaims() {
  ctx.live.on('conversation.claimed', (d) => {
    noteMove();
    if (!ctx.queue.get(d.conversation_id)) moveOffQueue(null, d.agent_id);
    if (d.assigned_by !== 'auto') noteAction(d.agent_id);
    render();
    readSoon();
  });
  ctx.live.on('conversation.released', (d) => {
    noteMove();
    if (!ctx.queue.get(d.conversation_id) && d.released_by != null) moveOffQueue(d.released_by, null);
    if (d.reason !== 'lease_expired') noteAction(d.released_by);
    render();
    readSoon();
  });
  ctx.live.on('conversation.reassigned', (d) => {
    noteMove();
    if (!ctx.queue.get(d.conversation_id)) moveOffQueue(d.from_agent_id ?? null, d.agent_id);
    render();
    readSoon();
  });
  // Waiting on the customer: off the queue, still held. Only a conversation the queue listed
  // until now moves into the off-queue count: one already off it (a transfer of a pending
  // conversation) was moved there by its claim event.
  ctx.queue.onRemove((s) => {
    if (s.status === 'pending' && s.assignee_id != null) {
      moveOffQueue(null, s.assignee_id);
      render();
    }
  });
}

async function load(snapshot) {
  // Who is on comes whole in the `presence` subscribe's ack and in a resync snapshot;
  // presence.changed events keep it current in between.
  if (snapshot && snapshot.presence) applyPresenceList(snapshot.presence, ctx.me.id);
  fillTeamFilter();
  await Promise.all([
    ctx.api.get('/api/v1/metrics/live').then(showFloorTotals, (e) => console.warn('live figures', e)),
    ctx.api.get('/api/v1/crisis-alerts').then((list) => (crisisAlerts = list), (e) => console.warn('crisis alerts', e)),
    readFloor(),
  ]);
  renderAll();
  renderSpike();
}

// ---------------------------------------------------------------- reading the floor

let reading = null;
let readAgain = false;
let overtaken = 0; // floor reads in a row that a load move overtook
let readTimer = null;

/** Reads GET /api/v1/floor (one read at a time; a read asked for meanwhile follows it). */
async function readFloor() {
  if (reading) {
    readAgain = true;
    return reading;
  }
  reading = (async () => {
    try {
      // The day as the supervisor lives it: from local midnight (the server's UTC day if it
      // refuses that, e.g. a clock a little ahead of the server's just after midnight).
      const moves = state.moves;
      const midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      const floor = await ctx.api.get(`/api/v1/floor?since=${encodeURIComponent(midnight.toISOString())}`).catch((e) => {
        if (e.status === 400) return ctx.api.get('/api/v1/floor');
        throw e;
      });
      // A load that moved while the read was on its way may not be in its figures: take the
      // rest, keep the loads the events made, and read again. On a floor so busy that every
      // read spans a move, the third in a row is taken whole (the events keep it close).
      const fresh = moves === state.moves || overtaken >= 2;
      overtaken = fresh ? 0 : overtaken + 1;
      takeFloor(floor, ctx.queue, fresh);
      if (!fresh) readAgain = true;
    } catch (e) {
      if (e.status === 404) state.supported = false;
      else console.warn('floor', e);
    }
  })();
  await reading;
  reading = null;
  render();
  if (readAgain) {
    readAgain = false;
    readSoon(300);
  }
}

/** A read shortly (events come in bursts: one read for the burst). */
function readSoon(ms = READ_AFTER_EVENT_MS) {
  if (!state.supported) return;
  if (readTimer) return;
  readTimer = setTimeout(() => {
    readTimer = null;
    if (shown()) readFloor();
    else state.stale = true;
  }, ms);
}

function shown() {
  return !$('#view-supervisor').hidden && document.visibilityState === 'visible';
}

// ---------------------------------------------------------------- drawing

/** Draws the view; while it is hidden, only once it is shown again (a busy queue changes often). */
function renderAll() {
  const section = $('#view-supervisor');
  if (section.hidden) {
    if (!section.waiting) {
      section.waiting = new MutationObserver(() => {
        if (section.hidden) return;
        section.waiting.disconnect();
        section.waiting = null;
        renderAll();
        if (state.stale) {
          state.stale = false;
          readFloor();
        }
      });
      section.waiting.observe(section, { attributes: true, attributeFilter: ['hidden'] });
    }
    return;
  }
  if (state.baselineDue && ctx.queue.loaded) takeBaseline(ctx.queue);
  fillTeamFilter();
  renderAgents();
  renderPickers();
  renderTeams();
  renderTeamQueues();
  renderApprovals();
  renderUpdated();
}

function tick() {
  if ($('#view-supervisor').hidden) return;
  tickAgents();
  tickApprovals();
  tickQueues();
  tickTeams();
  renderSpike();
}

function renderUpdated() {
  const el = $('#floor-updated');
  if (!state.supported) setText(el, 'This server gives no floor figures yet: status and load only.');
  else if (state.floor) setText(el, `Figures since ${when(state.floor.since)}, as of ${new Date(state.floor.at).toLocaleTimeString()} (read every 15 s and after each change).`);
  else setText(el, 'Reading the floor…');
}

function fillTeamFilter() {
  const select = $('#floor-team');
  const teams = [...ctx.teams.values()].sort((a, b) => a.name.localeCompare(b.name));
  const wanted = ['', 'none', ...teams.map((t) => String(t.id))].join('|');
  if ([...select.options].map((o) => o.value).join('|') === wanted) return;
  const keep = select.value;
  replaceChildren(select, h('option', { value: '' }, 'Every team'), h('option', { value: 'none' }, 'No team (general queue)'), teams.map((t) => h('option', { value: t.id }, t.name)));
  select.value = keep;
}

function showFloorTotals(f) {
  const a = f.agents;
  setText($('#floor-figures'), `Floor now: ${a.online} online, ${a.available} available, ${a.at_capacity} at capacity, ${a.away} away, holding ${a.holding}.`);
}

// ---------------------------------------------------------------- teams

/** Per team: waiting, the oldest wait (ticking) and today's attainment. From the floor, else the queue. */
function teamRows() {
  if (state.floor) {
    return state.floor.teams.map((t) => ({
      key: t.team_id ?? 'general',
      name: t.team_id == null ? t.name || 'General queue' : ctx.teamName(t.team_id),
      queued: t.queued,
      oldest: t.queued > 0 ? t.oldest_wait_secs : null,
      attainment: t.attainment,
      live: true,
    }));
  }
  const groups = new Map();
  for (const s of ctx.queue.items.values()) {
    if (s.assignee_id != null) continue;
    const k = s.team_id ?? 'general';
    const g = groups.get(k) || { key: k, name: k === 'general' ? 'General queue' : ctx.teamName(k), queued: 0, since: null, attainment: null };
    g.queued += 1;
    const since = Date.parse(s.awaiting_since || s.first_message_at || 0);
    if (since && (g.since === null || since < g.since)) g.since = since;
    groups.set(k, g);
  }
  return [...groups.values()].map((g) => ({ ...g, oldest: g.since ? (Date.now() - g.since) / 1000 : null, live: false }));
}

function renderTeams() {
  const rows = teamRows();
  $('#teams-empty').hidden = rows.length > 0;
  reconcile(
    $('#teams-rows'),
    rows,
    (t) => t.key,
    () => {
      const tr = h('tr');
      tr.refs = { name: h('th', { scope: 'row' }), queued: h('td', { class: 't-queued num' }), oldest: h('td', { class: 't-oldest num' }), attainment: h('td', { class: 't-attainment num' }) };
      tr.append(tr.refs.name, tr.refs.queued, tr.refs.oldest, tr.refs.attainment);
      return tr;
    },
    (tr, t) => {
      tr.dataset.teamId = t.key;
      tr.team = t;
      tr.readAt = state.readAt;
      setText(tr.refs.name, t.name);
      setText(tr.refs.queued, t.queued);
      setText(tr.refs.attainment, percent(t.attainment));
      tr.classList.toggle('low', t.attainment != null && t.attainment < 0.8);
      showOldest(tr);
    },
  );
}

function showOldest(tr) {
  const t = tr.team;
  if (t.oldest == null) return setText(tr.refs.oldest, '—');
  const since = t.live ? (Date.now() - tr.readAt) / 1000 : 0;
  setText(tr.refs.oldest, compactDuration(t.oldest + since));
}

function tickTeams() {
  for (const tr of $('#teams-rows').children) if (tr.team) showOldest(tr);
}

// ---------------------------------------------------------------- the spike indicator

function alertTime(a) {
  // An alert is about its window; it is fresh while that window is recent.
  const start = Date.parse(a.window_start || a.created_at || 0);
  return start + (a.window_secs || 0) * 1000;
}

function renderSpike() {
  const now = Date.now();
  const fresh = crisisAlerts.filter((a) => now - alertTime(a) < SPIKE_FRESH_SECS * 1000);
  const el = $('#spike');
  el.dataset.state = fresh.length ? 'spike' : 'calm';
  setText(
    el,
    fresh.length
      ? `Spike: ${fresh.map((a) => `${a.topic} — ${a.count} messages in ${Math.round((a.window_secs || 300) / 60)} min, ${Math.round(a.ratio * 10) / 10}× usual`).join('; ')}`
      : 'No spike: volume is normal',
  );
}
