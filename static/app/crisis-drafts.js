// While a crisis is active, its holding message and approved responses as drafts for the open
// conversation's reply (above the composer); only while there is something to send.

import { ctx, open } from './agent-state.js';
import { updateCounter } from './composer.js';
import { paneState } from './holding.js';
import { h, replaceChildren } from './util.js';

function insertDraft(text) {
  const t = open.el.text;
  t.value = text;
  updateCounter();
  t.focus();
}

/** The crisis' holding message and approved responses, as drafts for this reply. */
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
