// The wallboard: the live floor figures (GET /api/v1/metrics/live, then `wallboard.tick` frames
// on the `wallboard` topic), large enough to read across a room. It reconnects and resumes by
// itself: a wall display has nobody at the keyboard.
//
// One brand account's floor: `?brand_account_id=N` (or the header's select) shows the figures of
// GET /api/v1/metrics/live?brand_account_id=N. Ticks carry the whole floor's figures, so with a
// brand chosen a tick only says "something changed" and the brand's figures are read again.
//
// "Needed / online now" (issue 27): the figures' `staffing` — agents the staffing plan needs this
// hour against agents online.

import { ApiError, createApi, login } from './api.js';
import { plainError } from './errors.js';
import { LiveClient } from './live.js';
import { $, brandLabel, compactDuration, duration, h, percent, reconcile, replaceChildren, setText, when } from './util.js';

// A wall display keeps its sign-in across browser restarts, hence localStorage.
const TOKEN_KEY = 'chorus_wallboard_token';
let token = null;
const api = createApi(() => token);
let teams = new Map();
let figures = null;
let lastUpdate = null;
const crises = new Map();
const slaEvents = [];
let brands = []; // GET /api/v1/brand-accounts
let brandId = null; // the brand account shown, or null for the whole floor

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
  const wanted = Number(params.get('brand_account_id'));
  brandId = Number.isInteger(wanted) && wanted > 0 ? wanted : null;
  $('#wb-login-form').addEventListener('submit', onLogin);
  $('#wb-brand').addEventListener('change', (e) => chooseBrand(e.target.value ? Number(e.target.value) : null));
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
    setText($('#wb-login-error'), err.code === 'unauthorized' ? 'Wrong email or password.' : plainError(err));
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
    await loadBrands();
    let current;
    try {
      current = await api.get(metricsPath());
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
  live.on('tick', (data) => (brandId == null ? show(data) : refreshSoon()));
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
  // A value that fits at one size may not at another (a window resized, a display rotated).
  new ResizeObserver(() => fitAll()).observe($('#wb'));
}

// ---------------------------------------------------------------- brand accounts

function metricsPath() {
  return brandId == null ? '/api/v1/metrics/live' : `/api/v1/metrics/live?brand_account_id=${brandId}`;
}

async function loadBrands() {
  try {
    brands = await api.get('/api/v1/brand-accounts');
  } catch (e) {
    console.warn('brand accounts', e);
    brands = [];
  }
  renderBrands();
}

