// Admin screens for the rules that guide the work: approval rules (what waits for whose
// approval, and for how long), example responses with their macro actions, and escalation
// guidance. docs/protocol.md, "Approvals", "Writing helpers", "Escalation".

import { GROUPS, NETWORKS, groupName, networkName, serverKnows, shortTime } from './admin-kit.js';

const KINDS = [
  ['topic', 'Topic: keywords or categories'],
  ['agent', 'Agent: every reply by these agents'],
  ['crisis', 'Crisis: every reply in an active crisis'],
  ['risk', 'Risk: public replies at or above a risk'],
  ['spot_check', 'Spot check: a random share of replies'],
];
const kindName = (k) => KINDS.find(([v]) => v === k)?.[1].split(':')[0] ?? k;
const SENTIMENTS = [
  ['', 'Any sentiment'],
  ['negative', 'Negative'],
  ['neutral', 'Neutral'],
  ['positive', 'Positive'],
];

// Servers from issue 25 on add a deadline and conditions to rules; older ones refuse those fields.
let queueFields = false;

/** A rule as the PUT body wants it: only the fields of its kind (others are refused). */
function ruleBody(r) {
  const body = { kind: r.kind, group: r.group, enabled: r.enabled !== false, note: r.note || null };
  if (r.kind === 'topic') Object.assign(body, { keywords: r.keywords || [], categories: r.categories || [] });
  if (r.kind === 'agent') body.agent_ids = r.agent_ids || [];
  if (r.kind === 'risk') body.risk_at_least = r.risk_at_least;
  if (r.kind === 'spot_check') body.percent = r.percent;
  if (queueFields) {
    Object.assign(body, {
      deadline_mins: r.deadline_mins ?? null,
      networks: r.networks || [],
      visibility: r.visibility || null,
      customer_tags: r.customer_tags || [],
      sentiment: r.sentiment || null,
    });
  }
  return body;
}

function holds(r, ctx) {
  switch (r.kind) {
    case 'topic':
      return [r.keywords?.length ? `words: ${r.keywords.join(', ')}` : '', r.categories?.length ? `categories: ${r.categories.join(', ')}` : ''].filter(Boolean).join('; ');
    case 'agent':
      return `replies by ${(r.agent_ids || []).map((id) => ctx.agents.get(id)?.name ?? `agent #${id}`).join(', ') || 'nobody'}`;
    case 'crisis':
      return 'every reply in an active crisis';
    case 'risk':
      return `public replies at risk ${r.risk_at_least} or more`;
    case 'spot_check':
      return `${r.percent}% of replies`;
    default:
      return '';
  }
}

function conditions(r) {
  const parts = [];
  if (r.networks?.length) parts.push(`on ${r.networks.map(networkName).join(', ')}`);
  if (r.visibility) parts.push(`${r.visibility} only`);
  if (r.customer_tags?.length) parts.push(`customers tagged ${r.customer_tags.join(', ')}`);
  if (r.sentiment) parts.push(`${r.sentiment} conversations`);
  if (r.deadline_mins != null) parts.push(`escalates after ${r.deadline_mins} min`);
  return parts.join('; ') || '—';
}

const is = (...kinds) => (v) => kinds.includes(v.kind);

