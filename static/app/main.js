// The console: sign-in, the views a role may use, the live connection and what the views share
// (agents, teams, active crises, notifications, settings, the keyboard).

import { ApiError, createApi, login } from './api.js';
import { attend, setBaseTitle } from './attention.js';
import { setConnectionState } from './connection.js';
import { plainError } from './errors.js';
import { LiveClient } from './live.js';
import { QueueStore } from './queue.js';
import { applyRememberedLook, loadSettings, openSettings, sayWith, wireSettingsDialog } from './settings.js';
import { shortcut, showShortcuts, wireShortcuts } from './shortcuts.js';
import { focusNewestToast, toast } from './toasts.js';
import { $, h, refreshTimes, replaceChildren, setText } from './util.js';
import * as agentView from './agent.js';
import * as supervisorView from './supervisor.js';
import * as forecastView from './forecast.js'; // issue 27: forecast and staffing
import * as approverView from './approver.js';
import * as escalationsView from './escalations.js';
import * as crisisView from './crisis.js';
import * as archiveView from './archive.js';
import * as auditView from './audit.js';
import * as adminView from './admin.js'; // issue 25: admin screens
// Issue 25 (floor): the alerts panel, shared by the supervisor and crisis views.
import * as alertsPanel from './alerts.js';

// sessionStorage: each tab signs in on its own (two agents may share a browser), and a reload
// keeps the session.
const TOKEN_KEY = 'chorus_token';
let token = sessionStorage.getItem(TOKEN_KEY);
const api = createApi(() => token);

// `may(roles, permissions)`: the role views go by roles; the archive and audit views by the
// permissions GET /api/v1/me lists.
// `key`: "g" then this key shows the view.
const VIEWS = [
  { id: 'agent', label: 'Queue', key: 'q', module: agentView, may: (r) => !(r.length === 1 && r[0] === 'wallboard') },
  { id: 'supervisor', label: 'Supervisor', key: 'v', module: supervisorView, may: (r) => has(r, 'supervisor') },
  { id: 'forecast', label: 'Forecast', key: 'f', module: forecastView, may: (r) => has(r, 'supervisor') },
  { id: 'approvals', label: 'Approvals', key: 'p', module: approverView, may: (r) => has(r, 'approver', 'legal', 'supervisor') },
  { id: 'escalations', label: 'Escalations', key: 'e', module: escalationsView, may: (r) => has(r, 'approver', 'legal', 'supervisor') },
  { id: 'crisis', label: 'Crisis', key: 'c', module: crisisView, may: (r) => has(r, 'approver', 'legal', 'supervisor') },
  { id: 'archive', label: 'Archive', key: 'r', module: archiveView, may: (r, p) => p.includes('archive.search') },
  { id: 'audit', label: 'Audit', key: 'l', module: auditView, may: (r, p) => p.includes('audit.read') },
  // Admin screens: anyone whose permissions allow one of them (admin.js lists which).
  { id: 'admin', label: 'Admin', key: 'a', module: adminView, may: (r, p) => adminView.allowed(p) },
];

const GROUP_NAME = { team_lead: 'Team lead', pr: 'PR', legal: 'Legal', team: 'another team' };

/** The groups one decides approvals and works escalations for (docs/protocol.md, "Approvals"). */
function groupsOf(roles) {
  if (roles.includes('admin')) return ['team_lead', 'pr', 'legal'];
  return [roles.includes('supervisor') && 'team_lead', roles.includes('approver') && 'pr', roles.includes('legal') && 'legal'].filter(Boolean);
}

/** True when the roles include one of `wanted` (admins may do everything). */
function has(roles, ...wanted) {
  return roles.includes('admin') || wanted.some((w) => roles.includes(w));
}

async function boot() {
  applyRememberedLook();
  $('#login-form').addEventListener('submit', onLogin);
  if (!token) return showLogin();
  try {
    const me = await api.get('/api/v1/me');
    start(me);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      token = null;
      return showLogin('Your session has ended; please sign in again.');
    }
    showLogin(`Cannot reach Chorus: ${plainError(e)}`);
  }
}

function showLogin(message = '') {
  $('#login-view').hidden = false;
  setText($('#login-error'), message);
  $('#login-email').focus();
}

async function onLogin(e) {
  e.preventDefault();
  const button = e.submitter || $('#login-form button');
  button.disabled = true;
  setText($('#login-error'), '');
  try {
    const res = await login($('#login-email').value.trim(), $('#login-password').value);
    token = res.token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#login-password').value = '';
    // The login answer has no permissions; /me lists them (they gate the archive and audit views).
    const me = await api.get('/api/v1/me').catch(() => res.agent);
    start(me);
  } catch (err) {
    setText($('#login-error'), err.code === 'unauthorized' ? 'Wrong email or password.' : err.code === 'locked' ? 'Too many wrong passwords: this account is locked for a while. Try again later.' : plainError(err));
  } finally {
    button.disabled = false;
  }
}

