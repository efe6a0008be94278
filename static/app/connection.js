// The live connection's state as the agent sees it: while it is down the queue is marked stale
// and every action that needs the server (claim, release, reply, resolve, take next…) is
// disabled, saying why in its title and to screen readers (aria-describedby). Buttons that need
// the connection carry `data-live-action`; views call gateLiveActions() after they render.

import { $, setText } from './util.js';

let state = 'idle';
let everLive = false;
const listeners = new Set();

const REASON = {
  idle: 'Not connected yet.',
  connecting: 'Connecting to Chorus…',
  reconnecting: 'Offline — reconnecting. Actions are paused until the connection is back.',
  resyncing: 'Catching up with what happened while offline…',
  stopped: 'Signed out.',
  unauthorized: 'Your session has ended: sign in again.',
};

/** Why actions are off right now, or null when the connection is live. */
function offlineReason() {
  return state === 'live' ? null : REASON[state] || 'Not connected.';
}

/** True once the connection was live and is not now: what is on screen may be out of date. */
export function stale() {
  return everLive && state !== 'live';
}

export function onConnectionChange(fn) {
  listeners.add(fn);
}

/** Takes the live client's state (from its `status` event). */
export function setConnectionState(next) {
  state = next;
  if (next === 'live') everLive = true;
  document.body.dataset.conn = next === 'live' ? 'live' : 'offline';
  const reason = offlineReason();
  const el = $('#offline-reason');
  if (el) setText(el, reason || '');
  gateLiveActions();
  for (const fn of listeners) fn(next);
}

/** Disables the buttons that need the server while offline, and gives back those it disabled. */
export function gateLiveActions(root = document) {
  const reason = offlineReason();
  for (const b of root.querySelectorAll('[data-live-action]')) {
    if (reason) {
      if (!b.disabled) {
        b.disabled = true;
        b.dataset.gated = '1';
      }
      if (b.dataset.gated) {
        b.title = reason;
        b.setAttribute('aria-describedby', 'offline-reason');
      }
    } else if (b.dataset.gated) {
      delete b.dataset.gated;
      b.disabled = false;
      b.removeAttribute('title');
      if (b.getAttribute('aria-describedby') === 'offline-reason') b.removeAttribute('aria-describedby');
    }
  }
}
