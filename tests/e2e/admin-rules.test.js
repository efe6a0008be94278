// Admin screens (issue 25) for the rules that guide the work: approval rules (kind-dependent
// fields, and the deadline and conditions of contract C when the server has them), example
// responses with their macro actions, and escalation guidance. Each: create, edit, the server's
// refusal next to its field, refusal without the permission, a second admin following live.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, teardown } from './harness.js';
import {
  EXPECTED_ERRORS,
  adminScene,
  audited,
  cancel,
  checkA11y,
  fill,
  formError,
  needsLiveSettings,
  openAdmin,
  openEdit,
  openNew,
  rowAction,
  rowText,
  save,
  saveExpectingError,
  screenIds,
  showScreen,
  waitRow,
} from './admin-helpers.js';

let scene;
let pages = {};

before(async () => {
  scene = await adminScene();
  pages = scene.pages;
  pages.admin = await openAdmin(scene, 'admin', 'approval-rules');
  pages.bea = await openAdmin(scene, 'bea', 'approval-rules');
});

after(() => teardown({ srv: scene?.srv, browser: scene?.browser, pages, name: 'admin-rules', ignore: EXPECTED_ERRORS }));

const get = (path) => api(scene.srv.base, 'GET', path, { token: scene.admin });
const rules = () => get('/api/v1/approval-rules');
const examples = () => get('/api/v1/example-responses');
const guides = () => get('/api/v1/escalation-guides');
const visible = (page, name) => page.isVisible(`#admin-dialog [data-field="${name}"]`);

