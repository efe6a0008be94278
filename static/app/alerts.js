// Alerts people can act on (issue 25): crisis early warnings, SLA breaches, sentiment swings and
// posts by high-influence customers, from GET /api/v1/alerts and then `alert.raised` /
// `alert.updated` on the `alerts` topic. Anyone who reads alerts (supervisors, PR, legal) may
// acknowledge one or assign it to a colleague; who did it shows on every console at once.
//
// One store, several panels: each element marked `data-alerts-panel` in the page (the floor view
// and the crisis console) gets its own list, drawn from the same alerts.

import { attend } from './attention.js';
import { humanize, plainError } from './errors.js';
import { $, ago, h, reconcile, replaceChildren, setText, when } from './util.js';

let ctx;
let alerts = new Map(); // id -> alert
let supported = true; // false on a server without /alerts
const panels = []; // {key, root, refs, kind}
const ACK_KEEP_MS = 24 * 3600 * 1000; // acknowledged alerts stay listed for a day
const ACK_KEEP_MAX = 30;

export const KIND_LABEL = {
  crisis_spike: 'Crisis early warning',
  sla_breach: 'SLA breach',
  sentiment_swing: 'Sentiment swing',
  influencer_post: 'High-influence customer',
  volume_off_forecast: 'Volume off its forecast',
};

export function init(c) {
  ctx = c;
  const roots = [...document.querySelectorAll('[data-alerts-panel]')];
  if (!ctx.has('supervisor', 'approver', 'legal')) {
    for (const r of roots) r.hidden = true;
    return;
  }
  for (const root of roots) panels.push(makePanel(root));
  ctx.loaders.push(load);
  ctx.live.on('alert.raised', (a) => {
    const fresh = !alerts.has(a.id);
    alerts.set(a.id, a);
    renderAll();
    if (fresh) ctx.announce(`New alert: ${KIND_LABEL[a.kind] ?? a.kind} — ${a.title}`);
  });
  ctx.live.on('alert.updated', (a) => {
    const old = alerts.get(a.id);
    alerts.set(a.id, a);
    renderAll();
    // Assigned to me by someone else: that is work for me.
    if (a.assignee_id === ctx.me.id && old?.assignee_id !== ctx.me.id && a.assigned_by !== ctx.me.id) {
      attend({ kind: 'assigned', title: 'Alert assigned to you', text: `${ctx.agentName(a.assigned_by)} assigned you an alert: ${a.title}`, conversationId: a.conversation_id ?? null, sticky: true });
    }
  });
  // "3 min ago" moves on.
  setInterval(() => {
    for (const p of panels) for (const li of p.refs.list.children) if (li.refs) setText(li.refs.age, `raised ${ago(li.raisedAt)}`);
  }, 15000);
}

async function load() {
  try {
    const [open, acked] = await Promise.all([ctx.api.get('/api/v1/alerts?status=open'), ctx.api.get('/api/v1/alerts?status=acknowledged').catch(() => [])]);
    supported = true;
    const now = Date.now();
    const recent = acked
      .filter((a) => now - Date.parse(a.acknowledged_at || a.raised_at) < ACK_KEEP_MS)
      .sort((a, b) => Date.parse(b.acknowledged_at || 0) - Date.parse(a.acknowledged_at || 0))
      .slice(0, ACK_KEEP_MAX);
    alerts = new Map([...open, ...recent].map((a) => [a.id, a]));
  } catch (e) {
    if (e.status === 404) supported = false;
    else console.warn('alerts', e);
  }
  renderAll();
}

function makePanel(root) {
  const key = root.dataset.alertsPanel;
  const refs = {};
  const headId = `${key}-alerts-h`;
  root.setAttribute('aria-labelledby', headId);
  root.classList.add('alerts-panel');
  const kindId = `${key}-alerts-kind`;
  refs.count = h('span', { class: 'count' });
  refs.kind = h(
    'select',
    { id: kindId },
    h('option', { value: '' }, 'Every kind'),
    Object.entries(KIND_LABEL).map(([k, label]) => h('option', { value: k }, label)),
  );
  refs.list = h('ul', { class: 'alert-list', 'aria-labelledby': headId });
  refs.empty = h('p', { class: 'empty small' }, 'No open alerts.');
  refs.msg = h('p', { class: 'small pane-msg', role: 'status', 'aria-live': 'polite' });
  // What the page put in the panel (the floor's spike indicator) stays, under the heading.
  root.prepend(h('div', { class: 'panel-head' }, h('h3', { id: headId }, 'Alerts ', refs.count), h('span', { class: 'field-inline' }, h('label', { for: kindId }, 'Show'), refs.kind)));
  root.append(refs.msg, refs.list, refs.empty);
  const panel = { key, root, refs };
  refs.kind.addEventListener('change', () => renderPanel(panel));
  return panel;
}

