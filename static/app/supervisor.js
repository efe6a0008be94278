// The supervisor view: agents with status, load and capacity (the `presence` topic), the queue
// by team with reassignment of one or many conversations, and the spike indicator (`alerts`).

import { humanize, plainError } from './errors.js';
import { $, batched, breachText, h, reconcile, replaceChildren, secondsUntil, setText, when } from './util.js';

let ctx;
let presence = new Map(); // agent id -> presence document {agent_id, name, status, capacity, load, at}
let heardSince = null; // agents whose presence.changed arrived since the last `presence` subscribe went out
const selected = new Set(); // conversation ids picked for reassignment
let alerts = []; // early-warning alerts, newest first
const TEAM_ROWS = 200; // rows per team table (the rest are counted, and in the Queue view)
const SPIKE_FRESH_SECS = 30 * 60; // an alert counts as a live spike for half an hour (the default cooldown)

export function init(c) {
  ctx = c;
  ctx.loaders.push(load);
  const render = batched(renderAll);
  ctx.queue.onChange(render);
  ctx.live.on('presence.changed', (p) => {
    if (!newer(p, presence.get(p.agent_id))) return;
    presence.set(p.agent_id, p);
    heardSince?.add(p.agent_id);
    render();
  });
  // Subscribing to `presence` answers who is on now, in the ack: the list is whole from the
  // first moment, not only the agents who changed status since the page opened.
  ctx.live.on('subscribing', (topics) => {
    if (topics.includes('presence')) heardSince = new Set();
  });
  ctx.live.on('subscribed', (ack) => {
    if (!Array.isArray(ack.presence)) return;
    applyPresenceList(ack.presence);
    render();
  });
  // Our own status is known without waiting for an event.
  ctx.live.on('hello', (hello) => {
    if (!presence.has(hello.agent.id)) presence.set(hello.agent.id, { agent_id: hello.agent.id, name: hello.agent.name, status: 'online', capacity: hello.agent.capacity, load: null });
    render();
  });
  // The floor totals, from the wallboard topic: they count everyone online, including agents
  // whose presence this page has not heard yet.
  ctx.live.on('tick', (f) => showFloor(f));
  ctx.live.on('crisis.alert', (a) => {
    alerts = [a, ...alerts.filter((x) => x.id !== a.id)];
    renderSpike();
    ctx.announce(`Volume spike: ${a.topic}, ${a.count} messages, ${Math.round(a.ratio)} times the usual.`);
  });
  $('#reassign-form').addEventListener('submit', (e) => {
    e.preventDefault();
    reassign();
  });
  $('#move-team-btn').addEventListener('click', moveTeam);
  $('#clear-selection').addEventListener('click', () => {
    selected.clear();
    renderAll();
  });
  setInterval(() => {
    renderSpike();
    for (const row of document.querySelectorAll('#team-queues tr[data-key]')) setText(row.refs.due, breachText(row.dueAt));
  }, 1000);
}

/** True when presence document `p` is at least as recent as `old` (events may be held back and applied late). */
function newer(p, old) {
  if (!old || !old.at || !p.at) return true;
  return Date.parse(p.at) >= Date.parse(old.at);
}

/**
 * Takes a whole list of who is on (a subscribe ack or a resync snapshot) as the truth: agents
 * not in it are offline. The exceptions are what presence.changed said after the subscribe
 * went out, which may be newer than the list the server read.
 */
function applyPresenceList(list) {
  const next = new Map(list.map((p) => [p.agent_id, p]));
  for (const id of heardSince || []) {
    const mine = presence.get(id);
    if (mine && (!next.has(id) || newer(mine, next.get(id)))) next.set(id, mine);
  }
  // Our own session is on, whatever a list read a moment before it opened says.
  const me = presence.get(ctx.me.id);
  if (me && !next.has(ctx.me.id)) next.set(ctx.me.id, me);
  heardSince = null;
  presence = next;
}

async function load(snapshot) {
  // Who is on comes whole in the `presence` subscribe's ack (above) and in a resync snapshot;
  // presence.changed events keep it current in between (there is no REST list of who is online).
  if (snapshot && snapshot.presence) applyPresenceList(snapshot.presence);
  try {
    showFloor(await ctx.api.get('/api/v1/metrics/live'));
  } catch (e) {
    console.warn('live figures', e);
  }
  try {
    alerts = await ctx.api.get('/api/v1/crisis-alerts');
  } catch (e) {
    console.warn('crisis alerts', e);
  }
  renderAll();
  renderSpike();
}

function showFloor(f) {
  const a = f.agents;
  setText($('#floor-figures'), `Floor now: ${a.online} online, ${a.available} available, ${a.at_capacity} at capacity, ${a.away} away, holding ${a.holding}.`);
}

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
      });
      section.waiting.observe(section, { attributes: true, attributeFilter: ['hidden'] });
    }
    return;
  }
  renderAgents();
  renderPickers();
  renderTeams();
}

