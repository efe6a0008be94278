// Keyboard shortcuts: one registry, one listener, and the "?" dialog that lists every shortcut
// from that same registry (so the list is never out of date). Single keys never fire while the
// agent types in a field or while a dialog is open; "g" starts a two-key sequence ("g s").

import { dialogOpen, openDialog } from './dialog.js';
import { $, h, replaceChildren } from './util.js';

const SEQUENCE_MS = 1500;
const shortcuts = []; // {keys, label, group, run, when}
let pending = null; // the first key of a sequence ("g"), until SEQUENCE_MS passes

/**
 * Adds a shortcut. `keys`: "n", "Shift+E", "?", "g s" (a sequence), or several separated by
 * " or " ("g s or ,"). `when()` false leaves the key to the page. `info` lists a key handled
 * elsewhere (Ctrl+Enter in the composer) without binding it here.
 */
export function shortcut(keys, label, run, { group = 'General', when = null, info = false } = {}) {
  shortcuts.push({ keys, label, run, group, when, info, variants: info ? [] : keys.split(' or ').map((k) => k.trim().split(' ')) });
}

/** A key press as the registry writes it: "n", "Shift+E", "?", "Escape". */
function keyName(e) {
  if (e.key.length === 1 && /[a-z]/i.test(e.key)) return e.shiftKey ? `Shift+${e.key.toUpperCase()}` : e.key.toLowerCase();
  return e.key;
}

/** True when the key goes to a field the agent is typing in. */
function typingIn(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(target.type);
}

export function wireShortcuts() {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (typingIn(e.target) || dialogOpen()) return;
    const key = keyName(e);
    if (['Shift', 'Control', 'Alt', 'Meta'].includes(key)) return;
    const typed = pending ? [pending.key, key] : [key];
    clearTimeout(pending?.timer);
    pending = null;
    const match = shortcuts.find((s) => s.variants.some((v) => v.length === typed.length && v.every((k, i) => k === typed[i])) && (!s.when || s.when()));
    if (match) {
      e.preventDefault();
      match.run(e);
      return;
    }
    // The first key of a sequence waits for the second.
    if (typed.length === 1 && shortcuts.some((s) => s.variants.some((v) => v.length === 2 && v[0] === key))) {
      e.preventDefault();
      pending = { key, timer: setTimeout(() => (pending = null), SEQUENCE_MS) };
    }
  });
  $('#open-shortcuts').addEventListener('click', showShortcuts);
  $('#shortcuts-close').addEventListener('click', () => $('#shortcuts-dialog').close());
}

/** The "?" dialog: every shortcut, by group. */
export function showShortcuts() {
  const groups = new Map();
  for (const s of shortcuts) {
    if (!groups.has(s.group)) groups.set(s.group, []);
    groups.get(s.group).push(s);
  }
  replaceChildren(
    $('#shortcuts-list'),
    [...groups].map(([group, list]) =>
      h(
        'section',
        { class: 'shortcut-group', 'aria-label': group },
        h('h3', {}, group),
        h(
          'dl',
          { class: 'shortcut-table' },
          list.map((s) => h('div', { class: 'shortcut', dataset: { keys: s.keys } }, h('dt', {}, s.info ? h('kbd', {}, s.keys) : keysText(s.keys)), h('dd', {}, s.label))),
        ),
      ),
    ),
  );
  openDialog($('#shortcuts-dialog'), $('#shortcuts-close'));
}

/** "g s or ," as <kbd>s: "g then s, or ,". */
function keysText(keys) {
  return keys.split(' or ').flatMap((variant, i) => [
    i ? h('span', { class: 'muted' }, ' or ') : '',
    ...variant
      .trim()
      .split(' ')
      .flatMap((k, j) => [j ? h('span', { class: 'muted' }, ' then ') : '', h('kbd', {}, k)]),
  ]);
}
