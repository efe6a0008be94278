// The archive view: full-text search of past messages and notes (`archive.search`), a page at a
// time, and CSV / NDJSON exports of the same filters for those with `archive.export`.

import { openConversation } from './agent.js';
import { ApiError, query } from './api.js';
import { plainError } from './errors.js';
import { $, h, NETWORK_NAME, setText } from './util.js';

let ctx;
let last = null; // the filters of the search on screen (load more repeats them)
let shown = 0;

export function init(c) {
  ctx = c;
  const form = $('#archive-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  $('#archive-more').addEventListener('click', () => more());
  const mayExport = (ctx.me.permissions || []).includes('archive.export');
  $('#archive-export').hidden = !mayExport;
  if (mayExport) {
    for (const format of ['csv', 'ndjson']) {
      const button = $(`#archive-export-${format}`);
      button.addEventListener('click', () => {
        const f = filters({ forExport: true });
        if (!f) return;
        exportFile(`/api/v1/archive/export${query({ ...f, format })}`, `archive.${format}`, button, $('#archive-error')).then(
          (name) => name && ctx.announce(`Export downloaded: ${name}.`),
        );
      });
    }
  }
}

/** The form's filters as query parameters, or null (and the reason shown) when one is wrong. */
function filters({ forExport = false } = {}) {
  const err = $('#archive-error');
  setText(err, '');
  const q = $('#archive-q').value.trim();
  if (!q && !forExport) return invalid(err, '#archive-q', 'Type the words to search for.');
  const customer = $('#archive-customer').value.trim();
  if (customer && !/^\d+$/.test(customer)) return invalid(err, '#archive-customer', 'The customer id is a number.');
  const limit = $('#archive-limit').value.trim();
  if (!forExport && limit && !(/^\d+$/.test(limit) && +limit >= 1 && +limit <= 200)) {
    return invalid(err, '#archive-limit', 'Results per page: 1 to 200.');
  }
  return {
    q,
    kind: $('#archive-kind').value,
    network: $('#archive-network').value,
    tag: $('#archive-tag').value.trim(),
    customer_id: customer,
    since: dayStart($('#archive-since').value),
    until: dayStart($('#archive-until').value),
    ...(forExport ? {} : { limit }),
  };
}

async function search() {
  const f = filters();
  if (!f) return;
  const button = $('#archive-form button[type="submit"]');
  button.disabled = true;
  setText($('#archive-count'), 'Searching…');
  try {
    const page = await ctx.api.get(`/api/v1/archive/search${query(f)}`);
    last = f;
    shown = 0;
    $('#archive-hits').replaceChildren();
    show(page);
  } catch (e) {
    setText($('#archive-count'), '');
    setText($('#archive-error'), errorText(e));
  } finally {
    button.disabled = false;
  }
}

async function more() {
  const button = $('#archive-more');
  if (!last || !button.dataset.before) return;
  button.disabled = true;
  try {
    const page = await ctx.api.get(`/api/v1/archive/search${query({ ...last, before_id: button.dataset.before })}`);
    const first = show(page);
    // Keyboard users carry on from the first new hit (the button may be gone now).
    first?.focus();
  } catch (e) {
    setText($('#archive-error'), errorText(e));
  } finally {
    button.disabled = false;
  }
}

/** Appends a page of hits; returns the first new item. */
function show(page) {
  const list = $('#archive-hits');
  const items = page.hits.map(makeHit);
  list.append(...items);
  shown += items.length;
  const more = page.next_before_id != null;
  const what = last.kind === 'notes' ? 'note' : 'message';
  setText(
    $('#archive-count'),
    shown === 0 ? `No ${what}s found.` : `${shown} ${what}${shown === 1 ? '' : 's'} found${more ? ', more to load' : ''}.`,
  );
  const button = $('#archive-more');
  button.hidden = !more;
  if (more) button.dataset.before = page.next_before_id;
  else delete button.dataset.before;
  return items[0];
}

function makeHit(x) {
  const author = x.author_name || (x.agent_id != null ? ctx.agentName(x.agent_id) : '') || 'unknown';
  const canOpen = !!document.getElementById('nav-agent');
  const open = canOpen
    ? h('button', { type: 'button', class: 'linklike open-conv', onclick: () => openConversation(x.conversation_id) }, `Open conversation ${x.conversation_id}`)
    : h('span', { class: 'small muted' }, `Conversation ${x.conversation_id}`);
  return h(
    'li',
    { class: `card hit ${x.kind}`, tabindex: '-1', dataset: { hitId: x.id, conversationId: x.conversation_id, network: x.network } },
    h(
      'p',
      { class: 'small muted hit-meta' },
      h('span', { class: 'badge' }, x.kind),
      h('span', { class: 'badge' }, NETWORK_NAME[x.network] || x.network),
      x.kind === 'message' ? h('span', { class: `badge visibility ${x.visibility || ''}` }, [x.direction, x.visibility].filter(Boolean).join(' · ')) : '',
      h('span', { class: 'author' }, author),
      ' · ',
      h('time', { datetime: x.at }, fullTime(x.at)),
      ` · customer ${x.customer_id}`,
    ),
    // The text goes in as a text node, never as markup.
    h('p', { class: 'text' }, x.text),
    open,
  );
}

// ------------------------------------------------------------------ shared with audit.js

/** "2026-11-01" from a date input → "2026-11-01T00:00:00Z" (empty stays empty). */
export function dayStart(value) {
  return value ? `${value}T00:00:00Z` : '';
}

/** Date and time in the reader's locale. */
export function fullTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function errorText(e) {
  return plainError(e, ctx?.agentName);
}

function invalid(errEl, selector, text) {
  setText(errEl, text);
  $(selector).focus();
  return null;
}

/**
 * Downloads an export: the API wants the bearer token, so the file is fetched here and handed to
 * the browser as a blob with a temporary <a download>. Resolves to the file's name, or null
 * when it failed (and the reason is shown in `errEl`).
 */
export async function exportFile(path, fallbackName, button, errEl) {
  setText(errEl, '');
  button.disabled = true;
  try {
    const headers = { Accept: 'text/csv, application/x-ndjson, application/json' };
    const token = sessionStorage.getItem('chorus_token');
    if (token) headers.Authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch(path, { headers });
    } catch (e) {
      throw new ApiError(0, 'network', `cannot reach the server (${e.message})`);
    }
    if (!res.ok) {
      const text = await res.text();
      let err = null;
      try {
        err = JSON.parse(text).error;
      } catch {
        // not the JSON error shape
      }
      throw new ApiError(res.status, err?.code || `http_${res.status}`, err?.message || res.statusText);
    }
    const blob = await res.blob();
    const name = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '')?.[1] || fallbackName;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    return name;
  } catch (e) {
    setText(errEl, `Export failed: ${errorText(e)}`);
    return null;
  } finally {
    button.disabled = false;
  }
}
