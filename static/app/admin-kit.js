// What every admin screen is made of (issue 25, "Admin screens"): a table of the resource's
// rows, a "New" button, an edit form in a dialog, row actions (delete, disable…), the server's
// validation errors shown next to the field they name, and a list that re-reads itself when
// `settings.changed` says someone changed the resource, without touching a form that is open
// (which says so when its own row changed).
//
// A screen is described by a plain object (see admin-people.js and the other admin-*.js files):
//   id, title, noun, permission, resources (the `settings.changed` names it follows), intro,
//   load(api, ctx) → rows, key(row), name(row), columns [{label, cell(row, ctx)}],
//   fields(ctx, row|null) → field specs, initial(row|null, ctx) → form values,
//   create(api, values, ctx) / update(api, row, values, ctx) → the saved row (or {secret…}),
//   canCreate(ctx), canEdit(row, ctx), actions [{label, when, run, confirm, danger}],
//   signature(row) (what counts as "changed by someone else"), empty (text for no rows).
//
// Field specs: {name, label, type, required, min, max, maxlength, help, options, number,
// show(values), errors: [RegExp…]}; types: text, email, password, url, number, textarea,
// select, checkbox, checkboxes, list (comma separated), datetime, info, group (a fieldset of
// `fields`), rows (a repeated set of `columns`).

import { ApiError } from './api.js';
import { openDialog } from './dialog.js';
import { plainError } from './errors.js';
import { $, h, reconcile, replaceChildren, setText } from './util.js';

export const NETWORKS = [
  ['x', 'X'],
  ['facebook', 'Facebook'],
  ['instagram', 'Instagram'],
  ['whatsapp', 'WhatsApp'],
];
export const GROUPS = [
  ['team_lead', 'Team lead'],
  ['pr', 'PR'],
  ['legal', 'Legal'],
];
export const groupName = (g) => GROUPS.find(([v]) => v === g)?.[1] ?? g;
export const networkName = (n) => NETWORKS.find(([v]) => v === n)?.[1] ?? n;

