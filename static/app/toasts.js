// Toasts: short notices in the corner. Those that need the agent to act stay until dismissed;
// the others go after a few seconds of the page being in view (a notice that arrived while the
// agent was in another tab is still there when they come back). Each may carry one action
// ("Open"), and may be tied to a conversation, so that opening it clears them.

import { h } from './util.js';

const SHOW_MS = 8000; // how long a notice that needs nothing stays in view
const live = new Set(); // {el, remaining, timer, counts, conversationId}
const listeners = new Set();

/** Calls `fn()` when toasts come or go. */
export function onToastsChange(fn) {
  listeners.add(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

/**
 * Shows a toast. `action` {label, run} adds a button; `sticky` keeps it until dismissed;
 * `counts` makes it count as unread (the tab title); `conversationId` ties it to a conversation.
 * Returns a handle with `close()`.
 */
export function toast(text, { action = null, sticky = false, counts = false, conversationId = null } = {}) {
  const t = { remaining: SHOW_MS, timer: null, started: 0, counts, conversationId, sticky };
  const close = () => dismiss(t);
  t.el = h(
    'div',
    { class: `toast${sticky ? ' sticky' : ''}`, dataset: { conversationId: conversationId ?? '' } },
    h('span', { class: 'toast-text' }, text),
    action
      ? h('button', { type: 'button', class: 'toast-action', onclick: () => { close(); action.run(); } }, action.label)
      : '',
    h('button', { type: 'button', class: 'ghost toast-close', 'aria-label': `Dismiss: ${text}`, onclick: close }, '×'),
  );
  document.getElementById('toasts').append(t.el);
  live.add(t);
  if (!sticky) countDown(t);
  changed();
  return { close, el: t.el };
}

function countDown(t) {
  clearTimeout(t.timer);
  if (document.visibilityState !== 'visible') return;
  t.started = Date.now();
  t.timer = setTimeout(() => dismiss(t), t.remaining);
}

function dismiss(t) {
  if (!live.delete(t)) return;
  clearTimeout(t.timer);
  // Keep the keyboard somewhere sensible when the focused toast goes.
  if (t.el.contains(document.activeElement)) {
    const others = [...live];
    const next = others.at(-1)?.el.querySelector('button');
    if (next) next.focus();
    else document.getElementById('main')?.focus();
  }
  t.el.remove();
  changed();
}

// Time away from the tab does not count against a notice.
document.addEventListener('visibilitychange', () => {
  for (const t of live) {
    if (t.sticky) continue;
    if (document.visibilityState === 'visible') countDown(t);
    else {
      clearTimeout(t.timer);
      if (t.started) t.remaining = Math.max(1500, t.remaining - (Date.now() - t.started));
    }
  }
});

/** Toasts that count as unread. */
export function unreadCount() {
  return [...live].filter((t) => t.counts).length;
}

/** Closes the toasts about conversation `id` (the agent is looking at it now). */
export function clearToastsFor(id) {
  for (const t of [...live]) if (t.conversationId === id) dismiss(t);
}

/** Moves the keyboard to the newest toast's first button; false when there is none. */
export function focusNewestToast() {
  const t = [...live].at(-1);
  const button = t?.el.querySelector('button');
  if (!button) return false;
  button.focus();
  return true;
}
