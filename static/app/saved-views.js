// Views of the queue: the built-in ones (All, Mine, Unassigned) and each agent's saved views,
// kept on the server (GET/POST/PUT/DELETE /api/v1/me/views), each with a live count of the
// conversations it keeps. Choosing one sets the queue's search, filters and sort; the dialog
// saves the current ones as a view, renames, updates and deletes views.

import { ctx } from './agent-state.js';
import { brandName } from './brand-filter.js';
import { openDialog } from './dialog.js';
import { plainError } from './errors.js';
import { chosenView, currentView, languageName, onViewChange, setView } from './queue-controls.js';
import { cleanFilters, countViews, sameView, SORTS } from './queue-filter.js';
import { $, h, NETWORK_NAME, reconcile, setText, tierLabel } from './util.js';

const PATH = '/api/v1/me/views';
const BUILT_IN = [
  { key: 'all', name: 'All', filters: {}, builtIn: true },
  { key: 'mine', name: 'Mine', filters: { assignee: 'mine' }, builtIn: true },
  { key: 'unassigned', name: 'Unassigned', filters: { assignee: 'unassigned' }, builtIn: true },
];

let saved = []; // the agent's views from the server
let available = true; // false on a server without saved views
let counts = {};

const viewsNow = () => [...BUILT_IN, ...saved.map((v) => ({ ...v, key: `v${v.id}` }))];

export function wireSavedViews() {
  $('#views-manage').addEventListener('click', openViewsDialog);
  $('#view-save-form').addEventListener('submit', (e) => {
    e.preventDefault();
    createView();
  });
  $('#views-close').addEventListener('click', () => $('#views-dialog').close());
  onViewChange(() => {
    renderViews();
    describeCurrent();
  });
  ctx.queue.onChange(countSoon);
}

export async function loadViews() {
  try {
    saved = await ctx.api.get(PATH);
    available = true;
  } catch (e) {
    if (e.status !== 404) console.warn('saved views', e);
    saved = [];
    available = false;
  }
  renderViews();
  countNow();
}

/** Whether view `v` is the one shown: the built-ins by their filters alone (any sort). */
function isCurrent(v) {
  const now = currentView();
  return v.builtIn ? sameView({ filters: v.filters, sort: now.sort }, now) : sameView(v, now);
}

function renderViews() {
  reconcile(
    $('#saved-views'),
    viewsNow(),
    (v) => v.key,
    (v) => {
      const li = h('li');
      li.button = h('button', { type: 'button', class: 'view-chip', dataset: { view: v.key }, onclick: () => choose(li.view) });
      li.name = h('span', { class: 'view-name' });
      li.count = h('span', { class: 'count' });
      li.button.append(li.name, ' ', li.count);
      li.append(li.button);
      return li;
    },
    (li, v) => {
      li.view = v;
      setText(li.name, v.name);
      setText(li.count, counts[v.key] ?? '');
      li.button.setAttribute('aria-pressed', String(isCurrent(v)));
      li.button.title = v.builtIn ? `${v.name}: ${describe(v.filters)}` : `${describe(v.filters)}; ${SORTS[v.sort] ?? SORTS.due}`;
    },
  );
}

function choose(v) {
  setView(v.builtIn ? { filters: v.filters, sort: currentView().sort } : v);
}

/** The live counts: every view over the whole queue, a moment after a change. */
function countNow() {
  counts = countViews(ctx.queue.items.values(), viewsNow(), ctx.me.id);
  for (const li of $('#saved-views').children) {
    if (!li.view) continue;
    setText(li.count, counts[li.view.key] ?? '');
    li.button.setAttribute('aria-label', `${li.view.name}: ${counts[li.view.key] ?? 0} conversations`);
  }
  const list = $('#views-manage-list');
  if (list) for (const li of list.children) if (li.count) setText(li.count, `${counts[li.key] ?? 0} now`);
}
/** At most every 200 ms however busy the queue (a burst is counted once, soon after it starts). */
let countTimer = null;
function countSoon() {
  if (countTimer) return;
  countTimer = setTimeout(() => {
    countTimer = null;
    countNow();
  }, 200);
}

// ---------------------------------------------------------------- saying what a view keeps