function renderAll() {
  for (const p of panels) renderPanel(p);
}

/** Open alerts first (newest first), then the acknowledged ones (most recently acknowledged first). */
function ordered(kind) {
  const list = [...alerts.values()].filter((a) => !kind || a.kind === kind);
  const open = list.filter((a) => a.acknowledged_by == null).sort((a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at));
  const done = list.filter((a) => a.acknowledged_by != null).sort((a, b) => Date.parse(b.acknowledged_at || 0) - Date.parse(a.acknowledged_at || 0));
  return { open, done };
}

function renderPanel(p) {
  const { open, done } = ordered(p.refs.kind.value);
  setText(p.refs.count, `(${open.length} open${done.length ? `, ${done.length} acknowledged` : ''})`);
  p.refs.empty.hidden = open.length + done.length > 0;
  setText(p.refs.empty, supported ? 'No open alerts.' : 'This server does not list alerts yet.');
  reconcile(p.refs.list, [...open, ...done], (a) => a.id, (a) => makeItem(p, a), (li, a) => updateItem(li, a));
}

function makeItem(p, a) {
  const base = `${p.key}-alert-${a.id}`;
  const r = {};
  r.kind = h('span', { class: 'badge alert-kind' });
  r.title = h('strong', { id: `${base}-t`, class: 'alert-title' });
  r.age = h('span', { class: 'small muted alert-age' });
  r.detail = h('p', { class: 'small alert-detail' });
  r.who = h('p', { class: 'small alert-who' });
  r.ack = h('button', { type: 'button', class: 'primary alert-ack', 'aria-describedby': `${base}-t` }, 'Acknowledge');
  r.assignToggle = h('button', { type: 'button', class: 'alert-assign-toggle', 'aria-expanded': 'false', 'aria-controls': `${base}-assign`, 'aria-describedby': `${base}-t` }, 'Assign to…');
  r.open = h('button', { type: 'button', class: 'ghost alert-open', hidden: true }, 'Open conversation');
  r.picker = h('select', { id: `${base}-agent`, class: 'alert-agent' });
  r.assign = h('button', { type: 'submit', class: 'primary' }, 'Assign');
  r.cancel = h('button', { type: 'button', class: 'ghost' }, 'Cancel');
  r.form = h(
    'form',
    { id: `${base}-assign`, class: 'alert-assign-form inline-row', hidden: true },
    h('label', { for: `${base}-agent` }, 'Assign this alert to'),
    r.picker,
    r.assign,
    r.cancel,
  );
  r.msg = h('p', { class: 'small error', role: 'alert' });
  const li = h(
    'li',
    { class: 'alert-item', dataset: { alertId: a.id }, 'aria-labelledby': `${base}-t` },
    h('div', { class: 'alert-line' }, r.kind, r.title, r.age),
    r.detail,
    r.who,
    h('div', { class: 'actions' }, r.ack, r.assignToggle, r.open),
    r.form,
    r.msg,
  );
  li.refs = r;
  r.ack.addEventListener('click', () => acknowledge(li));
  r.assignToggle.addEventListener('click', () => toggleAssign(li, r.form.hidden));
  r.cancel.addEventListener('click', () => {
    toggleAssign(li, false);
    r.assignToggle.focus();
  });
  r.form.addEventListener('submit', (e) => {
    e.preventDefault();
    assign(li);
  });
  r.form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      toggleAssign(li, false);
      r.assignToggle.focus();
    }
  });
  r.open.addEventListener('click', () => openConversation(li.alert.conversation_id));
  return li;
}

