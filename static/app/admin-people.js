// Admin screens for people: agents (roles, skills, capacity, team, active) and teams (routes,
// push, members). docs/protocol.md, "Agents" and "Teams".

import { forField } from './admin-kit.js';
import { h } from './util.js';

export const ROLES = [
  ['agent', 'Agent'],
  ['supervisor', 'Supervisor (team lead)'],
  ['approver', 'Approver (PR)'],
  ['legal', 'Legal'],
  ['admin', 'Admin'],
  ['wallboard', 'Wallboard display'],
];
const roleName = (r) => ROLES.find(([v]) => v === r)?.[1] ?? r;
const may = (ctx, p) => (ctx.me.permissions || []).includes(p);

/** The teams as select options, the general queue first. */
export function teamOptions(ctx, none = 'No team') {
  return [['', none], ...[...ctx.teams.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.id, t.name])];
}

/** Only what differs from `row` (a PATCH that names what changed). */
function changes(row, next) {
  return Object.fromEntries(Object.entries(next).filter(([k, v]) => JSON.stringify(row[k]) !== JSON.stringify(v)));
}

async function reloadTeams(ctx) {
  try {
    const teams = await ctx.api.get('/api/v1/teams');
    ctx.teams.clear();
    for (const t of teams) ctx.teams.set(t.id, t);
  } catch {
    // the names stay as they were
  }
}

export const agents = {
  id: 'agents',
  title: 'Agents',
  noun: 'agent',
  permission: 'agents.manage',
  resources: ['agents', 'teams'],
  intro: 'Who signs in and what they may do (roles), which work they are offered (skills), how much they hold at once (capacity) and their team. Disabling an account ends its sessions at once.',
  async load(api, ctx) {
    const [list] = await Promise.all([api.get('/api/v1/agents'), reloadTeams(ctx)]);
    for (const a of list) ctx.agents.set(a.id, a);
    return list;
  },
  name: (a) => a.name,
  columns: [
    { label: 'Name', cell: (a, ctx) => [a.name, a.id === ctx.me.id ? ' (you)' : ''] },
    { label: 'Email', cell: (a) => a.email },
    { label: 'Roles', cell: (a) => a.roles.map(roleName).join(', ') },
    { label: 'Skills', cell: (a) => a.skills.join(', ') || '—' },
    { label: 'Capacity', cell: (a) => String(a.capacity) },
    { label: 'Team', cell: (a, ctx) => (a.team_id == null ? '—' : ctx.teams.get(a.team_id)?.name ?? `team #${a.team_id}`) },
    { label: 'Status', cell: (a) => (a.active ? 'Active' : h('span', { class: 'badge status-rejected' }, 'Disabled')) },
  ],
  fields: (ctx, row) => [
    { name: 'name', label: 'Name', required: true, maxlength: 200 },
    row
      ? { name: 'email', type: 'info', label: 'Email (sign-in)', text: row.email }
      : { name: 'email', label: 'Email (their sign-in)', type: 'email', required: true, maxlength: 254, errors: [/agent with email/] },
    !row && { name: 'password', label: 'First password', type: 'password', required: true, minlength: 10, help: 'At least 10 characters. Give it to them in person; they sign in with it.' },
    {
      name: 'roles',
      label: 'Roles',
      type: 'checkboxes',
      required: true,
      options: ROLES,
      help: 'What they may do; admins may do everything.',
      errors: [/\broles\b/, (m, v) => /own admin role/.test(m) && v.active !== false],
    },
    { name: 'skills', label: 'Skills', type: 'list', wide: true, help: 'Comma separated. network:x, category:billing and language:es decide which work they are offered; other skills are for people.', errors: [/skill/] },
    { name: 'capacity', label: 'Capacity', type: 'number', required: true, min: 0, max: 1000, help: 'Most conversations held at once (0 to 1000).' },
    may(ctx, 'teams.manage') && { name: 'team_id', label: 'Team', type: 'select', number: true, options: teamOptions(ctx, 'No team (the general queue)'), errors: [/\bteam\b/] },
    row && { name: 'active', label: 'Active: may sign in (untick to disable the account and end every session)', type: 'checkbox', wide: true, errors: [/disable yourself/] },
  ],
  initial: (row) =>
    row
      ? { name: row.name, roles: row.roles, skills: row.skills, capacity: row.capacity, team_id: row.team_id, active: row.active }
      : { roles: ['agent'], skills: [], capacity: 5, team_id: null },
  async create(api, v) {
    const created = await api.post('/api/v1/agents', { email: v.email, name: v.name, password: v.password, roles: v.roles, skills: v.skills, capacity: v.capacity });
    if (v.team_id != null) return forField('team_id', api.put(`/api/v1/agents/${created.id}/team`, { team_id: v.team_id }));
    return created;
  },
  async update(api, row, v) {
    const patch = changes(row, { name: v.name, roles: v.roles, skills: v.skills, capacity: v.capacity, active: v.active });
    let saved = row;
    if (Object.keys(patch).length) saved = await api.patch(`/api/v1/agents/${row.id}`, patch);
    if ('team_id' in v && (v.team_id ?? null) !== (row.team_id ?? null)) {
      saved = await forField('team_id', api.put(`/api/v1/agents/${row.id}/team`, { team_id: v.team_id }));
    } else if (!Object.keys(patch).length) {
      return { row, nothing: true };
    }
    return saved;
  },
  actions: [
    {
      id: 'toggle',
      label: (a) => (a.active ? 'Disable' : 'Enable'),
      when: (a, ctx) => a.id !== ctx.me.id,
      danger: true,
      confirm: (a) => (a.active ? `Disable ${a.name}? They cannot sign in, and every session they have ends at once.` : `Enable ${a.name} again? They can sign in with their password.`),
      run: async (api, a) => {
        await api.patch(`/api/v1/agents/${a.id}`, { active: !a.active });
        return a.active ? `Disabled ${a.name}.` : `Enabled ${a.name}.`;
      },
    },
    {
      id: 'signout',
      label: 'Sign out everywhere',
      when: (a, ctx) => a.active && a.id !== ctx.me.id,
      danger: true,
      confirm: (a) => `Sign ${a.name} out of every browser and device? They can sign in again.`,
      run: async (api, a) => {
        await api.del(`/api/v1/agents/${a.id}/sessions`);
        return `Signed ${a.name} out everywhere.`;
      },
    },
  ],
  empty: 'No agents yet.',
};

