// The queue pane of the agent view: the live queue as compact rows (queue-row.js says what a row
// shows), narrowed and ordered by the queue's controls, its count and loading and empty states,
// the "My conversations" list, the queue's status line, and following the topics of the rows in
// view so that who is viewing them shows.
//
// The list is virtual: however long the queue (10,000 waiting is a bad day, not an error), only
// the rows in view and a margin around them are in the page, each at its place in a list as tall
// as all the rows; nothing is cut off. The keyboard moves through it with the arrow keys, Home,
// End, Page Up and Page Down (one row at a time takes the Tab key: a roving tabindex).

import { query } from './api.js';
import { ctx, mine, open, watched } from './agent-state.js';
import { noticeUnknownBrands } from './brand-filter.js';
import { claim, release } from './claims.js';
import { gateLiveActions } from './connection.js';
import { followQueueSummary, openConversation } from './conversation.js';
import { clearFilters, currentView, narrowed } from './queue-controls.js';
import { matcher, sortItems } from './queue-filter.js';
import { customerName, fillRow, makeRow, updateClocks } from './queue-row.js';
import { settings } from './settings.js';
import { $, batched, debounced, h, NETWORK_NAME, reconcile, setText } from './util.js';

const ROW_HEIGHT = { comfortable: 44, compact: 34 }; // px; style.css lays the rows out to fit
const OVERSCAN = 12; // rows kept in the page above and below the ones in view
const WATCH_ROWS = 40; // keeps every subscription within the server's 64 topics per subscribe

let rows = []; // the conversations the view keeps, in order
let version = 0; // bumps when the rows' data may have changed (a redraw while scrolling does not)
let activeId = null; // the row that takes the Tab key
let lastOpenIndex = -1; // where the open conversation was in the list (for "next" once it left)

// ---------------------------------------------------------------- my conversations

export async function loadMine() {
  const res = await ctx.api.get(`/api/v1/conversations${query({ view: 'mine', limit: 100 })}`);
  mine.clear();
  for (const s of res.items) mine.set(s.id, s);
  renderMine();
}

export const refreshMineSoon = debounced(() => loadMine().catch(() => {}), 300);

export function renderMine() {
  const items = [...mine.values()].sort((a, b) => a.id - b.id);
  setText($('#mine-count'), `(${items.length})`);
  reconcile(
    $('#mine-list'),
    items,
    (s) => s.id,
    (s) => {
      const li = h('li', { class: 'mine-row' });
      li.btn = h('button', { type: 'button', class: 'linklike', onclick: () => openConversation(s.id) });
      li.append(li.btn);
      return li;
    },
    (li, s) => setText(li.btn, `${customerName(s)} · ${NETWORK_NAME[s.network] ?? s.network} · ${s.status}`),
  );
}

/**
 * "Mine" is what REST said we hold, kept current by the queue: rows we hold join it, rows
 * someone else now holds leave it (held conversations off the queue, e.g. pending, stay).
 */
function followQueueHolders(queued) {
  for (const q of queued) {
    if (q.assignee_id === ctx.me.id) mine.set(q.id, q);
    else if (mine.has(q.id)) mine.delete(q.id);
  }
}

// ---------------------------------------------------------------- the queue

export function renderQueue() {
  const all = [...ctx.queue.items.values()];
  const view = currentView();
  const keep = matcher(view.filters, ctx.me.id);
  rows = sortItems(narrowed() ? all.filter(keep) : all, view.sort);
  version += 1;
  const at = open ? rows.findIndex((s) => s.id === open.id) : -1;
  if (at >= 0) lastOpenIndex = at;
  if (!rows.some((s) => s.id === activeId)) activeId = at >= 0 ? open.id : rows[Math.min(Math.max(lastOpenIndex, 0), rows.length - 1)]?.id ?? null;
  showStates(all.length);
  draw();
  if (ctx.queue.loaded) noticeUnknownBrands(all);
  followQueueSummary();
  followQueueHolders(all);
  renderMine();
}