const WORDS = {
  network: (v) => NETWORK_NAME[v] ?? v,
  visibility: (v) => (v === 'private' ? 'private' : 'public'),
  tier: (v) => tierLabel(v),
  team_id: (v) => ctx.teamName(v),
  brand_account_id: (v) => brandName(v),
  tag: (v) => `tag “${v}”`,
  sentiment: (v) => v,
  language: (v) => languageName(v),
  status: (v) => (v === 'new' ? 'new' : 'open'),
  assignee: (v) => (v === 'mine' ? 'mine' : 'unassigned'),
  q: (v) => `search “${v}”`,
};

/** "X, negative, search “refund”" — or "the whole queue". */
export function describe(filters) {
  const f = cleanFilters(filters);
  const parts = Object.entries(f).map(([k, v]) => WORDS[k]?.(v) ?? `${k} ${v}`);
  return parts.length ? parts.join(', ') : 'the whole queue';
}

function describeCurrent() {
  const v = chosenView();
  setText($('#view-current'), `Now showing: ${describe(v.filters)}; ${(SORTS[v.sort] || SORTS.due).toLowerCase()}.`);
}

// ---------------------------------------------------------------- the dialog

function openViewsDialog() {
  describeCurrent();
  renderManageList();
  setText($('#views-msg'), available ? '' : 'This server does not keep saved views yet.');
  $('#view-save-form').hidden = !available;
  openDialog($('#views-dialog'), available ? $('#view-name') : $('#views-close'));
}

function say(text) {
  setText($('#views-msg'), text);
}

async function createView() {
  const input = $('#view-name');
  const name = input.value.trim();
  if (!name) return say('Give the view a name.');
  const v = chosenView();
  try {
    const made = await ctx.api.post(PATH, { name, filters: v.filters, sort: v.sort });
    saved = [...saved, made];
    input.value = '';
    say(`Saved “${made.name}”.`);
    renderViews();
    renderManageList();
    countNow();
  } catch (e) {
    say(e.code === 'conflict' ? `You already have a view called “${name}”.` : `Could not save the view: ${plainError(e, ctx.agentName)}`);
  }
}

function renderManageList() {
  const list = $('#views-manage-list');
  list.replaceChildren(
    ...saved.map((v) => {
      const key = `v${v.id}`;
      const nameId = `view-rename-${v.id}`;
      const input = h('input', { id: nameId, maxlength: 60, value: v.name });
      const count = h('span', { class: 'view-count' }, `${counts[key] ?? 0} now`);
      const li = h(
        'li',
        { class: 'manage-view', dataset: { viewId: v.id } },
        h('label', { for: nameId }, 'Name'),
        input,
        h('p', { class: 'small muted' }, `${describe(v.filters)}; ${(SORTS[v.sort] || SORTS.due).toLowerCase()} · `, count),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'rename', onclick: () => update(v, { name: input.value.trim() }) }, 'Rename'),
          h('button', { type: 'button', class: 'use-current', onclick: () => update(v, chosenView()) }, 'Use the current filters'),
          h('button', { type: 'button', class: 'danger delete', onclick: () => remove(v) }, 'Delete'),
        ),
      );
      li.key = key;
      li.count = count;
      return li;
    }),
  );
  if (!saved.length && available) list.append(h('li', { class: 'muted small' }, 'No saved views yet.'));
}

async function update(v, change) {
  const body = { name: change.name ?? v.name, filters: cleanFilters(change.filters ?? v.filters), sort: change.sort ?? v.sort ?? 'due' };
  if (!body.name) return say('Give the view a name.');
  try {
    const done = await ctx.api.put(`${PATH}/${v.id}`, body);
    saved = saved.map((x) => (x.id === v.id ? done : x));
    say(change.filters ? `“${done.name}” now keeps the current filters.` : `Renamed to “${done.name}”.`);
    renderViews();
    renderManageList();
    countNow();
  } catch (e) {
    say(e.code === 'conflict' ? `You already have a view called “${body.name}”.` : `Could not change the view: ${plainError(e, ctx.agentName)}`);
  }
}

async function remove(v) {
  try {
    await ctx.api.del(`${PATH}/${v.id}`);
    saved = saved.filter((x) => x.id !== v.id);
    say(`Deleted “${v.name}”.`);
    renderViews();
    renderManageList();
    $('#view-name').focus();
  } catch (e) {
    say(`Could not delete the view: ${plainError(e, ctx.agentName)}`);
  }
}
