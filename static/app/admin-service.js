// Admin screens for service levels and sources: SLA policies with their business hours,
// listening rules (saved searches that make work of posts not sent to the brand) and the brand
// accounts. docs/protocol.md, "SLA policies", "Listening rules", "Brand accounts".

import { NETWORKS, networkName } from './admin-kit.js';
import { teamOptions } from './admin-people.js';

const DAYS = [
  [1, 'Mon'],
  [2, 'Tue'],
  [3, 'Wed'],
  [4, 'Thu'],
  [5, 'Fri'],
  [6, 'Sat'],
  [7, 'Sun'],
];

/** 1800 → "30 min", 5400 → "1 h 30 min". */
function span(secs) {
  if (secs == null) return '—';
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = secs % 60;
  return [hh ? `${hh} h` : '', mm ? `${mm} min` : '', ss ? `${ss} s` : ''].filter(Boolean).join(' ') || '0 s';
}

/** Mon–Fri 09:00–17:30; Sat 10:00–14:00 */
function hoursText(p) {
  if (!p.hours?.length) return `24/7 (${p.timezone})`;
  const days = (list) => {
    const sorted = [...list].sort();
    const contiguous = sorted.every((d, i) => i === 0 || d === sorted[i - 1] + 1);
    const name = (d) => DAYS.find(([n]) => n === d)?.[1] ?? d;
    return contiguous && sorted.length > 2 ? `${name(sorted[0])}–${name(sorted.at(-1))}` : sorted.map(name).join(', ');
  };
  return `${p.hours.map((w) => `${days(w.days)} ${w.start}–${w.end}`).join('; ')} (${p.timezone})`;
}

function zones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC', 'Europe/London', 'Europe/Paris', 'America/New_York', 'America/Los_Angeles', 'Asia/Tokyo'];
  }
}

const minutes = (secs) => (secs == null ? null : Math.round((secs / 60) * 100) / 100);
const seconds = (mins) => (mins == null || Number.isNaN(mins) ? mins : Math.round(mins * 60));

function policyBody(v) {
  return {
    name: v.name,
    priority: v.priority,
    network: v.network,
    first_response_secs: seconds(v.first_response_mins),
    next_response_secs: seconds(v.next_response_mins),
    timezone: v.timezone || 'UTC',
    hours: v.hours.map((w) => ({ days: w.days, start: w.start, end: w.end })),
    holidays: v.holidays,
  };
}

