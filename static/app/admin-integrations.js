// Admin screens for integrations: API keys (the key shown once) and outgoing webhook
// subscriptions (the signing secret shown once, the delivery log, retrying a failed delivery).
// docs/protocol.md, "API keys", "Webhooks out".

import { adminDialog, fromLocalInput, shortTime } from './admin-kit.js';
import { openDialog } from './dialog.js';
import { plainError } from './errors.js';
import { h, replaceChildren, setText } from './util.js';

const SCOPES = [
  ['directory.read', 'directory.read: agents and teams'],
  ['conversations.read', 'conversations.read: the queue and conversations'],
  ['settings.read', 'settings.read: rules, guides, policies'],
  ['crises.read', 'crises.read: crises and their responses'],
  ['metrics.read', 'metrics.read: live and historical figures'],
  ['alerts.read', 'alerts.read: early-warning alerts'],
  ['audit.read', 'audit.read: the audit trail'],
  ['archive.search', 'archive.search: search the archive'],
  ['archive.export', 'archive.export: export the archive'],
  ['ingest.write', 'ingest.write: send messages in'],
  ['customers.link_crm', 'customers.link_crm: link customers to CRM ids'],
];

function keyStatus(k) {
  if (k.revoked_at) return 'Revoked';
  if (k.expires_at && Date.parse(k.expires_at) <= Date.now()) return 'Expired';
  return 'Active';
}

export const apiKeys = {
  id: 'api-keys',
  title: 'API keys',
  noun: 'API key',
  permission: 'api_keys.manage',
  resources: ['api_keys'],
  intro: 'Keys for integrations (CRMs, BI tools, importers). A key is shown once, when it is made: Chorus keeps only its hash. Keys never act as an agent. Revoking one stops it at once.',
  load: (api) => api.get('/api/v1/api-keys'),
  name: (k) => k.name,
  // Its last use changes as it is used: not "changed by someone else".
  signature: (k) => ({ ...k, last_used_at: null }),
  columns: [
    { label: 'Name', cell: (k) => k.name },
    { label: 'Starts with', cell: (k) => h('code', {}, k.prefix) },
    { label: 'Scopes', cell: (k) => k.scopes.join(', ') },
    { label: 'Allowed from', cell: (k) => k.ip_allowlist.join(', ') || 'anywhere' },
    { label: 'Expires', cell: (k) => (k.expires_at ? shortTime(k.expires_at) : 'never') },
    { label: 'Last used', cell: (k) => (k.last_used_at ? shortTime(k.last_used_at) : 'never') },
    { label: 'Status', cell: (k) => (keyStatus(k) === 'Active' ? 'Active' : h('span', { class: 'badge status-rejected' }, keyStatus(k))) },
  ],
  fields: () => [
    { name: 'name', label: 'What it is for', required: true, maxlength: 200, errors: [/^name\b/] },
    { name: 'scopes', label: 'Scopes', type: 'checkboxes', required: true, grid: true, options: SCOPES, errors: [/scope|a key cannot hold/] },
    { name: 'ip_allowlist', label: 'Allowed addresses', type: 'list', wide: true, help: 'Comma separated addresses or CIDR networks, e.g. 203.0.113.0/24. Empty: anywhere.', errors: [/address or a CIDR|ip_allowlist|\bCIDR\b/] },
    { name: 'expires_at', label: 'Expires (your local time)', type: 'datetime', help: 'Empty: never.', errors: [/expire/] },
  ],
  initial: () => ({ scopes: [], ip_allowlist: [] }),
  async create(api, v) {
    const made = await api.post('/api/v1/api-keys', { name: v.name, scopes: v.scopes, ip_allowlist: v.ip_allowlist, expires_at: fromLocalInput(v.expires_at) });
    return { row: made.api_key, secret: made.key, secretLabel: 'API key', secretNote: 'Copy the key now: Chorus keeps only its hash and cannot show it again. Send it as Authorization: Bearer <key> (X-Api-Key for ingest).' };
  },
  actions: [
    {
      id: 'revoke',
      label: 'Revoke',
      when: (k) => !k.revoked_at,
      danger: true,
      confirm: (k) => `Revoke the key “${k.name}” (${k.prefix}…)? Anything using it is refused from now on.`,
      run: async (api, k) => {
        await api.del(`/api/v1/api-keys/${k.id}`);
        return `Revoked “${k.name}”.`;
      },
    },
  ],
  empty: 'No API keys yet.',
};

