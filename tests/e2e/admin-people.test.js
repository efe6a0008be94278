// Admin screens (issue 25): the Admin view itself (who sees it, which screens each role gets, its
// shortcut, accessibility), and the Agents and Teams screens: create, edit, the server's
// validation errors next to their fields, refusal without the permission (the screen is not
// offered; the API's 403 shown when the console is made to offer it), and a second admin's
// browser following the change live.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, eventually, teardown } from './harness.js';
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
  row,
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
let billing;

before(async () => {
  scene = await adminScene();
  pages = scene.pages;
  billing = await api(scene.srv.base, 'POST', '/api/v1/teams', { token: scene.admin, body: { name: 'Billing', routes: ['category:billing'] } });
  pages.admin = await openAdmin(scene, 'admin', 'agents');
  pages.bea = await openAdmin(scene, 'bea', 'agents');
});

after(() => teardown({ srv: scene?.srv, browser: scene?.browser, pages, name: 'admin-people', ignore: EXPECTED_ERRORS }));

const agentsNow = () => api(scene.srv.base, 'GET', '/api/v1/agents', { token: scene.admin });
const byEmail = async (email) => (await agentsNow()).find((a) => a.email === email);
const teamNamed = async (name) => (await api(scene.srv.base, 'GET', '/api/v1/teams', { token: scene.admin })).find((t) => t.name === name);