function holdingCounts() {
  const n = new Map();
  for (const s of ctx.queue.items.values()) if (s.assignee_id != null) n.set(s.assignee_id, (n.get(s.assignee_id) || 0) + 1);
  return n;
}

function renderAgents() {
  const holding = holdingCounts();
  const agents = [...ctx.agents.values()].filter((a) => a.active && !(a.roles.length === 1 && a.roles[0] === 'wallboard'));
  const statusOf = (a) => presence.get(a.id)?.status ?? 'unknown';
  const order = { online: 0, away: 1, unknown: 2, offline: 3 };
  agents.sort((a, b) => order[statusOf(a)] - order[statusOf(b)] || a.name.localeCompare(b.name));
  reconcile(
    $('#agents-rows'),
    agents,
    (a) => a.id,
    () => {
      const tr = h('tr');
      tr.refs = { name: h('th', { scope: 'row' }), team: h('td'), status: h('td'), load: h('td'), holding: h('td') };
      tr.append(tr.refs.name, tr.refs.team, tr.refs.status, tr.refs.load, tr.refs.holding);
      return tr;
    },
    (tr, a) => {
      const p = presence.get(a.id);
      const status = statusOf(a);
      // Presence carries the load as of the agent's last status change; claims since then show
      // in the live queue. The higher of the two is the best we know.
      const inQueue = holding.get(a.id) || 0;
      const load = p && p.load != null ? Math.max(p.load, inQueue) : p ? inQueue : null;
      const capacity = p?.capacity ?? a.capacity;
      tr.dataset.agentId = a.id;
      tr.dataset.status = status;
      setText(tr.refs.name, a.name);
      setText(tr.refs.team, a.team_id == null ? '—' : ctx.teamName(a.team_id));
      replaceChildren(tr.refs.status, h('span', { class: `status-dot ${status}`, 'aria-hidden': 'true' }), ` ${status === 'unknown' ? 'not seen yet' : status}`);
      setText(tr.refs.load, `${load ?? '?'} / ${capacity}${load != null && load >= capacity ? ' (at capacity)' : ''}`);
      tr.classList.toggle('at-capacity', load != null && load >= capacity);
      setText(tr.refs.holding, String(holding.get(a.id) || 0));
    },
  );
}

function renderPickers() {
  const pick = $('#reassign-agent');
  const keep = pick.value;
  const agents = [...ctx.agents.values()].filter((a) => a.active && a.roles.some((r) => r !== 'wallboard'));
  replaceChildren(
    pick,
    agents.map((a) => {
      const p = presence.get(a.id);
      const state = p ? `${p.status}, ${p.load ?? '?'}/${p.capacity}` : 'not seen yet';
      return h('option', { value: a.id }, `${a.name} (${state})`);
    }),
  );
  if (keep) pick.value = keep;
  const team = $('#move-team');
  const keepTeam = team.value;
  replaceChildren(team, h('option', { value: '' }, 'General queue'), [...ctx.teams.values()].map((t) => h('option', { value: t.id }, t.name)));
  team.value = keepTeam;
  for (const id of [...selected]) if (!ctx.queue.get(id)) selected.delete(id);
  setText($('#selected-count'), `${selected.size} selected`);
}