/** The count, and the loading and empty states. */
function showStates(total) {
  setText($('#queue-count'), narrowed() ? `(${rows.length} of ${total})` : `(${rows.length})`);
  const loaded = ctx.queue.loaded;
  $('#queue-loading').hidden = loaded;
  const empty = $('#queue-empty');
  empty.hidden = !loaded || rows.length > 0;
  if (!empty.hidden) {
    if (total === 0) replaceEmpty(empty, 'Nothing waiting. New messages appear here as they arrive.');
    else replaceEmpty(empty, `No conversation matches this view (${total} waiting in all). `, h('button', { type: 'button', class: 'linklike', onclick: clearFilters }, 'Show the whole queue'));
  }
}

function replaceEmpty(el, ...children) {
  const sig = children.map((c) => (typeof c === 'string' ? c : c.textContent)).join('');
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.replaceChildren(...children);
}

function rowHeight() {
  return ROW_HEIGHT[settings().density] || ROW_HEIGHT.comfortable;
}

let viewHeight = 0; // the list's visible height, from a ResizeObserver (reading it could force a layout)

/** Puts the rows in view (and a margin) in the page, each at its place; `at` is a scroll position just set. */
function draw(at = null) {
  const scroller = $('#queue-scroll');
  const list = $('#queue-list');
  const rh = rowHeight();
  // Geometry is read before anything is written (a read after a write forces a layout).
  // A hidden pane has no height: draw a screenful anyway, so the rows are there when shown.
  const viewH = viewHeight || window.innerHeight;
  const top = typeof at === 'number' ? at : scroller.scrollTop;
  const first = Math.max(0, Math.floor(top / rh) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + viewH) / rh) + OVERSCAN);
  const height = `${rows.length * rh}px`;
  if (list.rh !== rh) {
    list.rh = rh;
    list.style.setProperty('--qrow-h', `${rh}px`);
  }
  if (list.style.height !== height) list.style.height = height;
  const slice = [];
  const activeAt = rows.findIndex((s) => s.id === activeId);
  // The row with the keyboard stays in the page even when scrolled far away (focus is not lost).
  if (activeAt >= 0 && activeAt < first) slice.push(activeAt);
  for (let i = first; i < last; i++) slice.push(i);
  if (activeAt >= last) slice.push(activeAt);
  const hadFocus = list.contains(document.activeElement);
  const firstInView = Math.floor(top / rh);
  const left = showWindow(list, slice, rh, firstInView, firstInView + Math.ceil(viewH / rh));
  if (left === 'view') drawSoon();
  else if (left === 'margin') drawWhenIdle();
  // The focused row left the list (taken by someone else, filtered out): keep the keyboard in it.
  if (hadFocus && !list.contains(document.activeElement) && rows.length) focusRowAt(Math.min(Math.max(activeAt, 0), rows.length - 1));
  gateLiveActions(list);
  watchRows(Math.floor(top / rh), Math.ceil(viewH / rh));
}

const drawSoon = batched(() => draw());

/** The margin around the rows in view is filled in when the page has nothing else to do. */
let idleAsked = false;
function drawWhenIdle() {
  if (idleAsked) return;
  idleAsked = true;
  const run = () => {
    idleAsked = false;
    drawSoon();
  };
  if (window.requestIdleCallback) requestIdleCallback(run, { timeout: 250 });
  else setTimeout(run, 50);
}

/**
 * Shows rows `indices` of the list, in order. Rows that scroll out are kept aside and reused for
 * the rows that scroll in (only their text changes): a fast scroll through 10,000 rows creates no
 * elements and moves none of the rows that stay. However far a jump (End, a flick of the wheel),
 * one frame fills at most VIEW_ROWS_PER_FRAME new rows in view (the rest follow in the next
 * frames) and MARGIN_ROWS_PER_FRAME of the margin around them (when the page is idle), so no
 * frame is long. Returns 'view' or 'margin' when rows are still to fill there, else null.
 */
