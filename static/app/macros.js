// Macros in the composer: the example responses as the server renders them for this
// conversation and this agent (GET /api/v1/conversations/{id}/macros?q=…: the customer's first
// name and handle, the agent's first name, the brand, the order reference filled in; what it
// could not fill stays as written and is listed as `missing`), with what each may also do once
// its reply is sent: add tags, set the status, escalate.
//
// "/" at the start of an empty reply, the Macros button or the "/" key opens a searchable picker
// (the ARIA combobox pattern: a search box that owns a listbox; arrow keys move, Enter inserts,
// Esc closes). The macro's text goes into the draft, to be edited and sent like any reply — so
// approval rules and the private-details check apply as always — and its actions run after the
// reply was accepted, saying what they did. An older server without the route offers its example
// responses, with the customer's name filled in here, and no actions.

import { ctx, open } from './agent-state.js';
import { query } from './api.js';
import { resolve, setStatus } from './claims.js';
import { updateCounter } from './composer.js';
import { escalateTo } from './conversation-escalation.js';
import { applySummary } from './conversation.js';
import { plainError } from './errors.js';
import { tokenOf } from './holding.js';
import { debounced, h, replaceChildren, setText } from './util.js';

const VARIABLE = /\{\{\s*[\w.]+\s*\}\}/;
const MISSING_WORDS = {
  order_ref: 'the order reference',
  'customer.first_name': "the customer's first name",
  'customer.handle': "the customer's handle",
  'agent.first_name': 'your first name',
  'brand.name': 'the brand',
};
const STATUS_WORDS = { pending: 'set it to waiting on the customer', resolved: 'resolve it' };

let found = []; // the macros listed now
let active = -1; // the option the arrow keys are on
let asked = 0; // the latest search (older answers are dropped)
let hasRoute = true; // false on a server without the macros route

/** The picker, built into the composer (hidden until opened). */
export function macroPicker(el) {
  el.macroSearch = h('input', {
    id: 'macro-search',
    type: 'search',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': 'macro-list',
    'aria-describedby': 'macro-help',
    autocomplete: 'off',
    placeholder: 'Search macros',
  });
  el.macroList = h('ul', { id: 'macro-list', role: 'listbox', 'aria-label': 'Macros' });
  el.macroStatus = h('p', { id: 'macro-status', class: 'small muted', role: 'status' });
  el.picker = h(
    'div',
    { class: 'macro-picker', hidden: true },
    h('label', { for: 'macro-search', class: 'small' }, 'Insert a macro'),
    el.macroSearch,
    el.macroList,
    el.macroStatus,
    h('p', { id: 'macro-help', class: 'small muted' }, '↑ ↓ choose · Enter inserts · Esc closes'),
  );
  el.macroSearch.addEventListener('input', () => search(el.macroSearch.value));
  el.macroSearch.addEventListener('keydown', onKey);
  el.macroSearch.addEventListener('blur', () => {
    // Leaving the picker (Tab, a click elsewhere) closes it; choosing with the mouse lands first.
    setTimeout(() => {
      if (open?.el?.picker && !open.el.picker.contains(document.activeElement)) closePicker(false);
    }, 150);
  });
  return el.picker;
}

/** Opens the picker (the macros of this conversation, searchable). */
export function openMacroPicker() {
  const el = open?.el;
  if (!el || el.text.disabled) return;
  el.picker.hidden = false;
  el.macroSearch.setAttribute('aria-expanded', 'true');
  el.macroButton.setAttribute('aria-expanded', 'true');
  el.macroSearch.value = '';
  el.macroSearch.focus();
  load('');
}

function closePicker(backToText = true) {
  const el = open?.el;
  if (!el || el.picker.hidden) return;
  el.picker.hidden = true;
  el.macroSearch.setAttribute('aria-expanded', 'false');
  el.macroSearch.removeAttribute('aria-activedescendant');
  el.macroButton.setAttribute('aria-expanded', 'false');
  if (backToText) el.text.focus();
}

function onKey(e) {
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    if (!found.length) return;
    const step = e.key === 'ArrowDown' ? 1 : -1;
    setActive((active + step + found.length) % found.length);
  } else if (e.key === 'Enter') {
    e.preventDefault();
    if (found[active]) insert(found[active]);
  } else if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    closePicker(true);
  } else if (e.key === 'Home' || e.key === 'End') {
    if (!found.length) return;
    e.preventDefault();
    setActive(e.key === 'Home' ? 0 : found.length - 1);
  }
}

const search = debounced((q) => load(q), 150);

