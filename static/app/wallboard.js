// The wallboard: the live floor figures (GET /api/v1/metrics/live, then `wallboard.tick` frames
// on the `wallboard` topic), large enough to read across a room. It reconnects and resumes by
// itself: a wall display has nobody at the keyboard.

import { ApiError, createApi, login } from './api.js';
import { LiveClient } from './live.js';
import { $, duration, h, percent, reconcile, replaceChildren, setText, when } from './util.js';

// A wall display keeps its sign-in across browser restarts, hence localStorage.
const TOKEN_KEY = 'chorus_wallboard_token';
let token = null;
const api = createApi(() => token);
let teams = new Map();
let figures = null;
let lastUpdate = null;
const crises = new Map();
const slaEvents = [];

function boot() {
  // ?token=… lets a display be set up from a URL; it is stored and taken out of the address bar.
  const params = new URLSearchParams(location.search);
  if (params.has('token')) {
    localStorage.setItem(TOKEN_KEY, params.get('token'));
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}`);
  }
  token = localStorage.getItem(TOKEN_KEY);
  $('#wb-login-form').addEventListener('submit', onLogin);
  if (token) start();
  else showLogin();
}

function showLogin(message = '') {
  $('#wb').hidden = true;
  $('#wb-login').hidden = false;
  setText($('#wb-login-error'), message);
  $('#wb-email').focus();
}

async function onLogin(e) {
  e.preventDefault();
  try {
    const res = await login($('#wb-email').value.trim(), $('#wb-password').value);
    token = res.token;
    localStorage.setItem(TOKEN_KEY, token);
    $('#wb-password').value = '';
    start();
  } catch (err) {
    setText($('#wb-login-error'), err.code === 'unauthorized' ? 'Wrong email or password.' : err.message);
  }
}

function start() {
  $('#wb-login').hidden = true;
  $('#wb').hidden = false;
  const live = new LiveClient({
    token: () => token,
    topics: ['wallboard', 'crisis'],
    checkAuth: async () => {
      try {
        await api.get('/api/v1/me');
        return true;
      } catch (e) {
        return !(e instanceof ApiError && e.status === 401);
      }
    },
  });
  live.setLoader(async () => {
    let current;
    try {
      current = await api.get('/api/v1/metrics/live');
    } catch (e) {
      if (e.status === 403) {
        // Retrying cannot help: say so and stop.
        live.stop();
        setText($('#wb-conn'), 'This account may not show the wallboard: it needs the wallboard or supervisor role.');
        return;
      }
      throw e;
    }
    const [teamList, crisisList] = await Promise.all([api.get('/api/v1/teams'), api.get('/api/v1/crises?status=active')]);
    teams = new Map(teamList.map((t) => [t.id, t]));
    crises.clear();
    for (const c of crisisList) crises.set(c.id, c);
    renderCrises();
    show(current);
  });
  live.on('tick', (data) => show(data));
  live.on('status', (state, detail) => {
    const el = $('#wb-conn');
    el.dataset.state = state;
    setText(el, state === 'live' ? 'Live' : `${state === 'resyncing' ? 'Catching up' : 'Reconnecting'}${detail ? ` (${detail})` : ''}…`);
  });
  live.on('unauthorized', () => {
    localStorage.removeItem(TOKEN_KEY);
    token = null;
    showLogin('The wallboard session ended; please sign in again.');
  });
  live.on('subscribe_error', (e) => {
    if (e.code !== 'forbidden') setText($('#wb-conn'), `Live updates refused: ${e.message}`);
  });
  for (const kind of ['sla.warning', 'sla.breach']) {
    live.on(kind, (d) => {
      slaEvents.unshift({ kind, ...d, seen: Date.now() });
      slaEvents.length = Math.min(slaEvents.length, 6);
      renderSla();
    });
  }
  live.on('crisis.declared', (c) => {
    crises.set(c.id, c);
    renderCrises();
  });
  live.on('crisis.updated', (c) => {
    if (crises.has(c.id)) crises.set(c.id, c);
    renderCrises();
  });
  live.on('crisis.resolved', (c) => {
    crises.delete(c.id);
    renderCrises();
  });
  live.start();
  setInterval(tick, 1000);
  tick();
}

/** Renders one figures object (the REST answer or a tick's data). */
function show(data) {
  figures = data;
  lastUpdate = Date.now();
  const q = data.queue;
  const a = data.agents;
  const today = data.today;
  const all = data.sla_today?.all;
  setText($('#wb-depth'), q.depth);
  setText($('#wb-tier1'), q.tier1);
  setText($('#wb-tier2'), q.tier2);
  setText($('#wb-unassigned'), q.unassigned);
  setText($('#wb-overdue'), q.overdue);
  $('#wb-overdue-tile').classList.toggle('bad', q.overdue > 0);
  setText($('#wb-escalated'), q.escalated);
  setText($('#wb-online'), a.online);
  setText($('#wb-available'), a.available);
  setText($('#wb-atcap'), a.at_capacity);
  setText($('#wb-away'), a.away);
  setText($('#wb-frt'), short(today.frt_mean_secs));
  setText($('#wb-art'), short(all?.art_mean_secs));
  setText($('#wb-attainment'), percent(today.attainment));
  setText($('#wb-first-responses'), today.first_responses);
  setText($('#wb-breaches'), all ? all.breaches : '—');
  $('#wb-breaches-tile').classList.toggle('bad', !!all && all.breaches > 0);
  renderTeams(data);
  tick();
}

function renderTeams(data) {
  const perTeam = new Map();
  const row = (id) => {
    const k = id ?? 'general';
    if (!perTeam.has(k)) perTeam.set(k, { id, tier1: 0, tier2: 0, figures: null });
    return perTeam.get(k);
  };
  for (const t of data.queue.by_team || []) Object.assign(row(t.team_id), { tier1: t.tier1, tier2: t.tier2 });
  for (const t of data.teams_today || []) row(t.team_id).figures = t.figures;
  const rows = [...perTeam.values()].sort((a, b) => (a.id == null ? -1 : b.id == null ? 1 : teamName(a.id).localeCompare(teamName(b.id))));
  reconcile(
    $('#wb-team-rows'),
    rows,
    (r) => r.id ?? 'general',
    () => {
      const tr = h('tr');
      tr.cells_ = [h('th', { scope: 'row' }), h('td'), h('td'), h('td'), h('td'), h('td')];
      tr.append(...tr.cells_);
      return tr;
    },
    (tr, r) => {
      const f = r.figures;
      const values = [teamName(r.id), r.tier1, r.tier2, f?.frt_mean_secs == null ? '—' : duration(f.frt_mean_secs), percent(f?.frt_attainment), f ? f.breaches : '—'];
      values.forEach((v, i) => setText(tr.cells_[i], v));
    },
  );
}

/** A wait in few characters, for a tile read from across the room: "42 s", "14 min", "1 h 05". */
function short(secs) {
  if (secs === null || secs === undefined) return '—';
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
}

function teamName(id) {
  return id == null ? 'General' : teams.get(id)?.name ?? `Team ${id}`;
}

/** Once a second: the clock, the oldest wait (it grows between ticks) and the freshness line. */
function tick() {
  setText($('#wb-clock'), new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  if (!figures) return;
  const since = figures.queue.oldest_waiting_since;
  setText($('#wb-oldest'), since ? short((Date.now() - Date.parse(since)) / 1000) : '—');
  if (lastUpdate) setText($('#wb-updated'), `figures ${Math.round((Date.now() - lastUpdate) / 1000)} s old`);
}

function renderSla() {
  reconcile(
    $('#wb-sla'),
    slaEvents,
    (e) => `${e.kind}-${e.conversation_id}-${e.due_at}`,
    (e) =>
      h(
        'li',
        { class: e.kind === 'sla.breach' ? 'bad' : 'warn' },
        e.kind === 'sla.breach' ? 'Breached: ' : 'Due soon: ',
        `conversation ${e.conversation_id} (${e.priority}, ${e.due.replace('_', ' ')} due ${when(e.due_at)})`,
      ),
    () => {},
  );
}

function renderCrises() {
  const box = $('#wb-crisis');
  box.hidden = crises.size === 0;
  replaceChildren(box, [...crises.values()].map((c) => h('div', {}, h('strong', {}, `Crisis: ${c.name}`), ` · ${c.severity} · ${c.holding_message}`)));
}

boot();