export const approvalRules = {
  id: 'approval-rules',
  title: 'Approval rules',
  noun: 'approval rule',
  permission: 'approval_rules.manage',
  resources: ['approval_rules', 'agents'],
  intro: 'Replies a rule holds wait for one decision by its group before anything is sent. A reply several rules hold goes to the most senior group (legal, then PR, then team lead). Changes apply to the very next reply.',
  async load(api, ctx) {
    const [rules, people, known] = await Promise.all([api.get('/api/v1/approval-rules'), api.get('/api/v1/agents'), serverKnows('RuleSpec', 'deadline_mins')]);
    queueFields = known;
    for (const a of people) ctx.agents.set(a.id, a);
    return rules;
  },
  name: (r) => (r.note ? r.note : `${kindName(r.kind)} rule ${r.id}`),
  columns: [
    { label: 'Rule', cell: (r) => `${kindName(r.kind)} #${r.id}` },
    { label: 'Decided by', cell: (r) => groupName(r.group) },
    { label: 'Holds', cell: (r, ctx) => holds(r, ctx) },
    { label: 'Conditions', cell: (r) => conditions(r) },
    { label: 'Status', cell: (r) => (r.enabled ? 'Enabled' : 'Disabled') },
    { label: 'Note', cell: (r) => r.note || '—' },
  ],
  fields: (ctx) => [
    { name: 'kind', label: 'Kind', type: 'select', required: true, options: KINDS, errors: [/unknown variant/] },
    { name: 'group', label: 'Decided by', type: 'select', required: true, options: GROUPS, errors: [/\bgroup\b/] },
    { name: 'keywords', label: 'Keywords', type: 'list', wide: true, show: is('topic'), help: 'Comma separated words or phrases (whole words, any case) in the reply or the customer’s recent messages.', errors: [/topic rule needs/, /keyword/] },
    { name: 'categories', label: 'Triage categories', type: 'list', wide: true, show: is('topic'), help: 'Comma separated, e.g. complaint, urgent.', errors: [/categor/] },
    {
      name: 'agent_ids',
      label: 'Agents whose every reply waits',
      type: 'checkboxes',
      number: true,
      grid: true,
      show: is('agent'),
      options: [...ctx.agents.values()].filter((a) => a.active).sort((a, b) => a.name.localeCompare(b.name)).map((a) => [a.id, a.name]),
      errors: [/agent rule/, /agent \d+ does not exist/],
    },
    { name: 'risk_at_least', label: 'Lowest risk held (0 to 100)', type: 'number', min: 0, max: 100, required: true, show: is('risk'), errors: [/risk rule/, /\brisk\b/] },
    { name: 'percent', label: 'Share of replies held (1 to 100 %)', type: 'number', min: 1, max: 100, required: true, show: is('spot_check'), errors: [/spot_check rule/] },
    queueFields && {
      type: 'group',
      legend: 'Only when (all optional)',
      fields: [
        { name: 'networks', label: 'Networks (none ticked: any)', type: 'checkboxes', options: NETWORKS.filter(([n]) => n !== 'whatsapp'), wide: false },
        { name: 'visibility', label: 'Public or private', type: 'select', options: [['', 'Either'], ['public', 'Public'], ['private', 'Private']] },
        { name: 'sentiment', label: 'Conversation sentiment', type: 'select', options: SENTIMENTS },
        { name: 'customer_tags', label: 'Customer tags (any of them)', type: 'list', help: 'Comma separated, e.g. vip, press.' },
        { name: 'deadline_mins', label: 'Escalate when waiting longer than (minutes)', type: 'number', min: 1, max: 10080, help: 'Blank: no deadline. Then it moves on to the next group (team lead → PR → legal).', errors: [/deadline/] },
      ],
    },
    { name: 'enabled', label: 'Enabled (a disabled rule is kept but holds nothing)', type: 'checkbox', wide: true },
    { name: 'note', label: 'Note: why the rule exists', type: 'textarea', rows: 2, maxlength: 1000 },
  ],
  initial: (r) =>
    r
      ? { ...r, networks: r.networks || [], customer_tags: r.customer_tags || [] }
      : { kind: 'topic', group: 'pr', keywords: [], categories: [], agent_ids: [], enabled: true, networks: [], customer_tags: [] },
  create: (api, v) => api.post('/api/v1/approval-rules', ruleBody(v)),
  update: (api, row, v) => api.put(`/api/v1/approval-rules/${row.id}`, ruleBody(v)),
  actions: [
    {
      id: 'toggle',
      label: (r) => (r.enabled ? 'Disable' : 'Enable'),
      danger: false,
      run: async (api, r) => {
        await api.put(`/api/v1/approval-rules/${r.id}`, ruleBody({ ...r, enabled: !r.enabled }));
        return r.enabled ? 'Rule disabled: it holds nothing now.' : 'Rule enabled.';
      },
    },
    {
      id: 'delete',
      label: 'Delete',
      danger: true,
      confirm: () => 'Delete this rule? Replies it already holds stay held.',
      run: async (api, r) => {
        await api.del(`/api/v1/approval-rules/${r.id}`);
        return 'Rule deleted.';
      },
    },
  ],
  empty: 'No approval rules: replies go out without waiting.',
};

const STATUSES = [
  ['', 'Leave the status'],
  ['open', 'Open'],
  ['pending', 'Waiting on the customer'],
  ['resolved', 'Resolved'],
];
const ESCALATE = [['', 'Do not escalate'], ...GROUPS];

function macroText(a) {
  if (!a) return '—';
  const parts = [];
  if (a.add_tags?.length) parts.push(`tags ${a.add_tags.join(', ')}`);
  if (a.set_status) parts.push(`sets ${STATUSES.find(([v]) => v === a.set_status)?.[1].toLowerCase() ?? a.set_status}`);
  if (a.escalate_to) parts.push(`escalates to ${groupName(a.escalate_to)}`);
  return parts.join('; ') || '—';
}

