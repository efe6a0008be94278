// Ready-made drafts for the composer: the example responses (searched over REST, grouped by
// topic, with the customer's name filled in) and, while a crisis is active, its holding message
// and approved responses.

import { ctx, open } from './agent-state.js';
import { query } from './api.js';
import { updateCounter } from './composer.js';
import { paneState } from './holding.js';
import { h, replaceChildren, setText } from './util.js';

let examples = null; // example responses, loaded when first needed

/** The example responses' search, select and "Use as draft", built into `el`. */
export function exampleRow(el) {
  el.examples = h('select', { id: 'example-select' }, h('option', { value: '' }, 'Example responses…'));
  el.exampleSearch = h('input', { id: 'example-search', type: 'search', placeholder: 'Search examples' });
  el.exampleSearch.addEventListener('input', () => loadExamples(el.exampleSearch.value));
  el.useExample = h('button', { type: 'button', onclick: useExample }, 'Use as draft');
  el.exampleNotes = h('p', { class: 'small muted', 'aria-live': 'polite' });
  return h(
    'div',
    { class: 'composer-row' },
    h('label', { for: 'example-search', class: 'visually-hidden' }, 'Search example responses'),
    el.exampleSearch,
    h('label', { for: 'example-select', class: 'visually-hidden' }, 'Example responses'),
    el.examples,
    el.useExample,
  );
}

export async function loadExamples(q) {
  try {
    const list = await ctx.api.get(`/api/v1/example-responses${query({ q })}`);
    examples = list;
    if (!open?.el) return;
    const byTopic = new Map();
    for (const x of list) {
      if (!byTopic.has(x.topic)) byTopic.set(x.topic, []);
      byTopic.get(x.topic).push(x);
    }
    replaceChildren(
      open.el.examples,
      h('option', { value: '' }, list.length ? `Example responses (${list.length})…` : 'No example responses'),
      [...byTopic].map(([topic, xs]) => h('optgroup', { label: topic }, xs.map((x) => h('option', { value: x.id }, x.title)))),
    );
  } catch (e) {
    console.warn('example responses', e);
  }
}

function useExample() {
  const id = Number(open.el.examples.value);
  const x = (examples || []).find((e) => e.id === id);
  if (!x) return;
  insertDraft(x.body.replaceAll('{name}', open.detail.customer.display_name || 'there'));
  setText(open.el.exampleNotes, x.tone_notes ? `Tone: ${x.tone_notes}` : '');
}

function insertDraft(text) {
  const t = open.el.text;
  t.value = text;
  updateCounter();
  t.focus();
}

/** The crisis banner's holding message and approved responses, as drafts for this reply. */
export function renderCrisisHelpers() {
  if (!open?.el) return;
  const crises = [...ctx.crises.values()];
  const s = open.summary;
  const linked = s.crisis_id != null ? ctx.crises.get(s.crisis_id) : null;
  const relevant = linked ? [linked] : crises;
  // Drafts go into the composer: only while there is something to send.
  const off = !paneState(s).canWork;
  replaceChildren(
    open.el.crisisBox,
    relevant.map((c) =>
      h(
        'div',
        { class: 'crisis-helper' },
        h('p', {}, h('strong', {}, linked ? `Part of crisis “${c.name}”` : `Crisis active: “${c.name}”`), linked && c.hold_replies ? ' — replies here wait for PR approval.' : ''),
        h('button', { type: 'button', disabled: off, onclick: () => insertDraft(c.holding_message) }, 'Use holding message'),
        ...(c.responses || []).map((r) => h('button', { type: 'button', disabled: off, onclick: () => insertDraft(r.text) }, `Use “${r.message_type}” (v${r.version})`)),
      ),
    ),
  );
}