function showWindow(list, indices, rh, from, to) {
  const shown = new Map();
  for (const li of list.children) if (li.s) shown.set(li.s.id, li);
  const wanted = new Set(indices.map((i) => rows[i].id));
  for (const [id, li] of shown) {
    if (wanted.has(id)) continue;
    li.remove();
    shown.delete(id);
    if (spare.length < 200) spare.push(li);
  }
  let forView = VIEW_ROWS_PER_FRAME;
  let forMargin = MARGIN_ROWS_PER_FRAME;
  let left = null;
  let cursor = list.firstElementChild;
  for (const i of indices) {
    const s = rows[i];
    let li = shown.get(s.id);
    if (!li) {
      const inView = i >= from && i <= to;
      if (inView ? forView <= 0 : forMargin <= 0) {
        if (inView || !left) left = inView ? 'view' : 'margin';
        continue;
      }
      if (inView) forView -= 1;
      else forMargin -= 1;
      li = spare.pop() || makeRow(ROW_ACTIONS);
    }
    if (li.s !== s || li.ver !== version) {
      fillRow(li, s);
      li.ver = version;
    }
    place(li, i, rh);
    if (li !== cursor) list.insertBefore(li, cursor);
    else cursor = cursor.nextElementSibling;
  }
  return left;
}

const VIEW_ROWS_PER_FRAME = 12;
const MARGIN_ROWS_PER_FRAME = 4;

const spare = []; // rows out of view, to be reused
const ROW_ACTIONS = { open: (id) => openFromRow(id), claim, release };

/** Puts row `li` at index `i`; only what changed is written (a write costs a style pass). */
function place(li, i, rh) {
  if (li.index !== i || li.rh !== rh) {
    li.index = i;
    li.rh = rh;
    li.style.transform = `translateY(${i * rh}px)`;
    li.setAttribute('aria-posinset', String(i + 1));
  }
  if (li.setsize !== rows.length) {
    li.setsize = rows.length;
    li.setAttribute('aria-setsize', String(rows.length));
  }
  const tab = li.s.id === activeId ? '0' : '-1';
  if (li.tab !== tab) {
    li.tab = tab;
    for (const b of li.querySelectorAll('button')) b.setAttribute('tabindex', tab);
  }
}

function openFromRow(id) {
  activeId = id;
  openConversation(id);
}

/** Moves every row's clocks on (once a second). */
export function tickQueueClocks() {
  for (const li of $('#queue-list').children) if (li.refs) updateClocks(li);
}

// ---------------------------------------------------------------- the keyboard

/** Wires the list's keys, scrolling and resizing. */
export function wireQueueList() {
  const list = $('#queue-list');
  const scroller = $('#queue-scroll');
  scroller.addEventListener('scroll', drawSoon, { passive: true });
  new ResizeObserver((entries) => {
    viewHeight = entries.at(-1).contentRect.height;
    drawSoon();
  }).observe(scroller);
  document.addEventListener('chorus:queue-resized', drawSoon);
  document.addEventListener('chorus:focus-queue', () => focusQueue());
  list.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const i = Math.max(0, rows.findIndex((s) => s.id === activeId));
    const page = Math.max(1, Math.floor(scroller.clientHeight / rowHeight()) - 1);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: rows.length - 1, PageDown: i + page, PageUp: i - page }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    focusRowAt(Math.min(Math.max(to, 0), rows.length - 1));
  });
  // A row's button focused by a click or Tab becomes the row with the keyboard.
  list.addEventListener('focusin', (e) => {
    const li = e.target.closest('li[data-conversation-id]');
    if (li && li.s && li.s.id !== activeId) {
      activeId = li.s.id;
      for (const x of list.children) if (x.s) place(x, x.index, rowHeight());
    }
  });
}