export const examples = {
  id: 'examples',
  title: 'Example responses and macros',
  noun: 'example response',
  permission: 'guidance.manage',
  resources: ['example_responses'],
  intro: 'Examples to adapt, by topic, with notes on tone. As macros ("/" in the composer) they fill in {{customer.first_name}}, {{customer.handle}}, {{agent.first_name}}, {{brand.name}} and {{order_ref}}, and may tag, set a status or escalate once the reply is sent.',
  load: (api) => api.get('/api/v1/example-responses'),
  name: (x) => x.title,
  columns: [
    { label: 'Title', cell: (x) => x.title },
    { label: 'Topic', cell: (x) => x.topic },
    { label: 'Text', cell: (x) => (x.body.length > 120 ? `${x.body.slice(0, 119)}…` : x.body), class: 'adm-text' },
    { label: 'When sent', cell: (x) => macroText(x.actions) },
    { label: 'Updated', cell: (x) => shortTime(x.updated_at) },
  ],
  fields: () => [
    { name: 'topic', label: 'Topic', required: true, maxlength: 100, help: 'What it answers, e.g. refund, late delivery.' },
    { name: 'title', label: 'Title', required: true, maxlength: 200 },
    { name: 'body', label: 'Text', type: 'textarea', rows: 5, required: true, maxlength: 10000, help: 'Variables: {{customer.first_name}}, {{customer.handle}}, {{agent.first_name}}, {{brand.name}}, {{order_ref}}.' },
    { name: 'tone_notes', label: 'Tone notes', type: 'textarea', rows: 2, maxlength: 2000, help: 'How to adapt it: tone of voice, what to personalise, what never to say.', errors: [/tone/] },
    {
      type: 'group',
      legend: 'Macro actions, once the reply is sent',
      fields: [
        { name: 'actions.add_tags', aliases: ['add_tags'], label: 'Add tags', type: 'list', help: 'Comma separated, at most 10.' },
        { name: 'actions.set_status', aliases: ['set_status'], label: 'Set the status', type: 'select', options: STATUSES, errors: [/escalate and resolve/] },
        { name: 'actions.escalate_to', aliases: ['escalate_to'], label: 'Escalate to', type: 'select', options: ESCALATE },
      ],
    },
  ],
  initial: (x) =>
    x
      ? { topic: x.topic, title: x.title, body: x.body, tone_notes: x.tone_notes, 'actions.add_tags': x.actions?.add_tags || [], 'actions.set_status': x.actions?.set_status, 'actions.escalate_to': x.actions?.escalate_to }
      : { 'actions.add_tags': [] },
  create: (api, v) => api.post('/api/v1/example-responses', exampleBody(v)),
  update: (api, row, v) => api.put(`/api/v1/example-responses/${row.id}`, exampleBody(v)),
  actions: [
    {
      id: 'delete',
      label: 'Delete',
      danger: true,
      confirm: (x) => `Delete the example “${x.title}”?`,
      run: async (api, x) => {
        await api.del(`/api/v1/example-responses/${x.id}`);
        return `Deleted “${x.title}”.`;
      },
    },
  ],
  empty: 'No example responses yet.',
};

function exampleBody(v) {
  return {
    topic: v.topic,
    title: v.title,
    body: v.body,
    tone_notes: v.tone_notes || null,
    actions: { add_tags: v['actions.add_tags'], set_status: v['actions.set_status'] || null, escalate_to: v['actions.escalate_to'] || null },
  };
}

export const guides = {
  id: 'guides',
  title: 'Escalation guidance',
  noun: 'escalation guide',
  permission: 'guidance.manage',
  resources: ['escalation_guides'],
  intro: 'Shown on every conversation whose customer names one of the keywords (or whose triage category is listed): what to escalate, and to whom.',
  load: (api) => api.get('/api/v1/escalation-guides'),
  name: (g) => (g.guidance.length > 60 ? `${g.guidance.slice(0, 59)}…` : g.guidance),
  columns: [
    { label: 'Guidance', cell: (g) => g.guidance, class: 'adm-text' },
    { label: 'Escalate to', cell: (g) => groupName(g.group) },
    { label: 'Keywords', cell: (g) => g.keywords?.join(', ') || '—' },
    { label: 'Categories', cell: (g) => g.categories?.join(', ') || '—' },
  ],
  fields: () => [
    { name: 'group', label: 'Escalate to', type: 'select', required: true, options: GROUPS, errors: [/\bgroup\b/] },
    { name: 'keywords', label: 'Keywords', type: 'list', wide: true, help: 'Comma separated words or phrases in the customer’s messages.', errors: [/needs keywords or categories/, /keyword/] },
    { name: 'categories', label: 'Triage categories', type: 'list', wide: true, help: 'Comma separated, e.g. legal, safety.', errors: [/categor/] },
    { name: 'guidance', label: 'Guidance', type: 'textarea', rows: 3, required: true, maxlength: 2000, help: 'What to do, in plain words.', errors: [/^guidance (must|is|text)/i] },
  ],
  initial: (g) => (g ? { group: g.group, keywords: g.keywords || [], categories: g.categories || [], guidance: g.guidance } : { group: 'team_lead', keywords: [], categories: [] }),
  create: (api, v) => api.post('/api/v1/escalation-guides', { group: v.group, keywords: v.keywords, categories: v.categories, guidance: v.guidance }),
  update: (api, row, v) => api.put(`/api/v1/escalation-guides/${row.id}`, { group: v.group, keywords: v.keywords, categories: v.categories, guidance: v.guidance }),
  actions: [
    {
      id: 'delete',
      label: 'Delete',
      danger: true,
      confirm: () => 'Delete this guidance? Conversations stop showing it at once.',
      run: async (api, g) => {
        await api.del(`/api/v1/escalation-guides/${g.id}`);
        return 'Guidance deleted.';
      },
    },
  ],
  empty: 'No escalation guidance yet.',
};