test('the Admin view is offered to those who may manage something, each screen only with its permission', async () => {
  const all = ['agents', 'teams', 'approval-rules', 'examples', 'guides', 'sla', 'listening', 'brands', 'rota', 'watched-terms', 'api-keys', 'webhooks'];
  assert.deepEqual(await screenIds(pages.admin), all);
  // A team lead: teams, guidance, SLA, listening, brand accounts — not agents, keys, webhooks, approval rules or crises.
  pages.sam = await openAdmin(scene, 'sam', 'teams');
  assert.deepEqual(await screenIds(pages.sam), ['teams', 'examples', 'guides', 'sla', 'listening', 'brands']);
  // PR: approval rules, guidance, the crisis rota and watched terms.
  pages.pia = await openAdmin(scene, 'pia');
  assert.deepEqual(await screenIds(pages.pia), ['approval-rules', 'examples', 'guides', 'rota', 'watched-terms']);
  await pages.pia.context().close();
  // An agent manages nothing: no Admin view at all, even asked for by its address.
  pages.ana = await openAdmin(scene, 'ana');
  assert.equal(await pages.ana.$('#nav-admin'), null);
  assert.equal(await pages.ana.isHidden('#view-admin'), true);
  await pages.ana.context().close();

  // "g a" goes to the view from anywhere, the keyboard on its heading.
  const page = pages.admin;
  await page.evaluate(() => (location.hash = '#agent'));
  await page.waitForSelector('#view-admin', { state: 'hidden' });
  await page.keyboard.press('g');
  await page.keyboard.press('a');
  await page.waitForSelector('#view-admin', { state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'admin-h');
  // The screens are a tab list: arrow keys move between them, the panel follows.
  await page.focus('#adm-tab-agents');
  await page.keyboard.press('ArrowDown');
  await page.waitForSelector('#adm-panel-teams', { state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'adm-tab-teams');
  await page.keyboard.press('ArrowUp');
  await page.waitForSelector('#adm-panel-agents', { state: 'visible' });

  await checkA11y(page, 'the agents screen');
  await openNew(page, 'agents');
  await checkA11y(page, 'the new agent form');
  await cancel(page);
});

test('agents: an admin creates one with roles, skills, capacity and a team; the change is audited', async () => {
  const page = pages.admin;
  await openNew(page, 'agents');
  await fill(page, {
    name: 'Chen Wu',
    email: 'chen@skybridge.example',
    password: 'a-long-first-password',
    roles: ['agent', 'supervisor'],
    skills: 'network:x, language:es',
    capacity: '8',
    team_id: String(billing.id),
  });
  await save(page);
  await waitRow(page, 'agents', 'Chen Wu', { text: /Supervisor/ });
  assert.match(await rowText(page, 'agents', 'Chen Wu'), /chen@skybridge\.example \| Agent, Supervisor \(team lead\) \| network:x, language:es \| 8 \| Billing \| Active/);
  const chen = await byEmail('chen@skybridge.example');
  assert.deepEqual(chen.roles, ['agent', 'supervisor']);
  assert.deepEqual(chen.skills, ['network:x', 'language:es']);
  assert.equal(chen.capacity, 8);
  assert.equal(chen.team_id, billing.id);
  const [created] = await audited(scene, 'agent.create', chen.id);
  assert.equal(created.actor, `agent:1`);
  assert.equal((await audited(scene, 'agent.team', chen.id)).length, 1);
});

test('agents: an admin edits roles, skills and capacity, and disables the account', async () => {
  const page = pages.admin;
  const chen = await byEmail('chen@skybridge.example');
  await openEdit(page, 'agents', 'Chen Wu');
  // The form starts from the agent as stored.
  assert.equal(await page.inputValue('#admin-dialog [name="capacity"]'), '8');
  assert.equal(await page.isChecked('#admin-dialog [name="roles"][value="supervisor"]'), true);
  await fill(page, { roles: ['agent', 'approver'], skills: 'network:x', capacity: '3', team_id: '' });
  await save(page);
  await waitRow(page, 'agents', 'Chen Wu', { text: /Approver \(PR\)/ });
  const after = await byEmail('chen@skybridge.example');
  assert.deepEqual(after.roles, ['agent', 'approver']);
  assert.deepEqual(after.skills, ['network:x']);
  assert.equal(after.capacity, 3);
  assert.equal(after.team_id, null);
  const [update] = await audited(scene, 'agent.update', chen.id);
  assert.match(update.before, /"capacity":8/);
  assert.match(update.after, /"capacity":3/);

  await rowAction(page, 'agents', 'Chen Wu', 'toggle');
  await waitRow(page, 'agents', 'Chen Wu', { text: /Disabled/ });
  assert.equal((await byEmail('chen@skybridge.example')).active, false);
  // Enabled again the same way.
  await rowAction(page, 'agents', 'Chen Wu', 'toggle');
  await waitRow(page, 'agents', 'Chen Wu', { text: /Active/ });
  assert.equal((await byEmail('chen@skybridge.example')).active, true);
});

test('agents: the server’s refusal is shown next to the field it names, the form keeping what was typed', async () => {
  const page = pages.admin;
  await openNew(page, 'agents');
  await fill(page, { name: 'Dee Park', email: 'dee@skybridge.example', password: 'short', capacity: '4' });
  assert.match(await saveExpectingError(page, 'password'), /Password must be at least 10 characters/);
  assert.equal(await page.inputValue('#admin-dialog [name="name"]'), 'Dee Park', 'what was typed stays');
  assert.equal(await page.inputValue('#admin-dialog [name="email"]'), 'dee@skybridge.example');
  // The error is what the field's description says now (for screen readers), and goes once fixed.
  const described = await page.$eval('#admin-dialog [name="password"]', (c) => c.getAttribute('aria-describedby').split(' ').map((id) => document.getElementById(id)?.textContent).join(' '));
  assert.match(described, /Password must be at least 10 characters/);

  await fill(page, { password: 'a-long-enough-password', email: 'ana@skybridge.example' });
  assert.match(await saveExpectingError(page, 'email'), /already exists/);
  assert.equal(await page.$eval('#admin-dialog [data-field="password"] .adm-field-error', (e) => e.hidden), true, 'the earlier error is gone');

  await fill(page, { email: 'dee@skybridge.example', capacity: '5000' });
  assert.match(await saveExpectingError(page, 'capacity'), /between 0 and 1000/);
  await cancel(page);
  assert.equal(await byEmail('dee@skybridge.example'), undefined, 'nothing was created');

  // An admin cannot take away their own admin role: said next to the roles.
  await openEdit(page, 'agents', 'Administrator');
  await fill(page, { roles: ['agent'] });
  assert.match(await saveExpectingError(page, 'roles'), /own admin role/);
  await cancel(page);
});

test('agents and teams: refused without the permission — not offered, and the API’s 403 shown when forced', async () => {
  // The team lead's console offers neither the agents screen nor "New team" (agents.manage).
  assert.equal((await screenIds(pages.sam)).includes('agents'), false);
  assert.equal(await pages.sam.isHidden('#adm-teams-new'), true);

  // Made to believe it may, the console asks; the server refuses, and the form says so.
  const forced = await openAdmin(scene, 'sam', 'agents', { extraPermissions: ['agents.manage'] });
  pages.forced = forced;
  await openNew(forced, 'agents');
  await fill(forced, { name: 'Fay', email: 'fay@skybridge.example', password: 'a-long-first-password' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /^Not allowed: your roles do not grant agents\.manage/);
  assert.ok(await forced.isVisible('#admin-dialog[open]'));
  await cancel(forced);
  await openEdit(forced, 'agents', 'Ana Ruiz');
  await fill(forced, { capacity: '9' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /agents\.manage/);
  await cancel(forced);
  await showScreen(forced, 'teams');
  await openNew(forced, 'teams');
  await fill(forced, { name: 'Night shift' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /^Not allowed: your roles do not grant agents\.manage/);
  await cancel(forced);
  await forced.context().close();
  assert.equal(await byEmail('fay@skybridge.example'), undefined);
  assert.equal((await byEmail('ana@skybridge.example')).capacity, 5);
  assert.equal(await teamNamed('Night shift'), undefined);
});

test('teams: an admin creates one with routes and members; a team lead edits it', async () => {
  const page = pages.admin;
  await showScreen(page, 'teams');
  await openNew(page, 'teams');
  await fill(page, { name: 'Spanish desk', routes: 'Language:ES, network:x', auto_assign: true, members: [String(scene.people.ana.id)] });
  await save(page);
  await waitRow(page, 'teams', 'Spanish desk', { text: /Ana Ruiz/ });
  let team = await teamNamed('Spanish desk');
  assert.deepEqual([...team.routes].sort(), ['language:es', 'network:x'], 'routes as the server normalized them');
  assert.equal(team.auto_assign, true);
  assert.deepEqual(team.members, [scene.people.ana.id]);

  const sam = pages.sam;
  // (Coming back to a screen reads it again, live settings or not.)
  await showScreen(sam, 'examples');
  await showScreen(sam, 'teams');
  await waitRow(sam, 'teams', 'Spanish desk', { text: /Ana Ruiz/ });
  await openEdit(sam, 'teams', 'Spanish desk');
  await fill(sam, { routes: 'language:es', auto_assign: false, members: [String(scene.people.sam.id)] });
  await save(sam);
  await waitRow(sam, 'teams', 'Spanish desk', { text: /Sam Okafor/ });
  team = await teamNamed('Spanish desk');
  assert.deepEqual(team.routes, ['language:es']);
  assert.equal(team.auto_assign, false);
  assert.deepEqual(team.members, [scene.people.sam.id]);
  const [update] = await audited(scene, 'team.update', team.id);
  assert.equal(update.actor, `agent:${scene.people.sam.id}`);
  assert.ok((await audited(scene, 'agent.team', scene.people.ana.id)).some((e) => /"team_id":null/.test(e.after)), 'Ana taken off the team, audited');
});

test('teams: bad routes and a taken name are shown next to their fields', async () => {
  const sam = pages.sam;
  await openEdit(sam, 'teams', 'Spanish desk');
  await fill(sam, { routes: 'language:es, floor:two' });
  assert.match(await saveExpectingError(sam, 'routes'), /route "floor:two" is not network/i);
  assert.equal(await sam.inputValue('#admin-dialog [name="routes"]'), 'language:es, floor:two');
  await fill(sam, { routes: 'language:es', name: 'Billing' });
  assert.match(await saveExpectingError(sam, 'name'), /already exists/);
  await cancel(sam);
  assert.ok(await teamNamed('Spanish desk'));
});

test('live: a second admin sees another’s change without a reload, and an open form says its row changed', async (t) => {
  const bea = pages.bea;
  if (!(await needsLiveSettings(t, bea))) return;
  const page = pages.admin;
  await showScreen(page, 'agents');
  await showScreen(bea, 'agents');
  await openNew(page, 'agents');
  await fill(page, { name: 'Eli Moss', email: 'eli@skybridge.example', password: 'a-long-first-password', capacity: '6' });
  await save(page);
  await waitRow(bea, 'agents', 'Eli Moss', { text: /\| 6 \|/ });

  // Bea is editing Eli when the other admin changes him: her typing stays, a notice says so.
  await openEdit(bea, 'agents', 'Eli Moss');
  await fill(bea, { name: 'Eli Moss-Typed' });
  const eli = await byEmail('eli@skybridge.example');
  await api(scene.srv.base, 'PATCH', `/api/v1/agents/${eli.id}`, { token: scene.admin, body: { capacity: 2 } });
  await bea.waitForSelector('#admin-form-stale:not([hidden])');
  assert.match(await bea.textContent('#admin-form-stale'), /Someone else changed this agent while you were editing it/);
  assert.equal(await bea.inputValue('#admin-dialog [name="name"]'), 'Eli Moss-Typed', 'the open form is untouched');
  await bea.click('#admin-form-theirs');
  assert.equal(await bea.inputValue('#admin-dialog [name="capacity"]'), '2', 'their version, on request');
  await cancel(bea);
  await waitRow(bea, 'agents', 'Eli Moss', { text: /\| 2 \|/ });

  // Teams: the team lead's edit reaches the admin's open screen.
  await showScreen(bea, 'teams');
  await openEdit(pages.sam, 'teams', 'Spanish desk');
  await fill(pages.sam, { routes: 'language:es, network:instagram' });
  await save(pages.sam);
  await waitRow(bea, 'teams', 'Spanish desk', { text: /network:instagram/ });
  await eventually(async () => (await teamNamed('Spanish desk')).routes.includes('network:instagram'));
  assert.ok(await bea.$(row('teams', 'Spanish desk')));
});