// The kinds the store keeps (docs/protocol.md, "Events"): what a subscription may ask for.
const EVENT_KINDS = [
  'conversation.message', 'conversation.message_updated', 'queue.upsert', 'queue.remove', 'conversation.claimed',
  'conversation.released', 'conversation.reassigned', 'conversation.resolved', 'conversation.tags', 'conversation.status',
  'conversation.note', 'brand_account.registered', 'brand_account.changed', 'agent.created', 'agent.updated',
  'session.revoked', 'team.changed', 'conversation.team', 'conversation.followup_due', 'reply.queued', 'reply.sent',
  'reply.failed', 'approval.requested', 'approval.decided', 'conversation.escalated', 'conversation.escalation_returned',
  'agent.mentioned', 'crisis.declared', 'crisis.updated', 'crisis.response', 'crisis.resolved', 'crisis.alert',
  'sla.warning', 'sla.breach', 'listening_rule.created', 'listening_rule.deleted', 'customer.merged',
  'customer.unmerged', 'customer.updated', 'approval.reminder', 'approval.escalated', 'reply.returned',
  'alert.raised', 'alert.updated',
];

function eventOptions(row) {
  const known = new Set(EVENT_KINDS);
  // A kind a newer server added (and this subscription holds) stays choosable.
  const extra = (row?.event_types || []).filter((k) => k !== '*' && !known.has(k));
  return [['*', 'All events (*)'], ...[...EVENT_KINDS, ...extra].map((k) => [k, k])];
}

function webhookBody(v) {
  return { name: v.name, url: v.url, event_types: v.event_types.includes('*') ? ['*'] : v.event_types, active: v.active };
}

export const webhooks = {
  id: 'webhooks',
  title: 'Outgoing webhooks',
  noun: 'webhook subscription',
  permission: 'webhooks.manage',
  resources: ['webhook_subscriptions'],
  intro: 'Chorus POSTs the chosen events to each address, signed with the subscription’s secret (shown once, when it is made). Failed deliveries are retried with backoff; a delivery that failed for good can be sent again from its log.',
  load: (api) => api.get('/api/v1/webhook-subscriptions'),
  name: (s) => s.name,
  columns: [
    { label: 'Name', cell: (s) => s.name },
    { label: 'Address', cell: (s) => h('code', { class: 'adm-url' }, s.url) },
    { label: 'Events', cell: (s) => (s.event_types.includes('*') ? 'all' : s.event_types.join(', ')), class: 'adm-text' },
    { label: 'Status', cell: (s) => (s.active ? 'Active' : h('span', { class: 'badge status-held' }, 'Paused')) },
  ],
  fields: (ctx, row) => [
    { name: 'name', label: 'Name', required: true, maxlength: 200, errors: [/^name\b/] },
    { name: 'url', label: 'Address (https://…)', type: 'url', required: true, maxlength: 2048, wide: true, errors: [/\burl\b/i] },
    { name: 'event_types', label: 'Events', type: 'checkboxes', required: true, grid: true, exclusive: '*', options: eventOptions(row), errors: [/event kind|event_types/] },
    { name: 'active', label: 'Active (paused: events that happen meanwhile are never sent)', type: 'checkbox', wide: true },
  ],
  initial: (s) => (s ? { name: s.name, url: s.url, event_types: s.event_types, active: s.active } : { event_types: [], active: true }),
  async create(api, v) {
    const made = await api.post('/api/v1/webhook-subscriptions', webhookBody(v));
    return { row: made.subscription, secret: made.secret, secretLabel: 'Signing secret', secretNote: 'Copy the signing secret now: the receiver checks X-Chorus-Signature with it, and Chorus cannot show it again.' };
  },
  async update(api, row, v) {
    const next = webhookBody(v);
    const patch = Object.fromEntries(Object.entries(next).filter(([k, x]) => JSON.stringify(row[k]) !== JSON.stringify(x)));
    if (!Object.keys(patch).length) return { row, nothing: true };
    return api.patch(`/api/v1/webhook-subscriptions/${row.id}`, patch);
  },
  actions: [
    {
      id: 'deliveries',
      label: 'Deliveries',
      run: async (api, s, screen) => {
        await openDeliveries(screen, s);
        return null;
      },
    },
    {
      id: 'pause',
      label: (s) => (s.active ? 'Pause' : 'Resume'),
      run: async (api, s) => {
        await api.patch(`/api/v1/webhook-subscriptions/${s.id}`, { active: !s.active });
        return s.active ? `Paused “${s.name}”.` : `Resumed “${s.name}”.`;
      },
    },
    {
      id: 'delete',
      label: 'Delete',
      danger: true,
      confirm: (s) => `Delete the subscription “${s.name}” and its delivery log? Unsent deliveries are dropped.`,
      run: async (api, s) => {
        await api.del(`/api/v1/webhook-subscriptions/${s.id}`);
        return `Deleted “${s.name}”.`;
      },
    },
  ],
  empty: 'No webhook subscriptions yet.',
};

// ---------------------------------------------------------------------------- the delivery log

let log = null; // {screen, sub, status, rows, next, body, more, msg}