function renderTeams() {
  const groups = new Map();
  for (const s of ctx.queue.sorted()) {
    const k = s.team_id ?? 'general';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(s);
  }
  // The general queue first, then teams by name; every known team shows, even when empty.
  const keys = ['general', ...[...ctx.teams.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => t.id)];
  for (const k of groups.keys()) if (!keys.includes(k)) keys.push(k);
  reconcile(
    $('#team-queues'),
    keys.map((k) => ({ k, items: groups.get(k) || [] })),
    (g) => g.k,
    (g) => {
      const id = `team-h-${g.k}`;
      const section = h('section', { class: 'team-queue', 'aria-labelledby': id });
      section.refs = { title: h('h4', { id }), body: h('tbody') };
      section.append(
        section.refs.title,
        h(
          'table',
          { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Select')), h('th', { scope: 'col' }, 'Conversation'), h('th', { scope: 'col' }, 'Tier'), h('th', { scope: 'col' }, 'Risk'), h('th', { scope: 'col' }, 'Due'), h('th', { scope: 'col' }, 'Held by'))),
          section.refs.body,
        ),
      );
      return section;
    },
    (section, g) => {
      const t1 = g.items.filter((s) => s.priority === 'tier1').length;
      const name = g.k === 'general' ? 'General queue' : ctx.teamName(g.k);
      // A table of thousands helps nobody pick: the first ones in queue order, and the count of the rest.
      const shown = g.items.slice(0, TEAM_ROWS);
      const more = g.items.length - shown.length;
      setText(section.refs.title, `${name}: ${g.items.length} waiting (tier 1: ${t1}, tier 2: ${g.items.length - t1})${more ? ` — the first ${shown.length} shown; filter the Queue view to reach the other ${more}` : ''}`);
      reconcile(section.refs.body, shown, (s) => s.id, makeQueueRow, updateQueueRow);
    },
  );
}

function makeQueueRow(s) {
  const tr = h('tr', { dataset: { conversationId: s.id } });
  const box = h('input', { type: 'checkbox', id: `sel-${s.id}`, class: 'select-conv' });
  box.addEventListener('change', () => {
    if (box.checked) selected.add(s.id);
    else selected.delete(s.id);
    setText($('#selected-count'), `${selected.size} selected`);
  });
  tr.refs = { box, label: h('label', { for: `sel-${s.id}` }), tier: h('td'), risk: h('td'), due: h('td'), holder: h('td', { class: 'holder' }) };
  tr.append(h('td', {}, box), h('td', {}, tr.refs.label), tr.refs.tier, tr.refs.risk, tr.refs.due, tr.refs.holder);
  return tr;
}

function updateQueueRow(tr, s) {
  tr.dueAt = s.due_at;
  tr.refs.box.checked = selected.has(s.id);
  setText(tr.refs.label, `#${s.id} ${s.customer_name || `customer #${s.customer_id}`} · ${s.network} ${s.origin_visibility}`);
  setText(tr.refs.tier, s.priority === 'tier1' ? 'Tier 1' : 'Tier 2');
  setText(tr.refs.risk, String(s.risk));
  setText(tr.refs.due, breachText(s.due_at));
  const left = secondsUntil(s.due_at);
  tr.classList.toggle('breached', left !== null && left < 0);
  setText(tr.refs.holder, s.assignee_id == null ? 'Unassigned' : ctx.agentName(s.assignee_id));
}

async function reassign() {
  const ids = [...selected];
  const agentId = Number($('#reassign-agent').value);
  const out = $('#reassign-result');
  if (!ids.length) return setText(out, 'Select one or more conversations first.');
  if (!agentId) return setText(out, 'Pick an agent.');
  try {
    const ack = await ctx.live.send({ type: 'reassign', conversation_ids: ids, agent_id: agentId });
    const failed = ack.results.filter((r) => r.error);
    for (const r of ack.results) if (!r.error) selected.delete(r.conversation_id);
    setText(
      out,
      `Moved ${ack.results.length - failed.length} of ${ids.length} to ${ctx.agentName(agentId)}.` +
        (failed.length ? ` Not moved: ${failed.map((r) => `#${r.conversation_id} (${humanize(r.error.message, ctx.agentName)})`).join(', ')}.` : ''),
    );
    renderAll();
  } catch (e) {
    setText(out, `Reassignment refused: ${plainError(e, ctx.agentName)}`);
  }
}

async function moveTeam() {
  const ids = [...selected];
  const out = $('#reassign-result');
  if (!ids.length) return setText(out, 'Select one or more conversations first.');
  const value = $('#move-team').value;
  const teamId = value === '' ? null : Number(value);
  const results = await Promise.allSettled(ids.map((id) => ctx.api.post(`/api/v1/conversations/${id}/team`, { team_id: teamId })));
  const failed = results.map((r, i) => [r, ids[i]]).filter(([r]) => r.status === 'rejected');
  for (const [r, id] of results.map((r, i) => [r, ids[i]])) if (r.status === 'fulfilled') selected.delete(id);
  setText(out, `Moved ${ids.length - failed.length} of ${ids.length} to ${ctx.teamName(teamId)}.${failed.length ? ` Not moved: ${failed.map(([r, id]) => `#${id} (${r.reason.message})`).join(', ')}.` : ''}`);
  renderAll();
}

function alertTime(a) {
  // An alert is about its window; it is fresh while that window is recent.
  const start = Date.parse(a.window_start || a.created_at || 0);
  return start + (a.window_secs || 0) * 1000;
}

function renderSpike() {
  const now = Date.now();
  const fresh = alerts.filter((a) => now - alertTime(a) < SPIKE_FRESH_SECS * 1000);
  const el = $('#spike');
  el.dataset.state = fresh.length ? 'spike' : 'calm';
  setText(
    el,
    fresh.length
      ? `Spike: ${fresh.map((a) => `${a.topic} — ${a.count} messages in ${Math.round((a.window_secs || 300) / 60)} min, ${Math.round(a.ratio * 10) / 10}× usual`).join('; ')}`
      : 'No spike: volume is normal',
  );
  reconcile(
    $('#alerts-list'),
    alerts.slice(0, 10),
    (a) => a.id,
    (a) =>
      h(
        'li',
        {},
        h('strong', {}, a.topic),
        ` · ${a.count} messages (baseline ${Math.round((a.baseline ?? 0) * 10) / 10}) · window from ${when(a.window_start)}`,
        (a.samples || []).length ? h('ul', { class: 'small' }, a.samples.slice(0, 3).map((m) => h('li', {}, `“${m.text}”`))) : '',
      ),
    () => {},
  );
}
