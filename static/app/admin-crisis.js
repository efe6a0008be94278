// Admin screens for crisis readiness: the rota of each active crisis (who is on duty for what,
// when) and the watched terms the early warning counts (issue 25: terms are data now, not
// configuration). docs/protocol.md, "Crisis mode"; /api/v1/watched-terms.

import { fromLocalInput, shortTime, toLocalInput } from './admin-kit.js';

const shift = (e, ctx) => `${ctx.agents.get(e.agent_id)?.name ?? `agent #${e.agent_id}`} · ${e.duty} · ${shortTime(e.starts_at)} → ${shortTime(e.ends_at)}`;

export const crisisRota = {
  id: 'rota',
  title: 'Crisis rota',
  noun: 'crisis rota',
  permission: 'crises.run',
  resources: ['crises'],
  intro: 'Who is on duty for what during each active crisis. Crises are declared and stood down in the Crisis view; their shifts are kept here.',
  async load(api, ctx) {
    const [list, people] = await Promise.all([api.get('/api/v1/crises?status=active'), api.get('/api/v1/agents')]);
    for (const a of people) ctx.agents.set(a.id, a);
    return list;
  },
  name: (c) => c.name,
  // Only the rota is edited here: the rest of the crisis moving on is not a conflict.
  signature: (c) => c.rota,
  columns: [
    { label: 'Crisis', cell: (c) => c.name },
    { label: 'Severity', cell: (c) => c.severity },
    { label: 'On duty now', cell: (c, ctx) => c.on_duty.map((e) => `${ctx.agents.get(e.agent_id)?.name ?? `agent #${e.agent_id}`} (${e.duty})`).join(', ') || 'nobody' },
    { label: 'Shifts', cell: (c, ctx) => (c.rota.length ? c.rota.map((e) => shift(e, ctx)).join('; ') : 'none yet'), class: 'adm-text' },
  ],
  fields: (ctx) => [
    {
      name: 'rota',
      label: 'Shifts',
      type: 'rows',
      itemLabel: 'Shift',
      addLabel: 'Add a shift',
      empty: 'No shifts.',
      help: 'Times are your local time.',
      blank: () => {
        const start = new Date();
        start.setMinutes(0, 0, 0);
        return { starts_at: toLocalInput(start.toISOString()), ends_at: toLocalInput(new Date(start.getTime() + 8 * 3600e3).toISOString()), duty: 'escalations' };
      },
      columns: [
        {
          name: 'agent_id',
          label: 'Who',
          type: 'select',
          number: true,
          required: true,
          options: [['', 'Choose…'], ...[...ctx.agents.values()].filter((a) => a.active).sort((a, b) => a.name.localeCompare(b.name)).map((a) => [a.id, a.name])],
        },
        { name: 'duty', label: 'Duty', required: true, maxlength: 100, placeholder: 'escalations, press, legal…' },
        { name: 'starts_at', label: 'From', type: 'datetime', required: true },
        { name: 'ends_at', label: 'Until', type: 'datetime', required: true },
      ],
      errors: [/shift|duty|agent|starts|ends|rota|timestamp|date/i],
    },
  ],
  initial: (c) => ({ rota: c.rota.map((e) => ({ ...e, starts_at: toLocalInput(e.starts_at), ends_at: toLocalInput(e.ends_at) })) }),
  update: (api, row, v) =>
    api.patch(`/api/v1/crises/${row.id}`, {
      rota: v.rota.map((e) => ({ agent_id: e.agent_id, duty: e.duty, starts_at: fromLocalInput(e.starts_at) ?? '', ends_at: fromLocalInput(e.ends_at) ?? '' })),
    }),
  empty: 'No active crisis. Declare one in the Crisis view; its rota is kept here.',
};

export const watchedTerms = {
  id: 'watched-terms',
  title: 'Watched terms',
  noun: 'watched term',
  permission: 'crises.run',
  resources: ['watched_terms'],
  intro: 'Words the crisis early warning counts on their own: a sudden spike in messages naming one raises an alert for PR, legal and team leads.',
  missing: 'This server does not keep watched terms yet (it needs the watched-terms API of issue 25).',
  load: (api) => api.get('/api/v1/watched-terms'),
  name: (t) => t.term,
  columns: [
    { label: 'Term', cell: (t) => t.term },
    { label: 'Added by', cell: (t, ctx) => (t.created_by == null ? 'configuration' : ctx.agents.get(t.created_by)?.name ?? `agent #${t.created_by}`) },
    { label: 'Added', cell: (t) => shortTime(t.created_at) },
  ],
  fields: () => [{ name: 'term', label: 'Term', required: true, maxlength: 100, help: 'A word or phrase, up to 100 characters.' }],
  initial: () => ({}),
  create: (api, v) => api.post('/api/v1/watched-terms', { term: v.term }),
  actions: [
    {
      id: 'delete',
      label: 'Stop watching',
      danger: true,
      confirm: (t) => `Stop watching “${t.term}”? Alerts already raised stay.`,
      run: async (api, t) => {
        await api.del(`/api/v1/watched-terms/${t.id}`);
        return `No longer watching “${t.term}”.`;
      },
    },
  ],
  empty: 'No watched terms yet.',
};
