// The queue's search box, sort and filters (network, public/private, tier, team, brand account,
// tag, sentiment, language, status, mine/unassigned): the view the agent is looking at, kept in
// this browser per agent across reloads. Saved views (saved-views.js) set it in one go.

import { ctx } from './agent-state.js';
import { brandChoosable, onBrandsChange, renderBrandOptions } from './brand-filter.js';
import { cleanFilters, SORTS } from './queue-filter.js';
import { $, debounced, h, replaceChildren, setText } from './util.js';

/** Each filter's select. */
const SELECT = {
  network: 'f-network',
  visibility: 'f-visibility',
  tier: 'f-tier',
  team_id: 'f-team',
  brand_account_id: 'brand-filter',
  tag: 'f-tag',
  sentiment: 'f-sentiment',
  language: 'f-language',
  status: 'f-status',
  assignee: 'f-assignee',
};

let view = { filters: {}, sort: 'due' };
let panelOpen = false;
const listeners = new Set();

const storeKey = () => `chorus_queue_view:${ctx.me.id}`;

/** Calls `fn()` when the view changes (a filter, the search, the sort). */
export function onViewChange(fn) {
  listeners.add(fn);
}

function changed() {
  localStorage.setItem(storeKey(), JSON.stringify({ ...view, open: panelOpen }));
  showCount();
  for (const fn of listeners) fn();
}

/** The view in force: its filters (an unchoosable brand account left out) and sort. */
export function currentView() {
  const filters = cleanFilters(view.filters);
  if (filters.brand_account_id !== undefined && !brandChoosable(filters.brand_account_id)) delete filters.brand_account_id;
  return { filters, sort: view.sort };
}

/** The view as chosen, with a brand the list does not (yet) offer: what "Save view" keeps. */
export function chosenView() {
  return { filters: cleanFilters(view.filters), sort: view.sort };
}

/** True when anything narrows the queue. */
export function narrowed() {
  return Object.keys(currentView().filters).length > 0;
}

/** Shows `v` ({filters, sort}) in the controls and makes it the view. */
export function setView(v) {
  view = { filters: cleanFilters(v.filters), sort: SORTS[v.sort] ? v.sort : 'due' };
  fillControls();
  changed();
}

export function clearFilters() {
  setView({ filters: {}, sort: view.sort });
}

export function focusSearch() {
  const input = $('#queue-search');
  input.focus();
  input.select();
}

export function wireQueueControls() {
  try {
    const saved = JSON.parse(localStorage.getItem(storeKey()) || 'null');
    if (saved) {
      view = { filters: cleanFilters(saved.filters), sort: SORTS[saved.sort] ? saved.sort : 'due' };
      panelOpen = saved.open === true;
    }
  } catch {
    // a damaged entry: start from the whole queue
  }
  const search = $('#queue-search');
  const readSearch = debounced(() => {
    view = { ...view, filters: cleanFilters({ ...view.filters, q: search.value }) };
    changed();
  }, 120);
  search.addEventListener('input', readSearch);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      if (search.value) {
        search.value = '';
        readSearch();
      } else {
        document.dispatchEvent(new CustomEvent('chorus:focus-queue'));
      }
    } else if (e.key === 'ArrowDown' || e.key === 'Enter') {
      // From the search box straight into the results.
      e.preventDefault();
      document.dispatchEvent(new CustomEvent('chorus:focus-queue'));
    }
  });
  $('#queue-sort').addEventListener('change', (e) => {
    view = { ...view, sort: e.target.value };
    changed();
  });
  for (const [key, id] of Object.entries(SELECT)) {
    $(`#${id}`).addEventListener('change', (e) => {
      view = { ...view, filters: cleanFilters({ ...view.filters, [key]: e.target.value }) };
      changed();
    });
  }
  $('#filters-toggle').addEventListener('click', () => showPanel(!panelOpen));
  $('#filters-clear').addEventListener('click', () => {
    clearFilters();
    $('#queue-search').focus();
  });
  onBrandsChange(() => {
    renderBrandOptions(view.filters.brand_account_id);
    showCount();
    for (const fn of listeners) fn();
  });
  showPanel(panelOpen);
  fillControls();
  showCount();
}

function showPanel(show) {
  panelOpen = show;
  $('#queue-filters').hidden = !show;
  $('#filters-toggle').setAttribute('aria-expanded', String(show));
  if (show) refreshFilterOptions();
  localStorage.setItem(storeKey(), JSON.stringify({ ...view, open: panelOpen }));
  // The list's room changed.
  document.dispatchEvent(new CustomEvent('chorus:queue-resized'));
}

/** Puts the view's values into the controls. */
function fillControls() {
  $('#queue-search').value = view.filters.q || '';
  $('#queue-sort').value = view.sort;
  refreshFilterOptions();
  for (const [key, id] of Object.entries(SELECT)) {
    if (key === 'brand_account_id') continue;
    const select = $(`#${id}`);
    const v = view.filters[key];
    select.value = v === undefined ? '' : String(v);
  }
  renderBrandOptions(view.filters.brand_account_id);
}

/** The filters in force, counted on the Filters button ("Filters (2)"); the search is not one. */
function showCount() {
  const n = Object.keys(currentView().filters).filter((k) => k !== 'q').length;
  setText($('#filters-count'), n ? `(${n})` : '');
  $('#filters-toggle').classList.toggle('active', n > 0);
}

/**
 * The choices that come from the data: teams, and the tags and languages on the queue now (plus
 * the chosen one, so a choice never vanishes from under the agent).
 */
export function refreshFilterOptions() {
  if (!ctx) return;
  const items = [...ctx.queue.items.values()];
  const tags = new Set();
  const langs = new Set();
  for (const s of items) {
    for (const t of s.tags || []) tags.add(t);
    if (s.language) langs.add(s.language);
  }
  options('f-team', 'Any team', [...ctx.teams.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [String(t.id), t.name]), view.filters.team_id);
  options('f-tag', 'Any tag', [...tags].sort().map((t) => [t, t]), view.filters.tag);
  options('f-language', 'Any language', [...langs].sort().map((l) => [l, languageName(l)]), view.filters.language);
}

function options(id, anyLabel, pairs, chosen) {
  const select = $(`#${id}`);
  const want = chosen === undefined ? '' : String(chosen);
  if (want && !pairs.some(([v]) => v === want)) pairs.push([want, id === 'f-language' ? languageName(want) : want]);
  const sig = pairs.map(([v, l]) => `${v}=${l}`).join('|');
  if (select.dataset.sig !== sig) {
    replaceChildren(select, h('option', { value: '' }, anyLabel), pairs.map(([v, l]) => h('option', { value: v }, l)));
    select.dataset.sig = sig;
  }
  select.value = want;
}

const languageNames = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames([navigator.language || 'en'], { type: 'language' }) : null;

/** "en" → "English (en)". */
export function languageName(code) {
  try {
    const name = languageNames?.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}