/** "a, b,, c" → ["a", "b", "c"] (commas or new lines). */
export function splitList(text) {
  return String(text ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** An RFC 3339 time as the value of an <input type="datetime-local"> (the reader's time). */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** A datetime-local value as RFC 3339 (null when empty; as typed when unreadable, for the server to refuse). */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** "4 Dec 2026, 20:31" in the reader's locale. */
export function shortTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** Tags an error with the form field it belongs to (a second request of a multi-step save). */
export async function forField(name, promise) {
  try {
    return await promise;
  } catch (e) {
    if (e && typeof e === 'object') e.field = name;
    throw e;
  }
}

/** What the server's API document says it supports (fields added by newer servers). */
let openapi = null;
export function apiDocument() {
  if (!openapi) {
    openapi = fetch('/api/openapi.json', { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
  }
  return openapi;
}

/** True when the server's document lists `prop` in schema `schema` (unknown document: true). */
export async function serverKnows(schema, prop) {
  const doc = await apiDocument();
  const s = doc?.components?.schemas?.[schema];
  if (!s) return !doc;
  const props = (x) => ({ ...(x.properties || {}), ...Object.assign({}, ...(x.allOf || []).map(props)) });
  return prop in props(s);
}

// ------------------------------------------------------------------------------------ fields

let uid = 0;

/** The controls of one form: builds them, reads them, marks errors on them. */
export class Fields {
  constructor(specs, values, prefix) {
    this.prefix = `${prefix}-${++uid}`;
    this.byName = new Map();
    this.root = h('div', { class: 'adm-fields' }, specs.filter(Boolean).map((s) => this.build(s, values)));
    this.root.addEventListener('input', () => this.refresh());
    this.root.addEventListener('change', () => this.refresh());
    this.refresh();
  }

  id(name) {
    return `${this.prefix}-${String(name).replace(/[^a-z0-9]+/gi, '-')}`;
  }

  build(spec, values) {
    if (spec.type === 'group') {
      const wrap = h('fieldset', { class: `adm-group${spec.wide === false ? '' : ' wide'}` }, h('legend', {}, spec.legend), spec.help ? h('p', { class: 'small muted' }, spec.help) : '', spec.fields.filter(Boolean).map((s) => this.build(s, values)));
      if (spec.show) this.byName.set(`#group-${spec.legend}`, { spec, wrap, read: () => undefined, controls: [] });
      return wrap;
    }
    const f = field(spec, values[spec.name], this.id(spec.name));
    this.byName.set(spec.name, f);
    return f.wrap;
  }

  /** Every field's value, by name (hidden ones included). */
  values() {
    const v = {};
    for (const [name, f] of this.byName) if (!name.startsWith('#')) v[name] = f.read();
    return v;
  }

  /** Shows the fields whose `show(values)` holds. */
  refresh() {
    const v = this.values();
    for (const f of this.byName.values()) if (f.spec.show) f.wrap.hidden = !f.spec.show(v);
  }

  visible() {
    return [...this.byName.values()].filter((f) => !f.spec.name?.startsWith?.('#') && f.spec.type !== 'info' && f.controls.length && !f.wrap.closest('[hidden]'));
  }

  clearErrors() {
    for (const f of this.byName.values()) if (f.err) f.setError(null);
  }

  /** The visible field a server message names: its own patterns first, then its API name as a word. */
  fieldFor(message, values) {
    const fields = this.visible();
    const text = String(message || '');
    for (const f of fields) for (const re of f.spec.errors || []) if (typeof re === 'function' ? re(text, values) : re.test(text)) return f;
    const names = fields.flatMap((f) => [f.spec.name, ...(f.spec.aliases || [])].map((n) => [n, f])).sort((a, b) => b[0].length - a[0].length);
    for (const [n, f] of names) {
      const escaped = n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (new RegExp(`(^|[^a-z0-9_])${escaped}($|[^a-z0-9_])`, 'i').test(text)) return f;
    }
    return fields.length === 1 ? fields[0] : null;
  }
}

const req = () => h('span', { class: 'adm-req', 'aria-hidden': 'true' }, ' *');

/** One field: {spec, wrap, controls, read(), setError(text), focus()}. */
function field(spec, value, id) {
  const helpId = spec.help ? `${id}-help` : null;
  const errId = `${id}-error`;
  const err = h('p', { class: 'adm-field-error', id: errId, hidden: true });
  const help = spec.help ? h('p', { class: 'small muted adm-help', id: helpId }, spec.help) : '';
  const describe = (extra = []) => [helpId, ...extra].filter(Boolean).join(' ') || null;
  const f = { spec, err, controls: [] };
  const type = spec.type || 'text';

  if (type === 'info') {
    f.wrap = h('div', { class: 'field adm-info' }, h('span', { class: 'adm-label' }, spec.label), h('p', { id }, spec.text ?? String(value ?? '—')), help);
    f.read = () => value;
  } else if (type === 'checkbox') {
    const input = h('input', { type: 'checkbox', id, name: spec.name, 'aria-describedby': describe() });
    input.checked = Boolean(value);
    f.controls = [input];
    f.wrap = h('div', { class: `field adm-check${spec.wide ? ' wide' : ''}` }, h('label', { class: 'check', for: id }, input, ' ', spec.label), help, err);
    f.read = () => input.checked;
  } else if (type === 'checkboxes') {
    const chosen = new Set((value || []).map(String));
    const options = spec.options || [];
    const boxes = options.map(([v, label, hint]) => {
      const box = h('input', { type: 'checkbox', name: spec.name, value: String(v), id: `${id}-${String(v).replace(/[^a-z0-9]+/gi, '-')}` });
      box.checked = chosen.has(String(v));
      return h('label', { class: 'check', for: box.id, title: hint || null }, box, ' ', label);
    });
    f.controls = boxes.map((l) => l.querySelector('input'));
    const legend = h('legend', {}, spec.label, spec.required ? req() : '');
    f.wrap = h('fieldset', { class: `field adm-checks${spec.grid ? ' adm-grid' : ''}${spec.wide === false ? '' : ' wide'}`, id, 'aria-describedby': describe([errId]) }, legend, help, options.length ? h('div', { class: 'adm-check-list' }, boxes) : h('p', { class: 'small muted' }, spec.none || 'None to choose from.'), err);
    f.read = () => f.controls.filter((b) => b.checked).map((b) => (spec.number ? Number(b.value) : b.value));
    if (spec.exclusive) {
      // One choice ("all events") that stands for every other.
      const sync = () => {
        const all = f.controls.find((b) => b.value === spec.exclusive);
        for (const b of f.controls) if (b !== all) b.disabled = all.checked;
      };
      f.wrap.addEventListener('change', sync);
      sync();
    }
  } else if (type === 'rows') {
    f.wrap = rowsField(spec, value, id, help, err, describe, f);
  } else {
    let control;
    if (type === 'textarea') {
      control = h('textarea', { id, name: spec.name, rows: spec.rows || 3, required: spec.required, maxlength: spec.maxlength });
      control.value = value ?? '';
    } else if (type === 'select') {
      control = h('select', { id, name: spec.name, required: spec.required }, (spec.options || []).map(([v, label]) => h('option', { value: String(v ?? '') }, label)));
      control.value = value === null || value === undefined ? '' : String(value);
      // A value the options no longer hold (a team since removed…) stays visible rather than lost.
      if (value != null && control.value !== String(value)) {
        control.append(h('option', { value: String(value) }, `${value} (unknown)`));
        control.value = String(value);
      }
    } else {
      const htmlType = { list: 'text', datetime: 'datetime-local' }[type] || type;
      control = h('input', {
        id,
        name: spec.name,
        type: htmlType,
        required: spec.required,
        min: spec.min,
        max: spec.max,
        step: spec.step,
        minlength: spec.minlength,
        maxlength: spec.maxlength,
        placeholder: spec.placeholder,
        autocomplete: spec.autocomplete || (type === 'password' ? 'new-password' : 'off'),
        inputmode: spec.inputmode,
        list: spec.datalist ? `${id}-list` : null,
        spellcheck: type === 'list' || type === 'url' || type === 'email' ? 'false' : null,
      });
      control.value = type === 'list' ? (value || []).join(', ') : value ?? '';
    }
    control.setAttribute('aria-describedby', describe());
    f.controls = [control];
    f.wrap = h(
      'div',
      { class: `field${spec.wide || type === 'textarea' ? ' wide' : ''}` },
      h('label', { for: id }, spec.label, spec.required ? req() : ''),
      control,
      spec.datalist ? h('datalist', { id: `${id}-list` }, spec.datalist.map((v) => h('option', { value: v }))) : '',
      help,
      err,
    );
    f.read = () => {
      const raw = control.value;
      if (type === 'list') return splitList(raw);
      if (type === 'number') return raw.trim() === '' ? null : Number(raw);
      if (type === 'select' && spec.number) return raw === '' ? null : Number(raw);
      if (type === 'select') return raw === '' ? null : raw;
      if (type === 'password') return raw;
      return raw.trim();
    };
  }

  f.wrap.dataset.field = spec.name;
  f.setError = (text) => {
    setText(err, text || '');
    err.hidden = !text;
    for (const c of f.controls) {
      if (text) c.setAttribute('aria-invalid', 'true');
      else c.removeAttribute('aria-invalid');
      // A group's error is described by the fieldset; a single control's by itself.
      if (f.controls.length === 1 && f.wrap.tagName !== 'FIELDSET') {
        const ids = new Set((c.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
        if (text) ids.add(errId);
        else ids.delete(errId);
        if (ids.size) c.setAttribute('aria-describedby', [...ids].join(' '));
        else c.removeAttribute('aria-describedby');
      }
    }
    f.wrap.classList.toggle('adm-invalid', Boolean(text));
  };
  f.focus = () => (f.controls.find((c) => !c.disabled) || f.wrap.querySelector('button'))?.focus();
  return f;
}

/** A repeated set of sub-fields (opening hours, rota shifts): add and remove rows. */
function rowsField(spec, value, id, help, err, describe, f) {
  const list = h('ol', { class: 'adm-rows' });
  const rows = []; // {li, parts: [[col, field]]}
  let n = 0;
  const renumber = () =>
    rows.forEach((r, i) => {
      setText(r.legend, `${spec.itemLabel || 'Row'} ${i + 1}`);
      r.remove.setAttribute('aria-label', `Remove ${(spec.itemLabel || 'row').toLowerCase()} ${i + 1}`);
    });
  const add = (item = {}, focus = false) => {
    n += 1;
    const parts = spec.columns.map((col) => [col, field(col, item[col.name], `${id}-${n}-${col.name}`)]);
    const legend = h('legend', {});
    const remove = h('button', { type: 'button', class: 'ghost adm-row-remove' }, 'Remove');
    const li = h('li', {}, h('fieldset', { class: 'adm-row' }, legend, h('div', { class: 'adm-row-fields' }, parts.map(([, p]) => p.wrap)), remove));
    const row = { li, parts, legend, remove };
    remove.addEventListener('click', () => {
      const i = rows.indexOf(row);
      rows.splice(i, 1);
      li.remove();
      renumber();
      refreshControls();
      (rows[i]?.parts[0][1] || rows[i - 1]?.parts[0][1])?.focus() ?? addButton.focus();
      f.wrap.dispatchEvent(new Event('change', { bubbles: true }));
    });
    rows.push(row);
    list.append(li);
    renumber();
    refreshControls();
    if (focus) parts[0][1].focus();
  };
  const addButton = h('button', { type: 'button', class: 'adm-row-add' }, spec.addLabel || 'Add');
  addButton.addEventListener('click', () => add({ ...(spec.blank ? spec.blank() : {}) }, true));
  const refreshControls = () => {
    f.controls = rows.flatMap((r) => r.parts.flatMap(([, p]) => p.controls));
  };
  for (const item of value || []) add(item);
  f.read = () => rows.map((r) => Object.fromEntries(r.parts.map(([col, p]) => [col.name, p.read()])));
  const wrap = h('fieldset', { class: 'field wide adm-rows-field', id, 'aria-describedby': describe([`${id}-error`]) }, h('legend', {}, spec.label), help, list, h('p', { class: 'small muted adm-rows-empty' }, spec.empty || ''), addButton, err);
  const empty = wrap.querySelector('.adm-rows-empty');
  const syncEmpty = () => (empty.hidden = rows.length > 0 || !spec.empty);
  new MutationObserver(syncEmpty).observe(list, { childList: true });
  syncEmpty();
  return wrap;
}

// ------------------------------------------------------------------------------------ dialogs

/** The dialog every admin form, secret and log opens in (one at a time). */
export function adminDialog() {
  let d = $('#admin-dialog');
  if (!d) {
    d = h('dialog', { id: 'admin-dialog', class: 'dialog wide adm-dialog', 'aria-labelledby': 'admin-dialog-h' });
    document.body.append(d);
  }
  return d;
}

/** Asks a yes/no question in a modal dialog; resolves true for yes. */
export function confirmAction(question, yes = 'Confirm', { danger = true } = {}) {
  let d = $('#admin-confirm');
  if (!d) {
    d = h('dialog', { id: 'admin-confirm', class: 'dialog', 'aria-labelledby': 'admin-confirm-h', 'aria-describedby': 'admin-confirm-text' });
    document.body.append(d);
  }
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: danger ? 'danger' : 'primary', id: 'admin-confirm-yes' }, yes);
    const no = h('button', { type: 'button', id: 'admin-confirm-no' }, 'Cancel');
    replaceChildren(d, h('div', { class: 'dialog-body' }, h('h2', { id: 'admin-confirm-h' }, 'Are you sure?'), h('p', { id: 'admin-confirm-text' }, question), h('div', { class: 'actions' }, ok, no)));
    d.returnValue = '';
    ok.addEventListener('click', () => d.close('yes'));
    no.addEventListener('click', () => d.close('no'));
    d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
    openDialog(d, no);
  });
}

// ------------------------------------------------------------------------------------ a screen

/**
 * A refusal in words. The server's validation messages often start with the field's API name
 * ("expires_at is in the past"): that stays as written rather than becoming "Expires_at".
 */
function refusal(e, nameOf) {
  const said = String(e?.message || '').trim();
  if (['validation', 'conflict'].includes(e?.code) && /^[a-z]+[_.][a-z_.]*\b/.test(said)) return /[.!?]$/.test(said) ? said : `${said}.`;
  return plainError(e, nameOf);
}

/** One resource's screen: its table, its form and what keeps them current. */
export class Screen {
  constructor(def, ctx) {
    this.def = def;
    this.ctx = ctx;
    this.rows = [];
    this.loaded = false;
    this.loading = null;
    this.again = false;
    this.editing = null; // {row, base, form, fields, stale}
    this.timer = null;
  }

  get noun() {
    return this.def.noun || 'item';
  }

  key(row) {
    return this.def.key ? this.def.key(row) : row.id;
  }

  name(row) {
    return this.def.name ? this.def.name(row) : `${this.noun} ${this.key(row)}`;
  }

  signature(row) {
    return JSON.stringify(this.def.signature ? this.def.signature(row) : row);
  }

  /** The panel (built once). */
  render() {
    const d = this.def;
    const hId = `adm-${d.id}-h`;
    this.count = h('span', { class: 'count' });
    this.newButton = h('button', { type: 'button', class: 'primary', id: `adm-${d.id}-new` }, d.newLabel || `New ${this.noun}`);
    this.newButton.addEventListener('click', () => this.openEditor(null));
    this.newButton.hidden = !this.mayCreate();
    this.msg = h('p', { class: 'pane-msg adm-msg', id: `adm-${d.id}-msg`, role: 'status', 'aria-live': 'polite' });
    this.body = h('tbody', { id: `adm-${d.id}-rows` });
    this.empty = h('p', { class: 'empty', hidden: true }, d.empty || `No ${this.noun}s yet.`);
    this.table = h(
      'div',
      { class: 'card table-wrap adm-table-wrap' },
      h(
        'table',
        { class: 'table adm-table', 'aria-labelledby': hId },
        h('thead', {}, h('tr', {}, d.columns.map((c) => h('th', { scope: 'col' }, c.label)), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        this.body,
      ),
    );
    this.panel = h(
      'section',
      { class: 'adm-panel', id: `adm-panel-${d.id}`, role: 'tabpanel', 'aria-labelledby': `adm-tab-${d.id}`, dataset: { screen: d.id }, hidden: true },
      h('div', { class: 'pane-head' }, h('h3', { id: hId, tabindex: '-1' }, d.title, ' ', this.count), this.newButton),
      d.intro ? h('p', { class: 'small muted adm-intro' }, d.intro) : '',
      this.msg,
      this.table,
      this.empty,
    );
    return this.panel;
  }

  mayCreate() {
    return Boolean(this.def.create) && (this.def.canCreate ? this.def.canCreate(this.ctx) : true);
  }

  mayEdit(row) {
    return Boolean(this.def.update) && (this.def.canEdit ? this.def.canEdit(row, this.ctx) : true);
  }

  say(text) {
    setText(this.msg, text);
  }

  /** Reads the rows again (one request at a time; a change during a read reads once more). */
  load() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        const rows = await this.def.load(this.ctx.api, this.ctx);
        this.rows = rows;
        this.loaded = true;
        this.table.hidden = false;
        this.newButton.hidden = !this.mayCreate();
        this.draw();
        this.checkEditing();
        if (this.msg.dataset.kind === 'load-error') {
          this.say('');
          delete this.msg.dataset.kind;
        }
      } catch (e) {
        this.loaded = true;
        this.rows = [];
        this.draw();
        this.table.hidden = true;
        this.empty.hidden = true;
        const missing = e.status === 404 && this.def.missing;
        // A resource this server does not have cannot be created either.
        if (missing) this.newButton.hidden = true;
        this.say(missing ? this.def.missing : `Could not read the ${this.noun}s: ${plainError(e)}`);
        this.msg.dataset.kind = 'load-error';
      } finally {
        this.loading = null;
        if (this.again) {
          this.again = false;
          this.load();
        }
      }
    })();
    return this.loading;
  }

  /** A change somewhere: read again shortly (several events in a burst read once). */
  changed() {
    if (!this.loaded) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 100);
  }

  draw() {
    setText(this.count, this.loaded ? `(${this.rows.length})` : '');
    this.empty.hidden = this.rows.length > 0;
    reconcile(
      this.body,
      this.rows,
      (r) => this.key(r),
      () => h('tr', {}),
      (tr, row) => this.fillRow(tr, row),
    );
  }

  fillRow(tr, row) {
    // The cells hold only text (names of teams and agents may have changed: they are drawn
    // again); the buttons are rebuilt only when their set changed, so a focused one stays.
    const actions = this.actionsFor(row);
    const actionSig = actions.map((a) => a.label).join('|');
    tr.dataset.name = this.name(row);
    const cells = this.def.columns.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : { class: c.class || null }, c.cell(row, this.ctx) ?? '—'));
    const last = tr.querySelector('td.adm-actions-cell');
    tr.replaceChildren(...cells, last || h('td', { class: 'adm-actions-cell' }));
    const cell = tr.querySelector('td.adm-actions-cell');
    if (cell.dataset.sig !== actionSig || !cell.firstChild) {
      cell.dataset.sig = actionSig;
      cell.replaceChildren(
        h(
          'div',
          { class: 'adm-actions' },
          actions.map((a) => {
            const b = h('button', { type: 'button', class: a.danger ? 'adm-danger' : '', 'aria-label': `${a.label} ${this.name(row)}`, dataset: { action: a.id } }, a.label);
            b.addEventListener('click', () => this.runAction(a.id, this.key(row), b));
            return b;
          }),
        ),
      );
    }
    tr.dataset.key = String(this.key(row));
  }

  actionsFor(row) {
    const list = [];
    if (this.mayEdit(row)) list.push({ id: 'edit', label: 'Edit' });
    for (const a of this.def.actions || []) if (!a.when || a.when(row, this.ctx)) list.push({ id: a.id, label: typeof a.label === 'function' ? a.label(row) : a.label, danger: a.danger });
    return list;
  }

  async runAction(id, key, button) {
    const row = this.rows.find((r) => String(this.key(r)) === String(key));
    if (!row) return;
    if (id === 'edit') return this.openEditor(row);
    const a = (this.def.actions || []).find((x) => x.id === id);
    if (a.confirm && !(await confirmAction(a.confirm(row, this.ctx), typeof a.label === 'function' ? a.label(row) : a.label, { danger: a.danger !== false }))) return;
    button.disabled = true;
    try {
      const said = await a.run(this.ctx.api, row, this);
      if (said) {
        this.say(said);
        this.ctx.announce(said);
      }
      await this.load();
    } catch (e) {
      const text = `${typeof a.label === 'function' ? a.label(row) : a.label} ${this.name(row)}: ${plainError(e, this.ctx.agentName)}`;
      this.say(text);
      this.ctx.announce(text);
    } finally {
      if (button.isConnected) button.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------- the form

  openEditor(row) {
    const d = this.def;
    const dialog = adminDialog();
    const values = d.initial ? d.initial(row, this.ctx) : { ...row };
    const fields = new Fields(d.fields(this.ctx, row), values, `adm-${d.id}-f`);
    const title = row ? `Edit ${this.noun} “${this.name(row)}”` : d.newTitle || `New ${this.noun}`;
    const top = h('p', { class: 'error adm-form-error', id: 'admin-form-error', role: 'alert' });
    const stale = h('div', { class: 'adm-stale', id: 'admin-form-stale', role: 'status', hidden: true });
    const submit = h('button', { type: 'submit', class: 'primary', id: 'admin-form-save' }, row ? 'Save changes' : d.createLabel || `Create ${this.noun}`);
    const cancel = h('button', { type: 'button', id: 'admin-form-cancel' }, 'Cancel');
    const form = h(
      'form',
      { class: 'dialog-body adm-form', novalidate: true, dataset: { screen: d.id, key: row ? String(this.key(row)) : '' } },
      h('div', { class: 'dialog-head' }, h('h2', { id: 'admin-dialog-h' }, title)),
      stale,
      top,
      fields.root,
      h('div', { class: 'actions' }, submit, cancel),
    );
    cancel.addEventListener('click', () => dialog.close('cancel'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit(row, fields, submit, top);
    });
    const wasOpen = dialog.open;
    replaceChildren(dialog, form);
    this.editing = { row, base: row ? this.signature(row) : null, form, fields, stale };
    if (!wasOpen) {
      dialog.addEventListener('close', () => (this.editing = null), { once: true });
      openDialog(dialog, fields.visible()[0]?.controls[0] || null);
    } else {
      fields.visible()[0]?.focus();
    }
  }

  async submit(row, fields, button, top) {
    const d = this.def;
    fields.clearErrors();
    setText(top, '');
    const values = fields.values();
    // What the browser itself cannot read (letters in a number box) never reaches the server.
    const unreadable = fields.visible().find((f) => f.controls.some((c) => c.validity?.badInput));
    if (unreadable) {
      unreadable.setError('Enter a number.');
      unreadable.focus();
      return;
    }
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const result = row ? await d.update(this.ctx.api, row, values, this.ctx) : await d.create(this.ctx.api, values, this.ctx);
      const dialog = adminDialog();
      const saved = result?.row ?? result;
      const name = saved && typeof saved === 'object' && !Array.isArray(saved) ? this.name(saved) : row ? this.name(row) : '';
      const said = result?.nothing ? 'Nothing to save: no field changed.' : row ? `Saved ${this.noun} “${name}”.` : `Created ${this.noun} “${name}”.`;
      this.editing = null;
      if (result?.secret) this.showSecret(result, said);
      else dialog.close('saved');
      this.say(said);
      this.ctx.announce(said);
      await this.load();
      if (!result?.secret) this.focusRow(saved && typeof saved === 'object' ? this.key(saved) : null);
    } catch (e) {
      this.showError(e, fields, top, values);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  /** A refusal next to the field it names; otherwise at the top of the form. */
  showError(e, fields, top, values) {
    const text = refusal(e, this.ctx.agentName);
    const fieldish = e instanceof ApiError ? [400, 409].includes(e.status) : Boolean(e?.field);
    const f = e?.field ? fields.byName.get(e.field) : fieldish ? fields.fieldFor(e.message, values) : null;
    if (f && !f.wrap.closest('[hidden]')) {
      f.setError(text);
      f.focus();
      this.ctx.announce(text);
    } else {
      setText(top, text);
    }
  }

  focusRow(key) {
    const tr = key == null ? null : this.body.querySelector(`tr[data-key="${CSS.escape(String(key))}"]`);
    const target = tr?.querySelector('button') || this.newButton;
    if (target && !target.hidden && this.panel.isConnected && !this.panel.closest('[hidden]')) target.focus();
  }

  /** A secret the server shows once (an API key, a webhook's signing secret). */
  showSecret(result, said) {
    const dialog = adminDialog();
    const input = h('input', { id: 'admin-secret', class: 'adm-secret', readonly: true, spellcheck: 'false', 'aria-describedby': 'admin-secret-help' });
    input.value = result.secret;
    const status = h('p', { class: 'small', role: 'status', id: 'admin-secret-status' });
    const copy = h('button', { type: 'button', id: 'admin-secret-copy' }, 'Copy');
    copy.addEventListener('click', async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(result.secret);
        setText(status, 'Copied.');
      } catch {
        setText(status, 'Selected: press Ctrl+C (⌘C) to copy it.');
      }
    });
    const done = h('button', { type: 'button', class: 'primary', id: 'admin-secret-done' }, 'Done');
    done.addEventListener('click', () => dialog.close('done'));
    replaceChildren(
      dialog,
      h(
        'div',
        { class: 'dialog-body adm-secret-body' },
        h('div', { class: 'dialog-head' }, h('h2', { id: 'admin-dialog-h' }, said)),
        h('p', { id: 'admin-secret-help', class: 'adm-stale' }, result.secretNote || 'Copy it now: Chorus keeps only a hash and cannot show it again.'),
        h('label', { for: 'admin-secret' }, result.secretLabel || 'Secret'),
        h('div', { class: 'adm-secret-row' }, input, copy),
        status,
        h('div', { class: 'actions' }, done),
      ),
    );
    input.focus();
    input.select();
  }

  /** After a re-read: tell the open form when someone else changed or deleted its row. */
  checkEditing() {
    const e = this.editing;
    if (!e || !e.row || !e.form.isConnected) return;
    const now = this.rows.find((r) => String(this.key(r)) === String(this.key(e.row)));
    let text = null;
    if (!now) text = `Someone else deleted this ${this.noun} while you were editing it: saving will fail. Cancel to close the form.`;
    else if (this.signature(now) !== e.base) text = `Someone else changed this ${this.noun} while you were editing it. Saving keeps what you typed here and replaces their change.`;
    if (!text || e.stale.dataset.text === text) return;
    e.stale.dataset.text = text;
    const children = [h('span', {}, text)];
    if (now) {
      const use = h('button', { type: 'button', class: 'adm-use-theirs', id: 'admin-form-theirs' }, 'Show their version');
      use.addEventListener('click', () => this.openEditor(now));
      children.push(' ', use);
    }
    replaceChildren(e.stale, children);
    e.stale.hidden = false;
  }
}
