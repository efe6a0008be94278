// What calls the agent's attention: work assigned to them, mentions, decisions on their replies,
// SLA warnings on their conversations and a declared crisis. Each is a toast (those that need
// action stay until dismissed); with the agent's settings, also a short sound and a desktop
// notification (with the browser's permission); and while unread, a count in the tab title,
// "(3) Queue · Chorus", cleared as the agent dismisses them or opens the conversations concerned.

import { settings } from './settings.js';
import { onToastsChange, toast, unreadCount } from './toasts.js';

let baseTitle = document.title;

/** The page's title without the unread count (the views set it). */
export function setBaseTitle(title) {
  baseTitle = title;
  showTitle();
}

function showTitle() {
  const n = unreadCount();
  const title = n ? `(${n}) ${baseTitle}` : baseTitle;
  if (document.title !== title) document.title = title;
}

onToastsChange(showTitle);

/**
 * Calls the agent's attention. `kind`: assigned, mentions, approvals, sla, crisis (the settings'
 * switches); `title` heads the desktop notification; `sticky` for what needs action.
 */
export function attend({ kind, title, text, conversationId = null, action = null, sticky = false }) {
  toast(text, { action, sticky, counts: true, conversationId });
  const s = settings();
  if (!s.notify[kind]) return;
  if (s.sound) beep(kind);
  if (s.desktop) desktop(title, text, kind, conversationId, action);
}

// ---------------------------------------------------------------- sound

let audio = null;

/** A short tone: higher for new work and mentions, lower for warnings and crises. */
function beep(kind) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  try {
    audio ||= new Ctx();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    const t = audio.currentTime;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = kind === 'sla' || kind === 'crisis' ? 523 : 880;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.3);
  } catch (e) {
    console.warn('sound', e);
  }
}

// ---------------------------------------------------------------- desktop notifications

function desktop(title, body, kind, conversationId, action) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag: conversationId != null ? `chorus-${kind}-${conversationId}` : `chorus-${kind}-${Date.now()}` });
    n.onclick = () => {
      window.focus();
      action?.run();
      n.close();
    };
  } catch (e) {
    // Some browsers only allow notifications from a service worker.
    console.warn('desktop notification', e);
  }
}
