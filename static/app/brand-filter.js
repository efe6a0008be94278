// The queue's brand account filter: the accounts from GET /api/v1/brand-accounts, the choice
// kept in localStorage across reloads, and the select shown only when there is a choice. Without
// the list (an older server) there is no filter.

import { ctx } from './agent-state.js';
import { renderQueue } from './queue-view.js';
import { $, brandLabel, h, replaceChildren } from './util.js';

const BRAND_KEY = 'chorus_brand_filter'; // the chosen account survives a reload (localStorage)
let brands = []; // the brand accounts (GET /api/v1/brand-accounts), for the queue's filter

export function wireBrandFilter() {
  $('#brand-filter').addEventListener('change', (e) => {
    localStorage.setItem(BRAND_KEY, e.target.value);
    renderQueue();
  });
}

/** The brand accounts for the queue's filter; without them (an older server) there is no filter. */
export async function loadBrands() {
  try {
    brands = await ctx.api.get('/api/v1/brand-accounts');
  } catch (e) {
    console.warn('brand accounts', e);
    brands = [];
  }
  renderBrandFilter();
  renderQueue();
}

/** A conversation from an account registered since we loaded the list: read it again (at most every 10 s). */
const refreshBrandsSoon = (() => {
  let last = 0;
  return () => {
    if (Date.now() - last < 10000) return;
    last = Date.now();
    loadBrands();
  };
})();

/** Reads the accounts again when a queued conversation names one the list does not have. */
export function noticeUnknownBrands(queued) {
  if (brands.length && queued.some((s) => s.brand_account_id != null && !brands.some((b) => b.id === s.brand_account_id))) {
    refreshBrandsSoon();
  }
}

function renderBrandFilter() {
  const select = $('#brand-filter');
  const wanted = localStorage.getItem(BRAND_KEY) || '';
  replaceChildren(
    select,
    h('option', { value: '' }, 'All brand accounts'),
    brands.map((b) => h('option', { value: b.id }, brandLabel(b))),
  );
  select.value = brands.some((b) => String(b.id) === wanted) ? wanted : '';
  // One account: nothing to choose between.
  $('#brand-filter-wrap').hidden = brands.length < 2;
}

/** The account the queue is narrowed to, or null: only a listed one, and only while there is a choice. */
export function brandFilter() {
  if (brands.length < 2) return null;
  const id = Number($('#brand-filter').value);
  return brands.some((b) => b.id === id) ? id : null;
}