export const teams = {
  id: 'teams',
  title: 'Teams and routes',
  noun: 'team',
  permission: 'teams.manage',
  resources: ['teams', 'agents'],
  intro: 'Each team has its own queue. Its routes decide which new conversations flow to it (network:x, language:es, category:billing); with push on, its work goes to its members without them asking.',
  async load(api, ctx) {
    const [list, people] = await Promise.all([api.get('/api/v1/teams'), api.get('/api/v1/agents')]);
    ctx.teams.clear();
    for (const t of list) ctx.teams.set(t.id, t);
    for (const a of people) ctx.agents.set(a.id, a);
    return list;
  },
  name: (t) => t.name,
  columns: [
    { label: 'Team', cell: (t) => t.name },
    { label: 'Routes', cell: (t) => (t.routes.length ? t.routes.join(', ') : 'none (moved by hand)') },
    { label: 'Push', cell: (t) => (t.auto_assign ? 'On' : 'Off') },
    { label: 'Members', cell: (t, ctx) => (t.members.length ? t.members.map((id) => ctx.agents.get(id)?.name ?? `agent #${id}`).join(', ') : '—') },
  ],
  canCreate: (ctx) => may(ctx, 'agents.manage'),
  fields: (ctx, row) => [
    { name: 'name', label: 'Name', required: true, maxlength: 100, errors: [/team name|named/] },
    { name: 'routes', label: 'Routes', type: 'list', wide: true, help: 'Comma separated: network:<name>, language:<code>, category:<name>. Within a kind any value matches; every kind listed must match. None: conversations come only when moved here.', errors: [/route/] },
    { name: 'auto_assign', label: 'Push its waiting work to its members (auto-assign)', type: 'checkbox', wide: true },
    {
      name: 'members',
      label: 'Members',
      type: 'checkboxes',
      number: true,
      grid: true,
      options: [...ctx.agents.values()].filter((a) => a.active || row?.members.includes(a.id)).sort((a, b) => a.name.localeCompare(b.name)).map((a) => [a.id, a.team_id != null && a.team_id !== row?.id ? `${a.name} (now ${ctx.teams.get(a.team_id)?.name ?? 'another team'})` : a.name]),
      help: 'An agent is on one team at a time: ticking someone moves them here.',
    },
  ],
  initial: (row) => (row ? { name: row.name, routes: row.routes, auto_assign: row.auto_assign, members: row.members } : { routes: [], auto_assign: false, members: [] }),
  async create(api, v) {
    const team = await api.post('/api/v1/teams', { name: v.name, routes: v.routes, auto_assign: v.auto_assign });
    for (const id of v.members) await forField('members', api.put(`/api/v1/agents/${id}/team`, { team_id: team.id }));
    return team;
  },
  async update(api, row, v) {
    const patch = changes(row, { name: v.name, routes: v.routes, auto_assign: v.auto_assign });
    const added = v.members.filter((id) => !row.members.includes(id));
    const removed = row.members.filter((id) => !v.members.includes(id));
    if (!Object.keys(patch).length && !added.length && !removed.length) return { row, nothing: true };
    let saved = row;
    if (Object.keys(patch).length) saved = await api.patch(`/api/v1/teams/${row.id}`, patch);
    for (const id of added) await forField('members', api.put(`/api/v1/agents/${id}/team`, { team_id: row.id }));
    for (const id of removed) await forField('members', api.put(`/api/v1/agents/${id}/team`, { team_id: null }));
    return saved;
  },
  empty: 'No teams yet: everything waits in the general queue.',
};