function topicsFor(roles) {
  const topics = ['queue', 'presence', 'crisis'];
  if (has(roles, 'supervisor', 'approver', 'legal')) topics.push('approvals', 'escalations', 'alerts');
  // Supervisors also get the wallboard's figures (agents online, available, at capacity).
  if (has(roles, 'supervisor')) topics.push('wallboard');
  return topics;
}

async function start(me) {
  $('#login-view').hidden = true;
  $('#session').hidden = false;
  setText($('#whoami'), `${me.name} (${me.roles.join(', ')})`);
  // The agent's own look and alerts, before the views draw (defaults on an older server).
  await loadSettings(api);
  wireSettingsDialog();
  sayWith((text) => toast(text));

  const live = new LiveClient({
    token: () => token,
    topics: topicsFor(me.roles),
    checkAuth: async () => {
      try {
        await api.get('/api/v1/me');
        return true;
      } catch (e) {
        return !(e instanceof ApiError && e.status === 401);
      }
    },
  });

  const ctx = makeContext(me, live);
  const views = VIEWS.filter((v) => v.may(me.roles, me.permissions || []));
  if (!views.length) {
    replaceChildren($('#main'), h('p', { class: 'card' }, 'This account is for the wallboard: ', h('a', { href: '/wallboard' }, 'open the wallboard'), '.'));
  }
  // The connection's state first: views read it as they wire their buttons.
  live.on('status', (state, detail) => showConnection(state, detail));
  for (const v of views) v.module.init(ctx);
  alertsPanel.init(ctx); // issue 25 (floor): alerts in the supervisor and crisis views
  setupNav(views);
  wireGlobalShortcuts(views);

  // One loader for the whole page: everything a view shows comes from it or from events after.
  live.setLoader(async (snapshot, reason) => {
    // Agents, teams and crises first: every view names people and teams.
    await loadShared(ctx);
    await Promise.all(ctx.loaders.map((fn) => fn(snapshot, reason)));
  });
  live.on('unauthorized', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  live.on('subscribe_error', (e) => toast(`Live updates refused: ${plainError(e)}`));
  // Roles changed by an admin: rebuild the console for what they now allow.
  live.on('access', (f) => {
    const same = JSON.stringify(f.agent.roles) === JSON.stringify(ctx.me?.roles);
    if (!same) location.reload();
  });

  $('#presence-select').addEventListener('change', async (e) => {
    try {
      await live.send({ type: 'presence', status: e.target.value });
      toast(`You are ${e.target.value}.`);
    } catch (err) {
      toast(`Could not change your status: ${plainError(err)}`);
    }
  });
  $('#logout').addEventListener('click', async () => {
    live.stop();
    try {
      await api.post('/api/v1/auth/logout');
    } catch {
      // signing out locally is what matters
    }
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  // "5 min ago" becomes "6 min ago".
  setInterval(() => refreshTimes(), 30000);

  live.start();
}

/** Keys for every role: the shortcut list, settings, notifications, and "g" + a key per view. */
function wireGlobalShortcuts(views) {
  wireShortcuts();
  shortcut('?', 'Show every keyboard shortcut', showShortcuts, { group: 'General' });
  shortcut('g s or ,', 'Settings (theme, density, sound, notifications)', openSettings, { group: 'General' });
  shortcut('t', 'Go to the newest notification', () => focusNewestToast() || announce('No notifications.'), { group: 'General' });
  for (const v of views) {
    shortcut(`g ${v.key}`, `Go to ${v.label}`, () => {
      location.hash = `#${v.id}`;
      $(`#view-${v.id}`)?.querySelector('h2, [tabindex="-1"]')?.focus();
    }, { group: 'Views' });
  }
  shortcut('Escape', 'Leave the text box you are in (single keys work again), or close a dialog', null, { group: 'General', info: true });
}

/** What every view may use. */
function makeContext(me, live) {
  const ctx = {
    api,
    live,
    me,
    roles: me.roles,
    has: (...wanted) => has(me.roles, ...wanted),
    groups: groupsOf(me.roles), // team_lead, pr, legal: whose approvals and escalations are ours
    groupName: (g) => GROUP_NAME[g] ?? g,
    agents: new Map(),
    teams: new Map(),
    crises: new Map(), // active crises by id
    loaders: [],
    crisisListeners: new Set(),
    agentName: (id) => agentName(ctx, id),
    teamName: (id) => (id == null ? 'General queue' : ctx.teams.get(id)?.name ?? `team #${id}`),
    announce,
    toast,
    onCrisisChange: (fn) => ctx.crisisListeners.add(fn),
    crisisChanged: () => {
      renderCrisisBanner(ctx);
      for (const fn of ctx.crisisListeners) fn();
    },
  };
  ctx.queue = new QueueStore(api, live);

  live.on('crisis.declared', (c) => {
    const fresh = !ctx.crises.has(c.id);
    ctx.crises.set(c.id, c);
    announce(`Crisis declared: ${c.name}`);
    ctx.crisisChanged();
    if (fresh && c.declared_by !== me.id) {
      // The banner stays while it lasts; the notice calls attention to it.
      attend({ kind: 'crisis', title: `Crisis declared: ${c.name}`, text: `Crisis declared: ${c.name} (${c.severity}). ${c.holding_message}` });
    }
  });
  live.on('crisis.updated', (c) => {
    if (c.status === 'active') ctx.crises.set(c.id, c);
    ctx.crisisChanged();
  });
  live.on('crisis.response', (r) => {
    const c = ctx.crises.get(r.crisis_id);
    if (!c) return;
    // The crisis shows the newest version of each message type.
    c.responses = [...(c.responses || []).filter((x) => x.message_type !== r.message_type), r];
    ctx.crisisChanged();
  });
  live.on('crisis.resolved', (c) => {
    ctx.crises.delete(c.id);
    announce(`Crisis stood down: ${c.name}`);
    ctx.crisisChanged();
  });
  live.on('agent.mentioned', (d) => {
    const name = ctx.queue.get(d.conversation_id)?.customer_name;
    attend({
      kind: 'mentions',
      title: `${ctx.agentName(d.by)} mentioned you`,
      text: `${ctx.agentName(d.by)} mentioned you on ${name ? `${name}'s conversation` : `conversation ${d.conversation_id}`}: “${d.note?.text ?? ''}”`,
      conversationId: d.conversation_id,
      action: { label: 'Open', run: () => agentView.openConversation(d.conversation_id) },
      sticky: true,
    });
  });
  return ctx;
}

let agentsRefresh = null;
function agentName(ctx, id) {
  if (id == null) return 'nobody';
  if (id === ctx.me.id) return 'you';
  const a = ctx.agents.get(id);
  if (a) return a.name;
  // Someone created since we loaded the list: fetch it again (once) and show the id meanwhile.
  if (!agentsRefresh) {
    agentsRefresh = ctx.api
      .get('/api/v1/agents')
      .then((list) => {
        for (const x of list) ctx.agents.set(x.id, x);
        ctx.queue.changed();
      })
      .catch(() => {})
      .finally(() => setTimeout(() => (agentsRefresh = null), 5000));
  }
  return `agent #${id}`;
}

async function loadShared(ctx) {
  const [agents, teams, crises] = await Promise.all([
    api.get('/api/v1/agents'),
    api.get('/api/v1/teams'),
    api.get('/api/v1/crises?status=active'),
  ]);
  ctx.agents = new Map(agents.map((a) => [a.id, a]));
  ctx.teams = new Map(teams.map((t) => [t.id, t]));
  ctx.crises = new Map(crises.map((c) => [c.id, c]));
  ctx.crisisChanged();
}

function setupNav(views) {
  const nav = $('#views-nav');
  nav.hidden = views.length < 2;
  replaceChildren(
    nav,
    views.map((v) => h('a', { href: `#${v.id}`, id: `nav-${v.id}`, class: 'nav-link' }, v.label)),
  );
  const show = () => {
    const wanted = location.hash.slice(1);
    const current = views.find((v) => v.id === wanted) || views[0];
    for (const v of VIEWS) {
      const section = $(`#view-${v.id}`);
      if (section) section.hidden = v !== current;
      const link = $(`#nav-${v.id}`);
      if (link) link.toggleAttribute('aria-current', v === current);
      if (link && v === current) link.setAttribute('aria-current', 'page');
    }
    if (current) setBaseTitle(`${current.label} · Chorus`);
  };
  window.addEventListener('hashchange', show);
  show();
}

const CONN_TEXT = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  resyncing: 'Catching up…',
  stopped: 'Signed out',
  unauthorized: 'Session ended',
};

function showConnection(state, detail) {
  setConnectionState(state);
  const el = $('#conn');
  el.dataset.state = state;
  setText(el, detail && state !== 'live' ? `${CONN_TEXT[state] ?? state} (${detail})` : CONN_TEXT[state] ?? state);
}

function renderCrisisBanner(ctx) {
  const banner = $('#crisis-banner');
  const active = [...ctx.crises.values()];
  banner.hidden = active.length === 0;
  replaceChildren(
    banner,
    active.map((c) =>
      h(
        'div',
        { class: `crisis-item sev-${c.severity}`, dataset: { crisisId: c.id } },
        h('strong', {}, `Crisis: ${c.name}`),
        ` · severity ${c.severity}`,
        c.hold_replies ? ' · replies in its conversations wait for PR approval' : '',
        h('div', { class: 'holding' }, 'Holding message: ', h('q', {}, c.holding_message)),
        (c.responses || []).length
          ? h(
              'details',
              {},
              h('summary', {}, `Approved responses (${c.responses.length})`),
              h('ul', {}, c.responses.map((r) => h('li', {}, h('b', {}, `${r.message_type} (v${r.version}): `), r.text))),
            )
          : '',
      ),
    ),
  );
}

/** Says something important to screen readers at once (and nothing visually). */
function announce(text) {
  const el = $('#announcer');
  el.textContent = '';
  // A fresh text node in a live region is what screen readers notice.
  setTimeout(() => (el.textContent = text), 30);
}

boot();
