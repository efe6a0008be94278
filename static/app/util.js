// Small DOM and formatting helpers shared by the console and the wallboard.
// No framework: elements are built with h() and updated in place, so keyboard focus survives
// live updates (re-creating a focused button would throw the user's focus away).

/**
 * Builds an element. `attrs` keys: `class`, `text`, `on<Event>` (listeners), `dataset`,
 * boolean attributes (true sets, false/null/undefined leaves out), anything else as an attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Sets text only when it changed (avoids needless layout and screen-reader chatter). */
export function setText(el, text) {
  const s = String(text ?? '');
  if (el.textContent !== s) el.textContent = s;
}

/** "12:04" / "1:02:03" from seconds (absolute value). */
export function clock(secs) {
  const s = Math.floor(Math.abs(secs));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** "3 h 5 min", "42 s" — for waits that can be long. */
export function duration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(secs)) return '—';
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const hours = Math.floor(s / 3600);
  if (hours < 48) return `${hours} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * A duration in at most two units and few characters, for tiles read from across a room:
 * "59s", "12m 05s", "1h 05m", "2d 3h". The second unit is padded where it has two digits, so
 * a value ticking every second keeps its width.
 */
export function compactDuration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(secs)) return '—';
  const s = Math.max(0, Math.floor(secs));
  const two = (n) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Seconds from now until an RFC 3339 time (negative once past), or null. */
export function secondsUntil(iso, now = Date.now()) {
  if (!iso) return null;
  return Math.round((Date.parse(iso) - now) / 1000);
}

/** Time to breach as text: "breach in 12:04" or "breached 3:10 ago". */
export function breachText(dueAt, now = Date.now()) {
  const left = secondsUntil(dueAt, now);
  if (left === null) return 'no due time';
  return left >= 0 ? `breach in ${clock(left)}` : `breached ${clock(left)} ago`;
}

/** Date and time in the reader's locale, in full ("4 Dec 2026, 20:31:05"). */
function absoluteTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** How long ago, in words: "just now", "5 min ago", "3 h ago", "yesterday", "4 Dec". Future times read "in 5 min". */
export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const t = Date.parse(iso);
  const secs = Math.round((now - t) / 1000);
  if (secs < 0) return secs > -45 ? 'just now' : `in ${shortSpan(-secs)}`;
  if (secs < 45) return 'just now';
  if (secs < 86400) return `${shortSpan(secs)} ago`;
  const d = new Date(t);
  const yesterday = new Date(now - 86400000);
  if (d.toDateString() === yesterday.toDateString()) return `yesterday ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString([], sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' });
}

/** "5 min", "3 h", "2 d": one unit, for waits and ages shown in narrow places. */
export function shortSpan(secs) {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** A <time> that reads relative ("5 min ago") with the full date on hover; kept fresh by refreshTimes(). */
export function timeEl(iso, prefix = '') {
  const el = h('time', { datetime: iso || '', title: absoluteTime(iso), class: 'rel', dataset: { prefix } });
  el.textContent = `${prefix}${ago(iso)}`;
  return el;
}

/** Moves every relative time under `root` on (the thread's "5 min ago" becomes "6 min ago"). */
export function refreshTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time.rel')) setText(el, `${el.dataset.prefix || ''}${ago(el.getAttribute('datetime'), now)}`);
}

/** A sentiment score's bucket, as the queue's filter has it: below -0.05 negative, above 0.05 positive. */
export function sentimentBucket(x) {
  if (x === null || x === undefined) return null;
  if (x < -0.05) return 'negative';
  if (x > 0.05) return 'positive';
  return 'neutral';
}

/** Local time of day for a timestamp, with the date when it is not today. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === today.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

export function percent(x) {
  return x === null || x === undefined ? '—' : `${Math.round(x * 1000) / 10}%`;
}

/** A sentiment score (−1…1) in words, for people rather than machines (the queue filter's buckets). */
export function sentimentLabel(x) {
  if (x === null || x === undefined) return 'unknown';
  return `${sentimentBucket(x)} (${Math.round(x * 100) / 100})`;
}

/** The networks' names as people write them. */
export const NETWORK_NAME = { x: 'X', facebook: 'Facebook', instagram: 'Instagram', whatsapp: 'WhatsApp' };

/** A brand account as a choice in a list: "Acme (X)". */
export function brandLabel(b) {
  return `${b.name || b.platform_account_id} (${NETWORK_NAME[b.network] ?? b.network})`;
}

/** A conversation's priority in words: "Tier 1", "Tier 2" (anything else as it is). */
export function tierLabel(priority) {
  return priority === 'tier1' ? 'Tier 1' : priority === 'tier2' ? 'Tier 2' : priority;
}

/** Who holds a conversation: "Unassigned", "Held by you", or "Held by " and `nameOf(id)`. */
export function holderText(assigneeId, meId, nameOf) {
  if (assigneeId == null) return 'Unassigned';
  return assigneeId === meId ? 'Held by you' : `Held by ${nameOf(assigneeId)}`;
}

/** Calls `fn(event)` on Ctrl+Enter (Cmd+Enter on a Mac) in `el`, instead of a new line. */
export function onCtrlEnter(el, fn) {
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      fn(e);
    }
  });
}

/** Runs `fn` `ms` after the last of a burst of calls, with that call's arguments. */
export function debounced(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A random id for reply idempotency keys (made once per press of "send"). */
export function randomKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/** Runs `fn` at most once per animation frame, however often it is asked for. */
export function batched(fn) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn();
    });
  };
}

/**
 * Keeps a list element's children in the order of `items`, creating a row with `make(item)` for
 * new keys, updating existing ones with `update(row, item)`, and removing the rest. Rows are
 * moved, not rebuilt, so focus inside a row survives; rows that leave go first, so rows that stay
 * in order are not moved at all (a list scrolled by a few rows only adds and drops those).
 */
export function reconcile(list, items, key, make, update) {
  const keys = items.map((item) => String(key(item)));
  const keep = new Set(keys);
  const existing = new Map();
  for (const child of [...list.children]) {
    const k = child.dataset.key;
    if (k === undefined) continue;
    if (keep.has(k)) existing.set(k, child);
    else child.remove();
  }
  let cursor = list.firstElementChild;
  items.forEach((item, i) => {
    const k = keys[i];
    let row = existing.get(k);
    if (!row) {
      row = make(item);
      row.dataset.key = k;
    }
    update(row, item);
    if (row !== cursor) list.insertBefore(row, cursor);
    else cursor = cursor.nextElementSibling;
  });
}