function renderBrands() {
  const select = $('#wb-brand');
  replaceChildren(select, h('option', { value: '' }, 'All brand accounts'), brands.map((b) => h('option', { value: b.id }, brandLabel(b))));
  // An account the list does not name (yet) still shows: the URL asked for it.
  if (brandId != null && !brands.some((b) => b.id === brandId)) select.append(h('option', { value: brandId }, `Account #${brandId}`));
  select.value = brandId == null ? '' : String(brandId);
  $('#wb-brand-wrap').hidden = brands.length < 2 && brandId == null;
  const chosen = brands.find((b) => b.id === brandId);
  const name = $('#wb-brand-name');
  name.hidden = brandId == null;
  setText(name, brandId == null ? '' : ` · ${chosen ? brandLabel(chosen) : `account #${brandId}`}`);
  document.title = brandId == null ? 'Chorus wallboard' : `${chosen?.name ?? `Account #${brandId}`} · Chorus wallboard`;
}

/** Shows another account's floor (null: the whole floor), kept in the address so a reload keeps it. */
function chooseBrand(id) {
  brandId = id;
  const params = new URLSearchParams(location.search);
  if (id == null) params.delete('brand_account_id');
  else params.set('brand_account_id', String(id));
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}`);
  renderBrands();
  refreshSoon();
}

/** Reads the chosen account's figures again: one request at a time, the latest wish wins. */
let fetching = false;
let again = false;
let fetchError = null; // shown instead of the figures' age until a read succeeds
async function refreshSoon() {
  if (fetching) {
    again = true;
    return;
  }
  fetching = true;
  try {
    const wanted = brandId;
    const data = await api.get(metricsPath());
    if (wanted === brandId) show(data);
    fetchError = null;
  } catch (e) {
    fetchError = `figures unavailable: ${plainError(e)}`;
    tick();
  } finally {
    fetching = false;
    if (again) {
      again = false;
      setTimeout(refreshSoon, 1000); // a busy floor ticks twice a second: once a second is plenty
    }
  }
}

/** Renders one figures object (the REST answer or a tick's data). */
function show(data) {
  figures = data;
  lastUpdate = Date.now();
  const q = data.queue;
  const a = data.agents;
  const today = data.today;
  const all = data.sla_today?.all;
  setValue('#wb-depth', q.depth);
  setValue('#wb-tier1', q.tier1);
  setValue('#wb-tier2', q.tier2);
  setValue('#wb-unassigned', q.unassigned);
  setValue('#wb-overdue', q.overdue);
  $('#wb-overdue-tile').classList.toggle('bad', q.overdue > 0);
  setValue('#wb-escalated', q.escalated);
  setValue('#wb-online', a.online);
  setValue('#wb-available', a.available);
  setValue('#wb-atcap', a.at_capacity);
  setValue('#wb-away', a.away);
  showStaffing(data.staffing);
  setValue('#wb-frt', compactDuration(today.frt_mean_secs));
  setValue('#wb-art', compactDuration(all?.art_mean_secs));
  setValue('#wb-attainment', percent(today.attainment));
  setValue('#wb-first-responses', today.first_responses);
  setValue('#wb-breaches', all ? all.breaches : '—');
  $('#wb-breaches-tile').classList.toggle('bad', !!all && all.breaches > 0);
  renderTeams(data);
  tick();
}

/**
 * Agents needed now (the staffing plan's current hour, issue 27) against agents online now, red
 * when fewer are on than needed. A server without forecasting sends no `staffing`: no tile. One
 * that cannot forecast yet sends null: "—".
 */
function showStaffing(s) {
  const tile = $('#wb-staffing-tile');
  tile.hidden = s === undefined;
  const known = s != null && s.needed != null && s.online != null;
  const short = known && s.online < s.needed;
  tile.classList.toggle('bad', short);
  tile.dataset.state = !known ? 'none' : short ? 'under' : 'ok';
  tile.title = !known
    ? 'No forecast yet: not enough history.'
    : `${s.needed} ${s.needed === 1 ? 'agent' : 'agents'} needed now, ${s.online} online${short ? `: ${s.needed - s.online} short` : ''}.`;
  setValue('#wb-staffing', known ? `${s.needed} / ${s.online}` : '—');
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

/** Sets a tile's value; when it changed, makes sure it fits its tile. */
function setValue(selector, value) {
  const el = $(selector);
  const text = String(value ?? '');
  if (el.textContent === text) return;
  el.textContent = text;
  fit(el);
}

// The headline size of a tile's value, in the tile's ems (as `.tile .value` in style.css).
const VALUE_EM = 2.5;

/**
 * Sizes a tile's value to the largest size up to the headline size at which this very text fits
 * its tile. The CSS alone keeps values inside (sized for the widest value of the tile's kind,
 * e.g. "23h 59m"); this lets a shorter one ("2d 3h") be as large as it can, and shrinks what the
 * CSS did not foresee (a five-digit queue, a 100-day wait).
 */
function fit(el) {
  el.style.fontSize = '';
  const room = el.clientWidth;
  if (!room || !el.textContent) return;
  const range = document.createRange();
  range.selectNodeContents(el);
  const width = range.getBoundingClientRect().width;
  if (!width) return;
  const size = parseFloat(getComputedStyle(el).fontSize);
  const headline = parseFloat(getComputedStyle(el.parentElement).fontSize) * VALUE_EM;
  // Text width grows in proportion to the font size; keep a little room for rounding.
  const best = Math.min(headline, (size * room * 0.96) / width);
  if (Math.abs(best - size) >= 0.5) el.style.fontSize = `${Math.floor(best * 10) / 10}px`;
}

function fitAll() {
  for (const el of document.querySelectorAll('.tile .value')) fit(el);
}

function teamName(id) {
  return id == null ? 'General' : teams.get(id)?.name ?? `Team ${id}`;
}

/** Once a second: the clock, the oldest wait (it grows between ticks) and the freshness line. */
function tick() {
  setText($('#wb-clock'), new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  if (!figures) return;
  const since = figures.queue.oldest_waiting_since;
  setValue('#wb-oldest', since ? compactDuration((Date.now() - Date.parse(since)) / 1000) : '—');
  if (fetchError) setText($('#wb-updated'), fetchError);
  else if (lastUpdate) setText($('#wb-updated'), `figures ${Math.round((Date.now() - lastUpdate) / 1000)} s old`);
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