export const slaPolicies = {
  id: 'sla',
  title: 'SLA policies and business hours',
  noun: 'SLA policy',
  permission: 'sla_policies.manage',
  resources: ['sla_policies'],
  intro: 'Response targets per tier and network, counted only while the business is open. The most specific policy wins (tier and network, then tier, then network); without one the configured targets apply around the clock. A change applies to messages from then on.',
  load: (api) => api.get('/api/v1/sla-policies'),
  name: (p) => p.name,
  columns: [
    { label: 'Policy', cell: (p) => p.name },
    { label: 'Applies to', cell: (p) => `${p.priority ? `Tier ${p.priority}` : 'Every tier'}, ${p.network ? networkName(p.network) : 'every network'}` },
    { label: 'First response', cell: (p) => span(p.first_response_secs) },
    { label: 'Next response', cell: (p) => span(p.next_response_secs) },
    { label: 'Business hours', cell: (p) => hoursText(p) },
    { label: 'Holidays', cell: (p) => p.holidays?.join(', ') || '—' },
  ],
  fields: () => [
    { name: 'name', label: 'Name', required: true, maxlength: 100, errors: [/^name\b/] },
    { name: 'priority', label: 'Tier', type: 'select', number: true, options: [['', 'Every tier'], [1, 'Tier 1'], [2, 'Tier 2']], errors: [/priority|policy for (tier|every)|exists already/] },
    { name: 'network', label: 'Network', type: 'select', options: [['', 'Every network'], ...NETWORKS], errors: [/network/] },
    { name: 'first_response_mins', label: 'First response target (minutes)', type: 'number', required: true, min: 0.02, max: 43200, step: 'any', help: 'Business minutes from the customer’s first message.', errors: [/targets?\b/, /first_response/] },
    { name: 'next_response_mins', label: 'Next response target (minutes)', type: 'number', required: true, min: 0.02, max: 43200, step: 'any', help: 'After each later customer message.', errors: [/next_response/] },
    { name: 'timezone', label: 'Time zone of the hours', required: true, datalist: zones(), help: 'An IANA name, e.g. Europe/London (summer time is followed).', errors: [/time ?zone/i] },
    {
      name: 'hours',
      label: 'Business hours',
      type: 'rows',
      itemLabel: 'Opening hours',
      addLabel: 'Add opening hours',
      empty: 'None: open 24/7.',
      help: 'Local times; end may be 24:00.',
      blank: () => ({ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' }),
      columns: [
        { name: 'days', label: 'Days', type: 'checkboxes', number: true, options: DAYS, wide: false },
        { name: 'start', label: 'From (HH:MM)', required: true, maxlength: 5, placeholder: '09:00', inputmode: 'numeric' },
        { name: 'end', label: 'Until (HH:MM)', required: true, maxlength: 5, placeholder: '17:30', inputmode: 'numeric' },
      ],
      errors: [/days are|weekday|opening hours|\bhours\b|HH:MM|\bstart\b|\bend\b|is not a time/],
    },
    { name: 'holidays', label: 'Holidays (closed all day)', type: 'list', wide: true, help: 'Comma separated dates, YYYY-MM-DD, in the policy’s time zone.', errors: [/not a date|holiday/] },
  ],
  initial: (p) =>
    p
      ? { name: p.name, priority: p.priority, network: p.network, first_response_mins: minutes(p.first_response_secs), next_response_mins: minutes(p.next_response_secs), timezone: p.timezone, hours: p.hours, holidays: p.holidays }
      : { priority: null, network: null, first_response_mins: 30, next_response_mins: 60, timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', hours: [], holidays: [] },
  create: (api, v) => api.post('/api/v1/sla-policies', policyBody(v)),
  update: (api, row, v) => api.put(`/api/v1/sla-policies/${row.id}`, policyBody(v)),
  actions: [
    {
      id: 'delete',
      label: 'Delete',
      danger: true,
      confirm: (p) => `Delete the policy “${p.name}”? Messages from now on are due by the next most specific policy.`,
      run: async (api, p) => {
        await api.del(`/api/v1/sla-policies/${p.id}`);
        return `Deleted “${p.name}”.`;
      },
    },
  ],
  empty: 'No SLA policies: the configured targets apply around the clock.',
};

export const listening = {
  id: 'listening',
  title: 'Listening rules',
  noun: 'listening rule',
  permission: 'listening.manage',
  resources: ['listening_rules'],
  intro: 'Saved searches: a post that does not address the brand becomes work when it names one of the keywords (whole words or phrases, any case). Applies to messages from now on. Rules cannot be edited here: delete one and make another.',
  load: (api) => api.get('/api/v1/listening-rules'),
  name: (r) => r.name,
  columns: [
    { label: 'Name', cell: (r) => r.name },
    { label: 'Keywords', cell: (r) => r.keywords.join(', ') },
    { label: 'Status', cell: (r) => (r.active ? 'Active' : 'Inactive') },
  ],
  fields: () => [
    { name: 'name', label: 'Name', required: true, maxlength: 100, help: 'Shown as the reason on the conversations it makes.', errors: [/named|^name\b/] },
    { name: 'keywords', label: 'Keywords', type: 'list', required: true, wide: true, help: 'Comma separated: 1 to 50, each 1 to 100 characters.', errors: [/keyword/] },
  ],
  initial: (r) => (r ? { name: r.name, keywords: r.keywords } : { keywords: [] }),
  create: (api, v) => api.post('/api/v1/listening-rules', { name: v.name, keywords: v.keywords }),
  actions: [
    {
      id: 'delete',
      label: 'Delete',
      danger: true,
      confirm: (r) => `Delete the listening rule “${r.name}”? Conversations it made stay.`,
      run: async (api, r) => {
        await api.del(`/api/v1/listening-rules/${r.id}`);
        return `Deleted “${r.name}”.`;
      },
    },
  ],
  empty: 'No listening rules yet.',
};

export const brandAccounts = {
  id: 'brands',
  title: 'Brand accounts',
  noun: 'brand account',
  permission: 'brand_accounts.manage',
  resources: ['brand_accounts', 'teams'],
  intro: 'The handles and pages the team runs. Chorus registers one the first time a network names it; here they get a name and a default team for the new conversations no team’s routes take.',
  async load(api, ctx) {
    const [list, teams] = await Promise.all([api.get('/api/v1/brand-accounts'), api.get('/api/v1/teams')]);
    ctx.teams.clear();
    for (const t of teams) ctx.teams.set(t.id, t);
    return list;
  },
  name: (b) => b.name || b.platform_account_id,
  columns: [
    { label: 'Name', cell: (b) => b.name },
    { label: 'Network', cell: (b) => networkName(b.network) },
    { label: 'Account id', cell: (b) => b.platform_account_id },
    { label: 'Default team', cell: (b, ctx) => (b.default_team_id == null ? 'General queue' : ctx.teams.get(b.default_team_id)?.name ?? `team #${b.default_team_id}`) },
  ],
  fields: (ctx, b) => [
    { name: 'network', type: 'info', label: 'Account', text: `${networkName(b.network)} ${b.platform_account_id}` },
    { name: 'name', label: 'Name', required: true, maxlength: 100, help: '1 to 100 printable characters.', errors: [/^name\b/] },
    { name: 'default_team_id', label: 'Default team', type: 'select', number: true, options: teamOptions(ctx, 'General queue'), errors: [/team/] },
  ],
  initial: (b) => ({ name: b.name, default_team_id: b.default_team_id }),
  async update(api, row, v) {
    const patch = {};
    if (v.name !== row.name) patch.name = v.name;
    if ((v.default_team_id ?? null) !== (row.default_team_id ?? null)) patch.default_team_id = v.default_team_id;
    if (!Object.keys(patch).length) return { row, nothing: true };
    return api.patch(`/api/v1/brand-accounts/${row.id}`, patch);
  },
  empty: 'No brand accounts yet: Chorus registers one when a network first names it.',
};