test('approval rules: create a topic rule; the fields follow the kind', async () => {
  const page = pages.admin;
  await openNew(page, 'approval-rules');
  // Topic fields for a topic rule, none of the others.
  assert.equal(await visible(page, 'keywords'), true);
  assert.equal(await visible(page, 'risk_at_least'), false);
  await fill(page, { kind: 'spot_check' });
  assert.equal(await visible(page, 'keywords'), false);
  assert.equal(await visible(page, 'percent'), true);
  await fill(page, { kind: 'agent' });
  assert.equal(await visible(page, 'agent_ids'), true);
  await checkA11y(page, 'the approval rule form');
  await fill(page, { kind: 'topic', group: 'legal', keywords: 'lawsuit, data breach', categories: 'complaint', note: 'Anything that smells of litigation' });
  await save(page);
  await waitRow(page, 'approval-rules', 'Anything that smells of litigation', { text: /Legal/ });
  assert.match(await rowText(page, 'approval-rules', 'Anything that smells of litigation'), /Topic #\d+ \| Legal \| words: data breach, lawsuit; categories: complaint/);
  const [rule] = await rules();
  assert.equal(rule.kind, 'topic');
  assert.equal(rule.group, 'legal');
  assert.deepEqual([...rule.keywords].sort(), ['data breach', 'lawsuit']);
  assert.deepEqual(rule.categories, ['complaint']);
  assert.equal((await audited(scene, 'approval_rule.create', rule.id))[0].actor, 'agent:1');
});

test('approval rules: edit into a risk rule, disable, enable and delete', async () => {
  const page = pages.admin;
  const name = 'Anything that smells of litigation';
  await openEdit(page, 'approval-rules', name);
  assert.equal(await page.inputValue('#admin-dialog [name="keywords"]'), 'data breach, lawsuit');
  await fill(page, { kind: 'risk', group: 'pr', risk_at_least: '70' });
  await save(page);
  await waitRow(page, 'approval-rules', name, { text: /public replies at risk 70 or more/ });
  let [rule] = await rules();
  assert.equal(rule.kind, 'risk');
  assert.equal(rule.risk_at_least, 70);
  assert.deepEqual(rule.keywords, [], 'a risk rule keeps no keywords');
  assert.equal((await audited(scene, 'approval_rule.update', rule.id)).length, 1);

  await rowAction(page, 'approval-rules', name, 'toggle', { confirm: false });
  await waitRow(page, 'approval-rules', name, { text: /Disabled/ });
  [rule] = await rules();
  assert.equal(rule.enabled, false);
  await rowAction(page, 'approval-rules', name, 'toggle', { confirm: false });
  await waitRow(page, 'approval-rules', name, { text: /Enabled/ });

  await rowAction(page, 'approval-rules', name, 'delete');
  await waitRow(page, 'approval-rules', name, { gone: true });
  assert.deepEqual(await rules(), []);
  assert.equal((await audited(scene, 'approval_rule.delete', rule.id)).length, 1);
});

test('approval rules: what the server refuses is said next to the field', async () => {
  const page = pages.admin;
  await openNew(page, 'approval-rules');
  await fill(page, { kind: 'topic', group: 'pr', note: 'Typed before the refusal' });
  assert.match(await saveExpectingError(page, 'keywords'), /topic rule needs keywords or categories/);
  assert.equal(await page.inputValue('#admin-dialog [name="note"]'), 'Typed before the refusal');
  await fill(page, { kind: 'risk', risk_at_least: '150' });
  assert.match(await saveExpectingError(page, 'risk_at_least'), /between 0 and 100/);
  await fill(page, { kind: 'spot_check', percent: '0' });
  assert.match(await saveExpectingError(page, 'percent'), /between 1 and 100/);
  await fill(page, { kind: 'agent' });
  assert.match(await saveExpectingError(page, 'agent_ids'), /agent rule needs/);
  await cancel(page);
  assert.deepEqual(await rules(), []);
});

test('approval rules: the deadline and conditions of the approval queue (contract C)', async (t) => {
  const doc = await get('/api/openapi.json');
  if (!('deadline_mins' in (doc.components.schemas.RuleSpec.properties || {}))) {
    t.skip('this server has no rule deadlines or conditions yet (issue 25, contract C)');
    return;
  }
  const page = pages.admin;
  await showScreen(page, 'examples');
  await showScreen(page, 'approval-rules');
  await openNew(page, 'approval-rules');
  await fill(page, { kind: 'spot_check', percent: '10', group: 'team_lead', networks: ['x'], visibility: 'public', sentiment: 'negative', customer_tags: 'vip, press', deadline_mins: '20', note: 'VIPs on X' });
  await save(page);
  await waitRow(page, 'approval-rules', 'VIPs on X', { text: /escalates after 20 min/ });
  const rule = (await rules()).find((r) => r.note === 'VIPs on X');
  assert.equal(rule.deadline_mins, 20);
  assert.deepEqual(rule.networks, ['x']);
  assert.equal(rule.visibility, 'public');
  assert.equal(rule.sentiment, 'negative');
  assert.deepEqual([...rule.customer_tags].sort(), ['press', 'vip']);
  await openEdit(page, 'approval-rules', 'VIPs on X');
  await fill(page, { deadline_mins: '99999' });
  assert.match(await saveExpectingError(page, 'deadline_mins'), /deadline/i);
  await fill(page, { deadline_mins: '', networks: [] });
  await save(page);
  const again = (await rules()).find((r) => r.note === 'VIPs on X');
  assert.equal(again.deadline_mins, null);
  assert.deepEqual(again.networks, []);
  await rowAction(page, 'approval-rules', 'VIPs on X', 'delete');
  await waitRow(page, 'approval-rules', 'VIPs on X', { gone: true });
});

test('example responses: PR creates one with macro actions and edits it; refusals next to the field', async () => {
  pages.pia = await openAdmin(scene, 'pia', 'examples');
  const page = pages.pia;
  await openNew(page, 'examples');
  await fill(page, {
    topic: 'Refund',
    title: 'Refund on its way',
    body: 'Hi {{customer.first_name}}, your refund for {{order_ref}} was issued today.',
    tone_notes: 'Warm, specific dates.',
    'actions.add_tags': 'refund, money',
    'actions.set_status': 'pending',
  });
  await checkA11y(page, 'the example response form');
  await save(page);
  await waitRow(page, 'examples', 'Refund on its way', { text: /tags refund, money; sets waiting on the customer/ });
  let [x] = await examples();
  assert.equal(x.topic, 'refund', 'topics are lowercased by the server');
  assert.deepEqual(x.actions, { add_tags: ['refund', 'money'], set_status: 'pending', escalate_to: null });
  assert.equal((await audited(scene, 'example_response.create', x.id))[0].actor, `agent:${scene.people.pia.id}`);

  await openEdit(page, 'examples', 'Refund on its way');
  await fill(page, { 'actions.set_status': 'resolved', 'actions.escalate_to': 'legal' });
  assert.match(await saveExpectingError(page, 'actions.set_status'), /cannot both escalate and resolve/);
  await fill(page, { 'actions.add_tags': 'a, b, c, d, e, f, g, h, i, j, k', 'actions.set_status': '' });
  assert.match(await saveExpectingError(page, 'actions.add_tags'), /at most 10 tags/);
  await fill(page, { 'actions.add_tags': 'refund', title: '' });
  assert.match(await saveExpectingError(page, 'title'), /title must be 1 to 200 characters/i);
  await fill(page, { title: 'Refund issued' });
  await save(page);
  await waitRow(page, 'examples', 'Refund issued', { text: /escalates to Legal/ });
  [x] = await examples();
  assert.deepEqual(x.actions, { add_tags: ['refund'], set_status: null, escalate_to: 'legal' });
  assert.equal((await audited(scene, 'example_response.update', x.id)).length, 1);
});

test('escalation guidance: a team lead creates and edits it; no keywords nor categories is refused next to the keywords', async () => {
  pages.sam = await openAdmin(scene, 'sam', 'guides');
  const page = pages.sam;
  await openNew(page, 'guides');
  await fill(page, { group: 'legal', guidance: 'Legal threats go to legal via your team lead.' });
  assert.match(await saveExpectingError(page, 'keywords'), /needs keywords or categories/);
  await fill(page, { keywords: 'lawsuit, my lawyer' });
  await save(page);
  await waitRow(page, 'guides', 'Legal threats go to legal via your team lead.', { text: /lawsuit, my lawyer/ });
  let [g] = await guides();
  assert.deepEqual([...g.keywords].sort(), ['lawsuit', 'my lawyer']);
  await openEdit(page, 'guides', 'Legal threats go to legal via your team lead.');
  await fill(page, { group: 'pr', categories: 'safety', guidance: 'Safety and legal threats: PR first.' });
  await save(page);
  await waitRow(page, 'guides', 'Safety and legal threats: PR first.', { text: /PR/ });
  [g] = await guides();
  assert.equal(g.group, 'pr');
  assert.deepEqual(g.categories, ['safety']);
  assert.equal((await audited(scene, 'escalation_guide.update', g.id))[0].actor, `agent:${scene.people.sam.id}`);
  // Deleted from its row.
  await rowAction(page, 'guides', 'Safety and legal threats: PR first.', 'delete');
  await waitRow(page, 'guides', 'Safety and legal threats: PR first.', { gone: true });
  assert.deepEqual(await guides(), []);
});

test('refused without the permission: not offered, and the API’s 403 shown when forced', async () => {
  // A team lead keeps guidance but not approval rules; an agent has no admin screens at all.
  assert.equal((await screenIds(pages.sam)).includes('approval-rules'), false);
  assert.deepEqual((await screenIds(pages.sam)).filter((s) => ['examples', 'guides'].includes(s)), ['examples', 'guides']);
  const forced = await openAdmin(scene, 'ana', 'approval-rules', { extraPermissions: ['approval_rules.manage', 'guidance.manage'] });
  pages.forced = forced;
  await openNew(forced, 'approval-rules');
  await fill(forced, { kind: 'crisis', group: 'pr' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /^Not allowed: your roles do not grant approval_rules\.manage/);
  await cancel(forced);
  await showScreen(forced, 'examples');
  await openEdit(forced, 'examples', 'Refund issued');
  await fill(forced, { title: 'Hijacked' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /guidance\.manage/);
  await cancel(forced);
  await showScreen(forced, 'guides');
  await openNew(forced, 'guides');
  await fill(forced, { keywords: 'x', guidance: 'y' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /guidance\.manage/);
  await cancel(forced);
  await forced.context().close();
  assert.deepEqual(await rules(), []);
  assert.equal((await examples())[0].title, 'Refund issued');
  assert.deepEqual(await guides(), []);
});

test('live: a second admin sees rules, examples and guidance change without a reload', async (t) => {
  const bea = pages.bea;
  if (!(await needsLiveSettings(t, bea))) return;
  await showScreen(bea, 'approval-rules');
  await showScreen(pages.admin, 'approval-rules');
  await openNew(pages.admin, 'approval-rules');
  await fill(pages.admin, { kind: 'crisis', group: 'pr', note: 'Crisis replies past PR' });
  await save(pages.admin);
  await waitRow(bea, 'approval-rules', 'Crisis replies past PR', { text: /every reply in an active crisis/ });
  await rowAction(pages.admin, 'approval-rules', 'Crisis replies past PR', 'toggle', { confirm: false });
  await waitRow(bea, 'approval-rules', 'Crisis replies past PR', { text: /Disabled/ });

  await showScreen(bea, 'examples');
  await openEdit(pages.pia, 'examples', 'Refund issued');
  await fill(pages.pia, { title: 'Refund sent' });
  await save(pages.pia);
  await waitRow(bea, 'examples', 'Refund sent');

  await showScreen(bea, 'guides');
  await openNew(pages.sam, 'guides');
  await fill(pages.sam, { group: 'team_lead', keywords: 'injury', guidance: 'Injuries: your team lead, now.' });
  await save(pages.sam);
  await waitRow(bea, 'guides', 'Injuries: your team lead, now.');
});
