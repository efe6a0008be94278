// The audit view (`audit.read`): who changed what, when and from where, newest first, a page at a
// time, with the state before and after; CSV / NDJSON exports of the same filters.

import { query } from './api.js';
import { dayStart, errorText, exportFile, fullTime } from './archive.js';
import { $, h, setText } from './util.js';

let ctx;
let last = null; // the filters of the entries on screen (load more repeats them)
let shown = 0;
let loadedOnce = false;

export function init(c) {
  ctx = c;
  $('#audit-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  $('#audit-more').addEventListener('click', () => more());
  for (const format of ['csv', 'ndjson']) {
    const button = $(`#audit-export-${format}`);
    button.addEventListener('click', () => {
      const f = filters({ forExport: true });
      if (!f) return;
      exportFile(`/api/v1/audit/export${query({ ...f, format })}`, `audit.${format}`, button, $('#audit-error')).then(
        (name) => name && ctx.announce(`Export downloaded: ${name}.`),
      );
    });
  }
  // The newest entries are read the first time the view is shown (once the agents' names are
  // known), not at every sign-in or reconnection.
  const section = $('#view-audit');
  let ready = false;
  const firstLook = () => {
    if (ready && !section.hidden && !loadedOnce) {
      loadedOnce = true;
      search();
    }
  };
  new MutationObserver(firstLook).observe(section, { attributes: true, attributeFilter: ['hidden'] });
  ctx.loaders.push(async () => {
    ready = true;
    firstLook();
  });
}

function filters({ forExport = false } = {}) {
  const err = $('#audit-error');
  setText(err, '');
  const limit = $('#audit-limit').value.trim();
  if (!forExport && limit && !(/^\d+$/.test(limit) && +limit >= 1 && +limit <= 500)) {
    setText(err, 'Entries per page: 1 to 500.');
    $('#audit-limit').focus();
    return null;
  }
  return {
    actor: $('#audit-actor').value.trim(),
    action: $('#audit-action').value.trim(),
    target_type: $('#audit-target-type').value.trim(),
    target_id: $('#audit-target-id').value.trim(),
    q: $('#audit-q').value.trim(),
    since: dayStart($('#audit-since').value),
    until: dayStart($('#audit-until').value),
    ...(forExport ? {} : { limit }),
  };
}

async function search() {
  const f = filters();
  if (!f) return;
  const button = $('#audit-form button[type="submit"]');
  button.disabled = true;
  setText($('#audit-count'), 'Searching…');
  try {
    const page = await ctx.api.get(`/api/v1/audit${query(f)}`);
    last = f;
    shown = 0;
    $('#audit-rows').replaceChildren();
    show(page);
  } catch (e) {
    setText($('#audit-count'), '');
    setText($('#audit-error'), errorText(e));
  } finally {
    button.disabled = false;
  }
}

async function more() {
  const button = $('#audit-more');
  if (!last || !button.dataset.before) return;
  button.disabled = true;
  try {
    const page = await ctx.api.get(`/api/v1/audit${query({ ...last, before_id: button.dataset.before })}`);
    show(page)?.focus();
  } catch (e) {
    setText($('#audit-error'), errorText(e));
  } finally {
    button.disabled = false;
  }
}

/** Appends a page of entries; returns the first new row. */
function show(page) {
  const rows = page.entries.map(makeRow);
  $('#audit-rows').append(...rows);
  shown += rows.length;
  const more = page.next_before_id != null;
  setText($('#audit-count'), shown === 0 ? 'No entries found.' : `${shown} ${shown === 1 ? 'entry' : 'entries'} found${more ? ', more to load' : ''}.`);
  const button = $('#audit-more');
  button.hidden = !more;
  if (more) button.dataset.before = page.next_before_id;
  else delete button.dataset.before;
  return rows[0];
}

/** "agent:7" with the agent's name when the console knows it. */
function actorText(actor) {
  const m = /^agent:(\d+)$/.exec(actor);
  const a = m && ctx.agents.get(Number(m[1]));
  return a ? `${actor} (${a.name})` : actor;
}

/** JSON text pretty-printed (as text: it never becomes markup). */
function pretty(json) {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

function state(label, json) {
  if (json == null) return '';
  return h('details', { class: 'state' }, h('summary', {}, label), h('pre', { class: 'json' }, pretty(json)));
}

function makeRow(e) {
  return h(
    'tr',
    { tabindex: '-1', dataset: { entryId: e.id, action: e.action } },
    h('td', { class: 'nowrap' }, h('time', { datetime: e.at }, fullTime(e.at))),
    h('td', { class: 'actor' }, actorText(e.actor)),
    h('td', { class: 'action' }, h('code', {}, e.action)),
    h('td', { class: 'target' }, e.target_id != null ? `${e.target_type} ${e.target_id}` : e.target_type),
    h('td', {}, e.ip || '—'),
    h('td', { class: 'change' }, state('Before', e.before), state('After', e.after), e.before == null && e.after == null ? '—' : ''),
  );
}