async function load(q) {
  const id = open?.id;
  const el = open?.el;
  if (id == null || !el) return;
  const mine = ++asked;
  setText(el.macroStatus, 'Searching…');
  let list;
  try {
    list = hasRoute ? await ctx.api.get(`/api/v1/conversations/${id}/macros${query({ q })}`) : await examples(q);
  } catch (e) {
    // The conversation is open, so a 404 means a server without the route.
    if (e.status === 404 && hasRoute) {
      hasRoute = false;
      list = await examples(q).catch(() => []);
    } else {
      if (mine === asked) setText(el.macroStatus, `Could not load the macros: ${plainError(e)}`);
      return;
    }
  }
  if (mine !== asked || open?.id !== id) return;
  found = list;
  replaceChildren(
    el.macroList,
    list.map((m, i) =>
      h(
        'li',
        { id: `macro-opt-${m.id}`, role: 'option', class: 'macro-option', 'aria-selected': 'false', dataset: { macroId: m.id }, onmousedown: (e) => e.preventDefault(), onclick: () => insert(m) },
        h('span', { class: 'macro-title' }, m.title),
        h('span', { class: 'macro-topic small muted' }, ` · ${m.topic}`),
        h('span', { class: 'macro-preview small' }, m.text),
        actionsText(m.actions) ? h('span', { class: 'macro-actions small muted' }, `Also ${actionsText(m.actions)}`) : '',
      ),
    ),
  );
  setText(el.macroStatus, list.length ? `${list.length} macro${list.length === 1 ? '' : 's'}` : q ? `No macro matches “${q}”.` : 'No macros yet.');
  setActive(list.length ? 0 : -1);
}

/** The example responses, for a server without macros: the customer's name filled in here. */
async function examples(q) {
  const list = await ctx.api.get(`/api/v1/example-responses${query({ q })}`);
  const name = open.detail.customer.display_name || 'there';
  return list.map((x) => ({ id: x.id, topic: x.topic, title: x.title, tone_notes: x.tone_notes, text: x.body.replaceAll('{name}', name), actions: null, missing: [] }));
}

function setActive(i) {
  const el = open.el;
  active = i;
  [...el.macroList.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
  const li = el.macroList.children[i];
  if (li) {
    el.macroSearch.setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  } else el.macroSearch.removeAttribute('aria-activedescendant');
}

/** "tag it refund, set it to waiting on the customer" — what a macro does besides its text. */
function actionsText(a) {
  if (!a) return '';
  const parts = [];
  if (a.add_tags?.length) parts.push(`tags it ${a.add_tags.join(', ')}`);
  if (a.set_status) parts.push(a.set_status === 'resolved' ? 'resolves it' : 'sets it to waiting on the customer');
  if (a.escalate_to) parts.push(`escalates it to ${ctx.groupName(a.escalate_to)}`);
  return parts.join(', ');
}

/** Puts the macro's text into the draft (at the cursor, or as the draft when empty). */
function insert(m) {
  const el = open.el;
  closePicker(false);
  const t = el.text;
  if (!t.value.trim()) t.value = m.text;
  else t.setRangeText(m.text, t.selectionStart ?? t.value.length, t.selectionEnd ?? t.value.length, 'end');
  open.macro = { id: m.id, title: m.title, actions: m.actions || null };
  const missing = (m.missing || []).map((v) => MISSING_WORDS[v] || v);
  const does = actionsText(m.actions);
  setText(
    el.macroNote,
    [
      `Macro “${m.title}” inserted.`,
      does ? `When the reply is sent it also ${does}.` : '',
      missing.length ? `Fill in ${missing.join(' and ')} (selected).` : '',
      m.tone_notes ? `Tone: ${m.tone_notes}` : '',
    ]
      .filter(Boolean)
      .join(' '),
  );
  updateCounter();
  t.focus();
  const gap = VARIABLE.exec(t.value);
  if (gap) t.setSelectionRange(gap.index, gap.index + gap[0].length);
}

/** The draft was cleared: its macro's actions no longer apply. */
export function forgetMacro() {
  if (!open?.macro) return;
  open.macro = null;
  if (open.el) setText(open.el.macroNote, '');
}

/** Runs a macro's actions once its reply was accepted, and says what was done. */
export async function applyMacroActions(id, macro, reply) {
  open.macro = null;
  const el = open.el;
  setText(el.macroNote, '');
  const a = macro.actions;
  if (!a || !actionsText(a)) return;
  const done = [];
  const notDone = [];
  try {
    if (a.add_tags?.length) {
      const ack = await ctx.live.send({ type: 'tags', conversation_id: id, fence_token: tokenOf(id), add: a.add_tags, remove: [] });
      if (open?.id === id) applySummary({ tags: ack.tags });
      done.push(`tagged it ${a.add_tags.join(', ')}`);
    }
    if (a.escalate_to) {
      await escalateTo(a.escalate_to, `Macro “${macro.title}”`);
      done.push(`escalated it to ${ctx.groupName(a.escalate_to)}`);
      if (a.set_status) notDone.push(`did not ${STATUS_WORDS[a.set_status]}: escalating handed it over`);
    } else if (a.set_status && reply.status === 'held') {
      notDone.push(`did not ${STATUS_WORDS[a.set_status]}: the reply waits for approval`);
    } else if (a.set_status === 'resolved') {
      if (await resolve()) done.push('resolved it');
    } else if (a.set_status) {
      if (await setStatus(a.set_status)) done.push(STATUS_WORDS[a.set_status]);
    }
  } catch (e) {
    notDone.push(`stopped: ${plainError(e, ctx.agentName)}`);
  }
  const text = `Macro “${macro.title}”: ${[...done, ...notDone].join('; ') || 'nothing more to do'}.`;
  if (open?.el === el) setText(el.composerDone, text);
  ctx.announce(text);
}
