// Which queued conversations a set of filters keeps, and in which order — rules only, no DOM.
// Filtering, searching and sorting happen in the browser over the whole live queue the console
// holds, so results and the saved views' counts follow every event at once.
//
// Filters (all optional; the saved views' `filters` object): network, visibility, tier, team_id,
// brand_account_id, tag, sentiment (negative < -0.05 ≤ neutral ≤ 0.05 < positive, of
// sentiment_now), language, status (new, open), assignee (mine, unassigned), q (search words:
// each must appear in the customer's name or handle, the newest message, the tags or "#id").

import { sentimentBucket } from './util.js';

const FILTER_KEYS = ['network', 'visibility', 'tier', 'team_id', 'brand_account_id', 'tag', 'sentiment', 'language', 'status', 'assignee', 'q'];
export const SORTS = { due: 'Due first', risk: 'Highest risk', age: 'Waiting longest' };

/** Only the keys that filter something, with ids as numbers: the shape saved views keep. */
export function cleanFilters(f) {
  const out = {};
  for (const k of FILTER_KEYS) {
    let v = f?.[k];
    if (v === undefined || v === null || v === '') continue;
    if (k === 'team_id' || k === 'brand_account_id') {
      v = Number(v);
      if (!Number.isInteger(v)) continue;
    } else {
      v = String(v);
      if (k === 'q') {
        v = v.trim();
        if (!v) continue;
      }
    }
    out[k] = v;
  }
  return out;
}

/** True when two filter sets (and sorts) are the same. */
export function sameView(a, b) {
  const x = cleanFilters(a.filters);
  const y = cleanFilters(b.filters);
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return (a.sort || 'due') === (b.sort || 'due') && [...keys].every((k) => x[k] === y[k]);
}

// The words a conversation can be found by, worked out once per Summary (a new Summary is a new
// object, so an update is searched afresh).
const haystacks = new WeakMap();
function haystack(s) {
  let text = haystacks.get(s);
  if (text === undefined) {
    text = [s.customer_name, s.customer_handle, s.snippet, ...(s.tags || []), `#${s.id}`]
      .filter(Boolean)
      .join(' \u0001 ')
      .toLowerCase();
    haystacks.set(s, text);
  }
  return text;
}

/** The search text as words (lower case; a leading @ is kept, so "@dana" finds the handle). */
function searchWords(q) {
  return String(q || '')
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean);
}

/** A predicate for `filters`; `meId` is who "mine" means. */
export function matcher(filters, meId) {
  const f = cleanFilters(filters);
  const words = searchWords(f.q);
  const tag = f.tag?.toLowerCase();
  const language = f.language?.toLowerCase();
  return (s) => {
    if (f.network && s.network !== f.network) return false;
    if (f.visibility && s.origin_visibility !== f.visibility) return false;
    if (f.tier && s.priority !== f.tier) return false;
    if (f.team_id !== undefined && s.team_id !== f.team_id) return false;
    if (f.brand_account_id !== undefined && s.brand_account_id !== f.brand_account_id) return false;
    if (tag && !(s.tags || []).some((t) => t.toLowerCase() === tag)) return false;
    if (f.sentiment && sentimentBucket(s.sentiment_now) !== f.sentiment) return false;
    if (language && (s.language || '').toLowerCase() !== language) return false;
    if (f.status && s.status !== f.status) return false;
    if (f.assignee === 'mine' && s.assignee_id !== meId) return false;
    if (f.assignee === 'unassigned' && s.assignee_id != null) return false;
    if (words.length) {
      const text = haystack(s);
      if (!words.every((w) => text.includes(w))) return false;
    }
    return true;
  };
}

const tierRank = (s) => (s.priority === 'tier1' ? 1 : s.priority === 'tier2' ? 2 : 3);
const time = (iso, none) => (iso ? Date.parse(iso) : none);

/**
 * Sorts `items` (a new array) by `sort`: `due` is the queue's own order (tier, the due time that
 * applies now, risk, id); `risk` highest risk first; `age` the customer waiting longest first.
 * Keys are worked out once per item, so 10,000 rows sort in a few milliseconds.
 */
export function sortItems(items, sort = 'due') {
  const keyed = items.map((s) => ({
    s,
    tier: tierRank(s),
    due: time(s.due_at, Infinity),
    risk: s.risk ?? 0,
    since: time(s.awaiting_since || s.first_message_at, Infinity),
  }));
  const byDue = (a, b) => a.tier - b.tier || a.due - b.due || b.risk - a.risk || a.s.id - b.s.id;
  const cmp =
    sort === 'risk'
      ? (a, b) => b.risk - a.risk || a.due - b.due || a.s.id - b.s.id
      : sort === 'age'
        ? (a, b) => a.since - b.since || a.s.id - b.s.id
        : byDue;
  keyed.sort(cmp);
  return keyed.map((k) => k.s);
}

/** How many of `items` each view keeps: {viewKey: count}. */
export function countViews(items, views, meId) {
  const tests = views.map((v) => [v.key, matcher(v.filters, meId)]);
  const counts = Object.fromEntries(tests.map(([k]) => [k, 0]));
  for (const s of items) for (const [k, test] of tests) if (test(s)) counts[k] += 1;
  return counts;
}