/** The delivery log of one subscription, newest first, in the admin dialog. */
async function openDeliveries(screen, sub) {
  const dialog = adminDialog();
  const status = h('select', { id: 'admin-deliveries-status' }, [['', 'Any'], ['pending', 'Pending'], ['delivered', 'Delivered'], ['failed', 'Failed']].map(([v, l]) => h('option', { value: v }, l)));
  const body = h('tbody', { id: 'admin-deliveries-rows' });
  const msg = h('p', { class: 'pane-msg', role: 'status', id: 'admin-deliveries-msg' });
  const more = h('button', { type: 'button', id: 'admin-deliveries-more', hidden: true }, 'Load more');
  const close = h('button', { type: 'button', class: 'primary', id: 'admin-deliveries-close' }, 'Close');
  replaceChildren(
    dialog,
    h(
      'div',
      { class: 'dialog-body' },
      h('div', { class: 'dialog-head' }, h('h2', { id: 'admin-dialog-h' }, `Deliveries: ${sub.name}`), close),
      h('p', { class: 'small muted' }, h('code', { class: 'adm-url' }, sub.url)),
      h('div', { class: 'toolbar' }, h('label', { for: 'admin-deliveries-status' }, 'Status'), status),
      msg,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table adm-table', 'aria-labelledby': 'admin-dialog-h' },
          h('thead', {}, h('tr', {}, ['Event', 'Status', 'Attempts', 'Last answer', 'Happened', 'Delivered or next try'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
          body,
        ),
      ),
      more,
    ),
  );
  // `notice`: the outcome of the last action here (a retry), kept in the line under the list
  // when the list is read again, whether by that action or by a live event from elsewhere.
  log = { screen, sub, status, body, more, msg, next: null, notice: null };
  status.addEventListener('change', () => {
    log.notice = null;
    readDeliveries(false);
  });
  more.addEventListener('click', () => readDeliveries(true));
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => (log = null), { once: true });
  if (!dialog.open) openDialog(dialog, close);
  await readDeliveries(false);
}

/** Reads the log again if it is open (a retry by someone else, new deliveries). */
export function deliveriesChanged() {
  if (log) readDeliveries(false);
}

async function readDeliveries(append) {
  const l = log;
  if (!l) return;
  const q = new URLSearchParams({ limit: '50' });
  if (l.status.value) q.set('status', l.status.value);
  if (append && l.next != null) q.set('before_id', String(l.next));
  try {
    const page = await l.screen.ctx.api.get(`/api/v1/webhook-subscriptions/${l.sub.id}/deliveries?${q}`);
    if (log !== l) return;
    if (!append) l.body.replaceChildren();
    l.body.append(...page.deliveries.map((d) => deliveryRow(l, d)));
    l.next = page.next_before_id ?? null;
    l.more.hidden = l.next == null;
    const n = l.body.children.length;
    const count = n ? `${n} ${n === 1 ? 'delivery' : 'deliveries'}${l.next != null ? ', more to load' : ''}.` : 'No deliveries yet.';
    setText(l.msg, l.notice ? `${l.notice} ${count}` : count);
  } catch (e) {
    setText(l.msg, `Could not read the deliveries: ${plainError(e)}`);
  }
}

function deliveryRow(l, d) {
  const retry = d.status === 'failed' ? h('button', { type: 'button', 'aria-label': `Retry delivery ${d.id}`, dataset: { deliveryId: d.id } }, 'Retry') : '';
  if (retry) {
    retry.addEventListener('click', async () => {
      retry.disabled = true;
      try {
        await l.screen.ctx.api.post(`/api/v1/webhook-deliveries/${d.id}/retry`);
        // Every later read of the list (this one, or one a live event starts) keeps it shown.
        l.notice = `Delivery ${d.id} will be sent again now.`;
        await readDeliveries(false);
        l.screen.ctx.announce(l.notice);
      } catch (e) {
        setText(l.msg, `Could not retry delivery ${d.id}: ${plainError(e)}`);
        retry.disabled = false;
      }
    });
  }
  const answer = [d.last_status != null ? `HTTP ${d.last_status}` : '', d.last_error || ''].filter(Boolean).join(': ') || '—';
  return h(
    'tr',
    { dataset: { deliveryId: d.id, status: d.status } },
    h('th', { scope: 'row' }, d.event, h('span', { class: 'small muted' }, ` #${d.event_id}`)),
    h('td', {}, d.status),
    h('td', {}, String(d.attempts)),
    h('td', { class: 'adm-text' }, answer),
    h('td', {}, shortTime(d.created_at)),
    h('td', {}, d.delivered_at ? shortTime(d.delivered_at) : d.next_attempt_at ? `next ${shortTime(d.next_attempt_at)}` : '—'),
    h('td', {}, retry),
  );
}

