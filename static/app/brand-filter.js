// The brand accounts the queue can be narrowed to (GET /api/v1/brand-accounts), as the options of
// the filters' brand select, shown only when there is a choice. Without the list (an older
// server) there is no brand filter. Which account is chosen is part of the queue's filters
// (queue-controls.js).

import { ctx } from './agent-state.js';
import { $, brandLabel, h, replaceChildren } from './util.js';

let brands = []; // the brand accounts, for the queue's filter
const listeners = new Set();

/** Calls `fn()` when the list of accounts changes. */
export function onBrandsChange(fn) {
  listeners.add(fn);
}

/** The brand accounts for the queue's filter; without them (an older server) there is no filter. */
export async function loadBrands() {
  try {
    brands = await ctx.api.get('/api/v1/brand-accounts');
  } catch (e) {
    console.warn('brand accounts', e);
    brands = [];
  }
  for (const fn of listeners) fn();
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
  if (!brands.length) return;
  const known = new Set(brands.map((b) => b.id));
  for (const s of queued) {
    if (s.brand_account_id != null && !known.has(s.brand_account_id)) {
      refreshBrandsSoon();
      return;
    }
  }
}

/** True when `id` is an account one may narrow the queue to (only while there is a choice). */
export function brandChoosable(id) {
  return brands.length >= 2 && brands.some((b) => b.id === id);
}

/** An account's name, for saying what a filter keeps. */
export function brandName(id) {
  const b = brands.find((x) => x.id === id);
  return b ? brandLabel(b) : `account ${id}`;
}

/** Fills the brand select with the accounts and `chosen`; hides it when there is nothing to choose. */
export function renderBrandOptions(chosen) {
  const select = $('#brand-filter');
  replaceChildren(select, h('option', { value: '' }, 'All brand accounts'), brands.map((b) => h('option', { value: b.id }, brandLabel(b))));
  select.value = brandChoosable(chosen) ? String(chosen) : '';
  $('#brand-filter-wrap').hidden = brands.length < 2;
}
