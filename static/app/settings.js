// Each agent's console settings, kept on the server (GET / PUT /api/v1/me/settings): the theme
// (system, light, dark), the density of the queue, and what calls their attention (sound,
// desktop notifications, and for which kinds of event). The look is applied to <html>
// (data-theme, data-density) at once; the last look is remembered in this browser too, so the
// page does not flash the wrong theme before the server answers. A server without the endpoint
// (an older one) leaves the defaults in place, without an error.

import { openDialog } from './dialog.js';
import { plainError } from './errors.js';
import { $, setText } from './util.js';

const DEFAULTS = Object.freeze({
  theme: 'system',
  density: 'comfortable',
  sound: false,
  desktop: false,
  notify: Object.freeze({ assigned: true, mentions: true, approvals: true, sla: true, crisis: true }),
});

const LOOK_KEY = 'chorus_look'; // {theme, density}: the last look, for the first paint
const PATH = '/api/v1/me/settings';

let current = copy(DEFAULTS);
let api = null;
let stored = false; // the server keeps settings (the endpoint exists)
const listeners = new Set();
const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

function copy(s) {
  return { ...s, notify: { ...s.notify } };
}

/** The settings in force. */
export function settings() {
  return current;
}

/** Calls `fn(settings)` whenever they change. */
export function onSettings(fn) {
  listeners.add(fn);
}

/** Applies the theme and density to the page. */
function applyLook(s) {
  const root = document.documentElement;
  const theme = s.theme === 'system' ? (darkQuery.matches ? 'dark' : 'light') : s.theme;
  root.dataset.theme = theme;
  root.dataset.themeChoice = s.theme;
  root.dataset.density = s.density;
  root.style.colorScheme = theme;
}

/** The look remembered in this browser, before anyone signs in. */
export function applyRememberedLook() {
  let look = {};
  try {
    look = JSON.parse(localStorage.getItem(LOOK_KEY) || '{}') || {};
  } catch {
    look = {};
  }
  applyLook({ ...DEFAULTS, ...look });
  darkQuery.addEventListener('change', () => applyLook(current));
}

function use(s) {
  current = normalize(s);
  applyLook(current);
  localStorage.setItem(LOOK_KEY, JSON.stringify({ theme: current.theme, density: current.density }));
  for (const fn of listeners) fn(current);
}

/** The server's answer, with defaults for anything missing or unknown. */
function normalize(s) {
  const pick = (v, allowed, d) => (allowed.includes(v) ? v : d);
  const n = s?.notify || {};
  return {
    theme: pick(s?.theme, ['system', 'light', 'dark'], DEFAULTS.theme),
    density: pick(s?.density, ['comfortable', 'compact'], DEFAULTS.density),
    sound: s?.sound === true,
    desktop: s?.desktop === true,
    notify: Object.fromEntries(Object.keys(DEFAULTS.notify).map((k) => [k, n[k] !== false])),
  };
}

/** Reads the agent's settings from the server (defaults when it has none to give). */
export async function loadSettings(apiClient) {
  api = apiClient;
  try {
    const s = await api.get(PATH);
    stored = true;
    use(s);
  } catch (e) {
    stored = false;
    if (e.status !== 404) console.warn('settings', e);
    use(current);
  }
}

async function save(next) {
  if (!stored) {
    use(next);
    return 'Saved in this browser only: this server does not keep settings yet.';
  }
  const s = await api.put(PATH, next);
  use(s);
  return 'Settings saved.';
}

// ---------------------------------------------------------------- the dialog

/** Wires the settings dialog (index.html #settings-dialog) and the top bar's button. */
export function wireSettingsDialog() {
  const dialog = $('#settings-dialog');
  const form = $('#settings-form');
  $('#open-settings').addEventListener('click', openSettings);
  // Trying a theme or density shows it at once; Cancel (or Esc) puts the saved one back.
  form.addEventListener('change', (e) => {
    if (e.target.name === 'theme' || e.target.name === 'density') applyLook(readForm());
    if (e.target.id === 'set-desktop' && e.target.checked) askDesktopPermission(e.target);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const said = await save(readForm());
      dialog.close('saved');
      settingsMessage(said);
    } catch (err) {
      setText($('#settings-msg'), `Could not save: ${plainError(err)}`);
    } finally {
      button.disabled = false;
    }
  });
  $('#settings-cancel').addEventListener('click', () => dialog.close('cancel'));
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'saved') applyLook(current);
  });
}

let said = null; // where the console says "Settings saved." (the toast function)
export function sayWith(fn) {
  said = fn;
}
function settingsMessage(text) {
  if (said) said(text);
}

export function openSettings() {
  const dialog = $('#settings-dialog');
  fillForm(current);
  setText($('#settings-msg'), '');
  showPermission();
  openDialog(dialog, $(`#settings-form input[name="theme"][value="${current.theme}"]`));
}

function fillForm(s) {
  const form = $('#settings-form');
  for (const r of form.querySelectorAll('input[name="theme"]')) r.checked = r.value === s.theme;
  for (const r of form.querySelectorAll('input[name="density"]')) r.checked = r.value === s.density;
  $('#set-sound').checked = s.sound;
  $('#set-desktop').checked = s.desktop;
  for (const k of Object.keys(DEFAULTS.notify)) $(`#set-notify-${k}`).checked = s.notify[k];
}

function readForm() {
  const form = $('#settings-form');
  const value = (name) => form.querySelector(`input[name="${name}"]:checked`)?.value;
  return {
    theme: value('theme') || current.theme,
    density: value('density') || current.density,
    sound: $('#set-sound').checked,
    desktop: $('#set-desktop').checked,
    notify: Object.fromEntries(Object.keys(DEFAULTS.notify).map((k) => [k, $(`#set-notify-${k}`).checked])),
  };
}

/** Desktop notifications need the browser's permission: ask when they are switched on. */
async function askDesktopPermission(box) {
  if (!('Notification' in window)) {
    box.checked = false;
    showPermission('This browser has no desktop notifications.');
    return;
  }
  if (Notification.permission !== 'granted') {
    try {
      await Notification.requestPermission();
    } catch {
      // an old browser's callback form: the permission below says what happened
    }
  }
  if (Notification.permission !== 'granted') box.checked = false;
  showPermission();
}

function showPermission(text = null) {
  const el = $('#set-desktop-help');
  if (text) return setText(el, text);
  if (!('Notification' in window)) return setText(el, 'This browser has no desktop notifications.');
  const p = Notification.permission;
  setText(
    el,
    p === 'granted'
      ? 'The browser allows notifications from Chorus.'
      : p === 'denied'
        ? 'The browser blocks notifications from Chorus: allow them in the site settings to use this.'
        : 'Switching this on asks the browser for permission.',
  );
}
