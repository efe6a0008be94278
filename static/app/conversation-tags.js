// The open conversation's tags (added and removed by whoever holds it), in the side panel.
// Internal notes are written in the composer (composer.js, "Internal note").

import { ctx, open } from './agent-state.js';
import { applySummary } from './conversation.js';
import { conflictText, paneState, tokenOf } from './holding.js';
import { h, replaceChildren, setText } from './util.js';

// ---------------------------------------------------------------- tags

export function tagsForm(el) {
  el.tagList = h('ul', { class: 'tags', 'aria-label': 'Tags' });
  el.tagInput = h('input', { id: 'tag-input', placeholder: 'refund' });
  el.tagMsg = h('p', { class: 'small', role: 'status' });
  el.holderOnly.push(el.tagInput);
  return h(
    'form',
    { class: 'card', 'aria-labelledby': 'tags-h', onsubmit: (e) => {
      e.preventDefault();
      const tag = el.tagInput.value.trim();
      if (tag) changeTags([tag], []).then((ok) => ok && (el.tagInput.value = ''));
    } },
    h('h3', { id: 'tags-h' }, 'Tags'),
    el.tagList,
    h('label', { for: 'tag-input' }, 'Add a tag'),
    h('div', { class: 'composer-row' }, el.tagInput, h('button', { type: 'submit', 'data-live-action': true }, 'Add tag')),
    el.tagMsg,
  );
}

export function renderTags() {
  const el = open.el;
  const iHold = paneState(open.summary).canWork;
  replaceChildren(
    el.tagList,
    (open.summary.tags || []).map((t) =>
      h('li', { class: 'tag' }, t, iHold ? h('button', { type: 'button', class: 'ghost', 'data-live-action': true, 'aria-label': `Remove tag ${t}`, onclick: () => changeTags([], [t]) }, '×') : ''),
    ),
  );
}

async function changeTags(add, remove) {
  const token = tokenOf(open.id);
  if (token == null) return false;
  try {
    const ack = await ctx.live.send({ type: 'tags', conversation_id: open.id, fence_token: token, add, remove });
    setText(open.el.tagMsg, '');
    applySummary({ tags: ack.tags });
    return true;
  } catch (e) {
    setText(open.el.tagMsg, conflictText(open.id, e));
    return false;
  }
}
