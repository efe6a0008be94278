// The Admin view (issue 25, "Admin screens"): one screen per resource that admins and team
// leads used to set up only through the REST API, each shown to those whose permissions allow
// it (the API's own permission table, as GET /api/v1/me lists it). A side list of screens (an
// ARIA tab list: arrow keys move, the panel follows), each a table with a form.
//
// Live: the view follows the `settings` topic; `settings.changed` ({resource, id, action, by})
// makes every screen showing that resource read it again, leaving an open form as it is (the
// form says so when its own row changed). The topic is subscribed on its own, after the
// console's subscription, so a server without it refuses only this.

import { Screen } from './admin-kit.js';
import { agents, teams } from './admin-people.js';
import { approvalRules, examples, guides } from './admin-rules.js';
import { brandAccounts, listening, slaPolicies } from './admin-service.js';
import { apiKeys, deliveriesChanged, webhooks } from './admin-integrations.js';
import { crisisRota, watchedTerms } from './admin-crisis.js';
import { $, h, replaceChildren, setText } from './util.js';

const SCREENS = [agents, teams, approvalRules, examples, guides, slaPolicies, listening, brandAccounts, crisisRota, watchedTerms, apiKeys, webhooks];
const REMEMBER = 'chorus_admin_screen';

/** True when the permissions allow at least one admin screen. */
export function allowed(permissions = []) {
  return SCREENS.some((d) => permissions.includes(d.permission));
}

let ctx;
let screens = [];
let current = null;
let section;

export function init(c) {
  ctx = c;
  section = $('#view-admin');
  const perms = ctx.me.permissions || [];
  screens = SCREENS.filter((d) => perms.includes(d.permission)).map((d) => new Screen(d, ctx));
  if (!section || !screens.length) return;

  const tabs = screens.map((s) =>
    h('button', { type: 'button', role: 'tab', class: 'adm-tab', id: `adm-tab-${s.def.id}`, 'aria-controls': `adm-panel-${s.def.id}`, 'aria-selected': 'false', tabindex: '-1', dataset: { screen: s.def.id } }, s.def.title),
  );
  const list = h('div', { class: 'adm-tabs', role: 'tablist', 'aria-orientation': 'vertical', 'aria-label': 'Admin screens' }, tabs);
  list.addEventListener('click', (e) => {
    const tab = e.target.closest('[role="tab"]');
    if (tab) show(tab.dataset.screen, { focusTab: true });
  });
  list.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    const to = { ArrowDown: i + 1, ArrowRight: i + 1, ArrowUp: i - 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = tabs[(to + tabs.length) % tabs.length];
    show(next.dataset.screen, { focusTab: true });
  });

  replaceChildren(
    section,
    h(
      'div',
      { class: 'adm-head' },
      h('h2', { id: 'admin-h', tabindex: '-1' }, 'Admin'),
      h('p', { id: 'admin-live', class: 'small muted', role: 'status', dataset: { state: 'connecting' } }, 'Changes by other admins will appear here as they happen.'),
    ),
    list,
    h('div', { class: 'adm-panels' }, screens.map((s) => s.render())),
  );

  const wanted = sessionStorage.getItem(REMEMBER);
  show(screens.some((s) => s.def.id === wanted) ? wanted : screens[0].def.id);

  // Read the screen shown the first time the view is (once the console has its agents and teams).
  let ready = false;
  const look = () => {
    if (section.hidden) return;
    // Shown by "g a": the keyboard goes to the heading (nothing else holds it now).
    const a = document.activeElement;
    if (!a || a === document.body || a.closest('[hidden]')) $('#admin-h').focus();
    if (ready && current && !current.loaded) current.load();
  };
  new MutationObserver(look).observe(section, { attributes: true, attributeFilter: ['hidden'] });
  ctx.loaders.push(async () => {
    ready = true;
    // After a reconnection that lost events: every screen read so far is read again.
    for (const s of screens) if (s.loaded) s.load();
    look();
  });
  follow();
}

/** Shows one screen (reading it the first time). */
function show(id, { focusTab = false } = {}) {
  const next = screens.find((s) => s.def.id === id) || screens[0];
  current = next;
  sessionStorage.setItem(REMEMBER, next.def.id);
  for (const s of screens) {
    const on = s === next;
    const tab = $(`#adm-tab-${s.def.id}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    s.panel.hidden = !on;
  }
  if (focusTab) $(`#adm-tab-${next.def.id}`).focus();
  // The first look reads it; coming back reads it again (quietly: the table stays meanwhile).
  if (section && !section.hidden && ctx.agents.size) next.load();
}

/** `settings` events: every screen showing the resource reads it again. */
function follow() {
  const live = ctx.live;
  let subscribedHere = false; // on the current socket
  let everSubscribed = false;
  live.on('hello', () => (subscribedHere = false));
  live.on('status', (state) => {
    if (state !== 'live' || subscribedHere) return;
    subscribedHere = true;
    live.send({ type: 'subscribe', topics: ['settings'] }).then(
      () => {
        liveNote('on', 'Live: changes by other admins appear here as they happen.');
        // Changes made while we were away were not replayed: read again what is on screen.
        if (everSubscribed) for (const s of screens) s.changed();
        everSubscribed = true;
      },
      (e) => {
        if (e.code === 'validation' || e.code === 'forbidden' || e.code === 'invalid_payload') {
          liveNote('unsupported', 'This server does not announce changes to these settings: reopen a screen to see other admins’ changes.');
        } else {
          subscribedHere = false; // dropped: the next connection tries again
        }
      },
    );
  });
  live.on('settings.changed', (d) => {
    for (const s of screens) if (s.def.resources.includes(d?.resource)) s.changed(d);
    if (d?.resource === 'webhook_subscriptions') deliveriesChanged();
    if (d?.resource === 'agents' || d?.resource === 'teams') refreshDirectory(d.resource);
  });
  // Crises are live for everyone already (the `crisis` topic): the rota screen follows them too.
  ctx.onCrisisChange(() => screens.find((s) => s.def.id === 'rota')?.changed());
}

function liveNote(state, text) {
  const el = $('#admin-live');
  if (!el) return;
  el.dataset.state = state;
  setText(el, text);
}

/** Keeps the console's names of agents and teams current (other views show them). */
async function refreshDirectory(resource) {
  try {
    if (resource === 'agents') for (const a of await ctx.api.get('/api/v1/agents')) ctx.agents.set(a.id, a);
    else for (const t of await ctx.api.get('/api/v1/teams')) ctx.teams.set(t.id, t);
  } catch {
    // names stay as they were until the next read
  }
}
