// The open conversation's internal notes (with @mentions that notify colleagues) and its tags
// (added and removed by whoever holds it), in the pane's side column.

import { ctx, open } from './agent-state.js';
import { applySummary } from './conversation.js';
import { conflictText, paneState, tokenOf } from './holding.js';
import { renderThread } from './thread-view.js';
import { h, replaceChildren, setText } from './util.js';

// ---------------------------------------------------------------- notes

export function notesForm(el) {
  el.note = h('textarea', { id: 'note-text', rows: 2, 'aria-describedby': 'note-help' });
  el.mention = mentionSelect(el);
  el.noteMsg = h('p', { class: 'small', role: 'status' });
  return h(
    'form',
    { class: 'card', 'aria-labelledby': 'notes-h', onsubmit: (e) => { e.preventDefault(); return addNote(el); } },
    h('h3', { id: 'notes-h' }, 'Internal note'),
    h('label', { for: 'note-text' }, 'Note (only colleagues see it)'),
    el.note,
    h('p', { id: 'note-help', class: 'small muted' }, 'Type @name to notify a colleague.'),
    h('div', { class: 'composer-row' }, h('label', { for: 'mention-select', class: 'visually-hidden' }, 'Mention a colleague'), el.mention, h('button', { type: 'submit' }, 'Add note')),
    el.noteMsg,
  );
}

/** "Mention a colleague…": picking one writes their @handle into the note. */
function mentionSelect(el) {
  const handleOf = (a) => a.email.split('@')[0];
  const select = h(
    'select',
    { id: 'mention-select', onchange: () => {
      const handle = select.value;
      if (handle) {
        el.note.value = `${el.note.value}${el.note.value && !el.note.value.endsWith(' ') ? ' ' : ''}@${handle} `;
        el.note.focus();
      }
      select.value = '';
    } },
    h('option', { value: '' }, 'Mention a colleague…'),
    [...ctx.agents.values()].filter((a) => a.id !== ctx.me.id && a.active).map((a) => h('option', { value: handleOf(a) }, `${a.name} (@${handleOf(a)})`)),
  );
  return select;
}

async function addNote(el) {
  const text = el.note.value.trim();
  if (!text) return;
  try {
    const ack = await ctx.live.send({ type: 'note', conversation_id: open.id, text });
    if (!open.notes.some((n) => n.id === ack.note.id)) open.notes.push(ack.note);
    el.note.value = '';
    setText(el.noteMsg, ack.note.mentions?.length ? `Note added; ${ack.note.mentions.length} colleague(s) notified.` : 'Note added.');
    renderThread();
  } catch (err) {
    setText(el.noteMsg, `Could not add the note: ${err.message}`);
  }
}

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
    h('div', { class: 'composer-row' }, el.tagInput, h('button', { type: 'submit' }, 'Add tag')),
    el.tagMsg,
  );
}

export function renderTags() {
  const el = open.el;
  const iHold = paneState(open.summary).canWork;
  replaceChildren(
    el.tagList,
    (open.summary.tags || []).map((t) =>
      h('li', { class: 'tag' }, t, iHold ? h('button', { type: 'button', class: 'ghost', 'aria-label': `Remove tag ${t}`, onclick: () => changeTags([], [t]) }, '×') : ''),
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