/**
 * Scrolls row `index` into view and gives it the keyboard. The focus moves once the frame is
 * drawn: focusing at once would lay out the rows just filled a second time in the same task.
 */
function focusRowAt(index) {
  const s = rows[index];
  if (!s) return;
  activeId = s.id;
  draw(scrollRowIntoView(index));
  const li = [...$('#queue-list').children].find((x) => x.s?.id === s.id);
  if (!li) return;
  // The tab stop is already there (roving tabindex); the focus follows after the paint.
  requestAnimationFrame(() => setTimeout(() => {
    if (activeId === s.id && li.s?.id === s.id && li.isConnected) li.refs.open.focus({ preventScroll: true });
  }, 0));
}

/** Moves the keyboard into the list: to the row it was on, the open conversation's, or the first. */
export function focusQueue() {
  if (!rows.length) {
    $('#queue-search').focus();
    return;
  }
  const i = rows.findIndex((s) => s.id === activeId);
  focusRowAt(i >= 0 ? i : 0);
}

/** The conversation whose row has the keyboard in the list (null when none). */
export function activeRow() {
  return rows.find((s) => s.id === activeId) || null;
}

/** Scrolls so that row `index` is in view; returns the scroll position. */
function scrollRowIntoView(index) {
  const scroller = $('#queue-scroll');
  const rh = rowHeight();
  const y = index * rh;
  const viewH = viewHeight || scroller.clientHeight;
  let top = scroller.scrollTop;
  if (y < top) top = y;
  else if (y + rh > top + viewH) top = y + rh - viewH;
  if (top !== scroller.scrollTop) scroller.scrollTop = top;
  return top;
}

/**
 * The conversation `delta` rows after (or before) the open one in the list, or after where it
 * was when it has left the list (resolved: the next one moved up into its place).
 */
function neighbour(delta) {
  if (!rows.length) return null;
  const at = open ? rows.findIndex((s) => s.id === open.id) : -1;
  let to;
  if (at >= 0) to = at + delta;
  else if (open && lastOpenIndex >= 0) to = delta > 0 ? lastOpenIndex : lastOpenIndex - 1;
  else to = delta > 0 ? 0 : rows.length - 1;
  const s = rows[Math.min(Math.max(to, 0), rows.length - 1)];
  return s && s.id !== open?.id ? s : null;
}

/** Opens the next (1) or previous (-1) conversation of the list, keeping its row in view. */
export function stepConversation(delta) {
  const s = neighbour(delta);
  if (!s) {
    queueMessage(delta > 0 ? 'No next conversation in this view.' : 'No previous conversation in this view.');
    return;
  }
  activeId = s.id;
  draw(scrollRowIntoView(rows.indexOf(s)));
  openConversation(s.id);
}

/** Follows the topics of the rows in view, so who is viewing them shows on the queue. */
const watchRows = debounced(async (from, count) => {
  const want = new Set(rows.slice(from, from + Math.min(count + 2, WATCH_ROWS)).map((s) => s.id));
  const add = [...want].filter((id) => !watched.has(id));
  const drop = [...watched].filter((id) => !want.has(id) && id !== open?.id);
  for (const id of drop) watched.delete(id);
  for (const id of add) watched.add(id);
  try {
    if (drop.length) await ctx.live.unsubscribe(drop.map((id) => `conversation:${id}`));
    if (add.length) await ctx.live.subscribe(add.map((id) => `conversation:${id}`));
  } catch (e) {
    for (const id of add) watched.delete(id);
    console.warn('could not follow queue rows', e);
  }
}, 500);

let messageTimer = null;

/** Says something in the queue's status line; it goes after a while. */
export function queueMessage(text) {
  setText($('#queue-msg'), text);
  clearTimeout(messageTimer);
  if (text) messageTimer = setTimeout(() => setText($('#queue-msg'), ''), 8000);
}