function updateItem(li, a) {
  const r = li.refs;
  li.alert = a;
  li.raisedAt = a.raised_at;
  const acked = a.acknowledged_by != null;
  li.classList.toggle('acknowledged', acked);
  li.dataset.kind = a.kind;
  li.dataset.state = acked ? 'acknowledged' : 'open';
  setText(r.kind, KIND_LABEL[a.kind] ?? a.kind);
  r.kind.className = `badge alert-kind kind-${a.kind}`;
  setText(r.title, a.title);
  setText(r.age, `raised ${ago(a.raised_at)}`);
  r.age.title = when(a.raised_at);
  // The customer's words are the conversation's, as they are now (an alert copies none).
  const words = a.snippet ? `${a.customer_name ? `${a.customer_name}: ` : ''}“${a.snippet}”` : a.customer_name || '';
  const detail = [words, a.detail || ''].filter(Boolean).join(' — ');
  setText(r.detail, detail);
  r.detail.hidden = !detail;
  const parts = [];
  parts.push(acked ? `Acknowledged by ${ctx.agentName(a.acknowledged_by)} ${ago(a.acknowledged_at)}` : 'Not acknowledged yet');
  if (a.assignee_id != null) parts.push(`assigned to ${ctx.agentName(a.assignee_id)}${a.assigned_by != null ? ` by ${ctx.agentName(a.assigned_by)}` : ''}`);
  setText(r.who, `${parts.join(' · ')}.`);
  r.ack.hidden = acked;
  setText(r.assignToggle, a.assignee_id == null ? 'Assign to…' : 'Reassign…');
  r.open.hidden = a.conversation_id == null || !$('#view-agent');
  if (!r.form.hidden) fillPicker(li);
}

function fillPicker(li) {
  const r = li.refs;
  const keep = r.picker.value || (li.alert.assignee_id ?? '');
  const people = [...ctx.agents.values()].filter((x) => x.active && x.roles.some((role) => role !== 'wallboard')).sort((x, y) => x.name.localeCompare(y.name));
  replaceChildren(r.picker, people.map((x) => h('option', { value: x.id }, x.id === ctx.me.id ? `${x.name} (you)` : x.name)));
  if (keep !== '') r.picker.value = String(keep);
}

function toggleAssign(li, show) {
  const r = li.refs;
  r.form.hidden = !show;
  r.assignToggle.setAttribute('aria-expanded', String(show));
  if (show) {
    fillPicker(li);
    r.picker.focus();
  }
}

async function acknowledge(li) {
  const r = li.refs;
  const a = li.alert;
  r.ack.disabled = true;
  setText(r.msg, '');
  try {
    const done = await ctx.api.post(`/api/v1/alerts/${a.id}/acknowledge`);
    alerts.set(done.id, done);
    renderAll();
    say(`Alert acknowledged: ${done.title}.`);
    // The button goes; keep the keyboard on the alert.
    r.assignToggle.focus();
  } catch (e) {
    if (e.code === 'conflict') {
      // Someone was quicker: the event says who (or a fresh read does).
      setText(r.msg, `Already acknowledged: ${humanize(e.message, ctx.agentName)}.`);
      refreshOne(a.id);
    } else setText(r.msg, `Could not acknowledge: ${plainError(e, ctx.agentName)}`);
  } finally {
    r.ack.disabled = false;
  }
}

async function assign(li) {
  const r = li.refs;
  const a = li.alert;
  const agentId = Number(r.picker.value);
  if (!agentId) return;
  r.assign.disabled = true;
  setText(r.msg, '');
  try {
    const done = await ctx.api.post(`/api/v1/alerts/${a.id}/assign`, { agent_id: agentId });
    alerts.set(done.id, done);
    toggleAssign(li, false);
    renderAll();
    say(`Alert assigned to ${ctx.agentName(agentId)}: ${done.title}.`);
    r.assignToggle.focus();
  } catch (e) {
    setText(r.msg, `Could not assign: ${plainError(e, ctx.agentName)}`);
  } finally {
    r.assign.disabled = false;
  }
}

async function refreshOne(id) {
  try {
    const all = await ctx.api.get('/api/v1/alerts?status=all');
    const a = all.find((x) => x.id === id);
    if (a) {
      alerts.set(id, a);
      renderAll();
    }
  } catch (e) {
    console.warn('alerts', e);
  }
}

/** Says what happened in the panels' status lines (heard by screen readers where they are in view). */
function say(text) {
  for (const p of panels) setText(p.refs.msg, text);
}

async function openConversation(id) {
  const { openConversation: openIt } = await import('./conversation.js');
  openIt(id);
}
