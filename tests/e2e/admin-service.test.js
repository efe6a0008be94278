// Admin screens (issue 25) for service levels and sources: SLA policies with business hours and
// holidays, listening rules, and brand accounts. Each: create (where the API allows), edit, the
// server's refusal next to its field, refusal without the permission, a second admin live.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, ingest, teardown } from './harness.js';
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
let desk;

before(async () => {
  scene = await adminScene();
  pages = scene.pages;
  // A brand account is registered by the first message that names it.
  await ingest(scene.srv.base, { customer: 'dana', text: '@SkyBridgeCare hello' });
  desk = await api(scene.srv.base, 'POST', '/api/v1/teams', { token: scene.admin, body: { name: 'Help desk' } });
  pages.sam = await openAdmin(scene, 'sam', 'sla');
  pages.bea = await openAdmin(scene, 'bea', 'sla');
});

after(() => teardown({ srv: scene?.srv, browser: scene?.browser, pages, name: 'admin-service', ignore: EXPECTED_ERRORS }));

const get = (path) => api(scene.srv.base, 'GET', path, { token: scene.admin });
const hoursRow = (n, name) => `#admin-dialog [data-field="hours"] .adm-rows > li:nth-child(${n}) [name="${name}"]`;

async function addHours(page, n, { days, start, end }) {
  await page.click('#admin-dialog [data-field="hours"] .adm-row-add');
  await page.waitForSelector(hoursRow(n, 'start'));
  for (const box of await page.$$(hoursRow(n, 'days'))) await box.setChecked(days.includes(Number(await box.getAttribute('value'))));
  await page.fill(hoursRow(n, 'start'), start);
  await page.fill(hoursRow(n, 'end'), end);
}

test('SLA policies: a team lead creates one with targets, business hours and holidays, and edits it', async () => {
  const page = pages.sam;
  await openNew(page, 'sla');
  await fill(page, { name: 'UK office hours', priority: '1', network: 'x', first_response_mins: '30', next_response_mins: '60', timezone: 'Europe/London', holidays: '2026-12-25, 2026-12-26' });
  await addHours(page, 1, { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:30' });
  await addHours(page, 2, { days: [6], start: '10:00', end: '14:00' });
  await checkA11y(page, 'the SLA policy form');
  await save(page);
  await waitRow(page, 'sla', 'UK office hours', { text: /Mon–Fri 09:00–17:30; Sat 10:00–14:00 \(Europe\/London\)/ });
  assert.match(await rowText(page, 'sla', 'UK office hours'), /Tier 1, X \| 30 min \| 1 h/);
  let [p] = await get('/api/v1/sla-policies');
  assert.equal(p.priority, 1);
  assert.equal(p.network, 'x');
  assert.equal(p.first_response_secs, 1800);
  assert.equal(p.next_response_secs, 3600);
  assert.equal(p.timezone, 'Europe/London');
  assert.deepEqual(p.hours, [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:30' }, { days: [6], start: '10:00', end: '14:00' }]);
  assert.deepEqual(p.holidays, ['2026-12-25', '2026-12-26']);
  assert.equal((await audited(scene, 'sla_policy.create', p.id))[0].actor, `agent:${scene.people.sam.id}`);

  await openEdit(page, 'sla', 'UK office hours');
  assert.equal(await page.inputValue(hoursRow(2, 'start')), '10:00', 'the hours as stored');
  await page.click('#admin-dialog [data-field="hours"] .adm-rows > li:nth-child(2) .adm-row-remove');
  await fill(page, { first_response_mins: '45', priority: '' });
  await save(page);
  await waitRow(page, 'sla', 'UK office hours', { text: /Every tier, X \| 45 min/ });
  [p] = await get('/api/v1/sla-policies');
  assert.equal(p.first_response_secs, 2700);
  assert.equal(p.priority, null);
  assert.deepEqual(p.hours, [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:30' }]);
  assert.equal((await audited(scene, 'sla_policy.update', p.id)).length, 1);
});

test('SLA policies: a bad time zone, hours that end before they start, a bad holiday and a taken tier are each said next to their field', async () => {
  const page = pages.sam;
  await openNew(page, 'sla');
  await fill(page, { name: 'Bad one', network: 'x', timezone: 'Mars/Olympus' });
  assert.match(await saveExpectingError(page, 'timezone'), /is not an IANA time zone/);
  assert.equal(await page.inputValue('#admin-dialog [name="name"]'), 'Bad one');
  await fill(page, { timezone: 'UTC' });
  await addHours(page, 1, { days: [1], start: '19:00', end: '17:00' });
  assert.match(await saveExpectingError(page, 'hours'), /end before they start/);
  await page.fill(hoursRow(1, 'end'), '21:00');
  await fill(page, { holidays: '2026-13-01' });
  assert.match(await saveExpectingError(page, 'holidays'), /is not a date/);
  await fill(page, { holidays: '' });
  // Every tier on X is taken by the policy above.
  assert.match(await saveExpectingError(page, 'priority'), /exists already/);
  await cancel(page);
  assert.equal((await get('/api/v1/sla-policies')).length, 1);
});

test('listening rules: create and delete (the API has no edit); refusals next to the field', async () => {
  const page = pages.sam;
  await showScreen(page, 'listening');
  await openNew(page, 'listening');
  await fill(page, { name: 'Brand name' });
  assert.match(await saveExpectingError(page, 'keywords'), /keywords: 1 to 50/i);
  await fill(page, { keywords: 'SkyBridge, sky bridge air' });
  await save(page);
  await waitRow(page, 'listening', 'Brand name', { text: /SkyBridge, sky bridge air \| Active/ });
  const [r] = await get('/api/v1/listening-rules');
  assert.deepEqual(r.keywords, ['SkyBridge', 'sky bridge air']);
  assert.equal((await audited(scene, 'listening_rule.create', r.id))[0].actor, `agent:${scene.people.sam.id}`);
  // Listening rules cannot be changed through the API: the row offers no edit.
  assert.equal(await page.$(`${row('listening', 'Brand name')} button[data-action="edit"]`), null);
  await openNew(page, 'listening');
  await fill(page, { name: 'Brand name', keywords: 'sky' });
  assert.match(await saveExpectingError(page, 'name'), /exists/);
  await cancel(page);
  await rowAction(page, 'listening', 'Brand name', 'delete');
  await waitRow(page, 'listening', 'Brand name', { gone: true });
  assert.deepEqual(await get('/api/v1/listening-rules'), []);
  assert.equal((await audited(scene, 'listening_rule.delete', r.id)).length, 1);
});

test('brand accounts: a team lead names one and gives it a default team; a bad name is said next to it', async () => {
  const page = pages.sam;
  await showScreen(page, 'brands');
  assert.equal(await page.isHidden('#adm-brands-new'), true, 'accounts are registered by the networks, not made here');
  await openEdit(page, 'brands', 'SkyBridge Care');
  await fill(page, { name: '' });
  assert.match(await saveExpectingError(page, 'name'), /name/i);
  await fill(page, { name: 'SkyBridge Care (UK)', default_team_id: String(desk.id) });
  await save(page);
  await waitRow(page, 'brands', 'SkyBridge Care (UK)', { text: /Help desk/ });
  const [b] = await get('/api/v1/brand-accounts');
  assert.equal(b.name, 'SkyBridge Care (UK)');
  assert.equal(b.default_team_id, desk.id);
  assert.equal((await audited(scene, 'brand_account.update', b.id))[0].actor, `agent:${scene.people.sam.id}`);
});

test('refused without the permission: not offered, and the API’s 403 shown when forced', async () => {
  pages.pia = await openAdmin(scene, 'pia');
  const ids = await screenIds(pages.pia);
  for (const s of ['sla', 'listening', 'brands']) assert.equal(ids.includes(s), false, `${s} not offered to PR`);
  await pages.pia.context().close();

  const forced = await openAdmin(scene, 'pia', 'sla', { extraPermissions: ['sla_policies.manage', 'listening.manage', 'brand_accounts.manage'] });
  pages.forced = forced;
  await openEdit(forced, 'sla', 'UK office hours');
  await fill(forced, { first_response_mins: '5' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /^Not allowed: your roles do not grant sla_policies\.manage/);
  await cancel(forced);
  await showScreen(forced, 'listening');
  await openNew(forced, 'listening');
  await fill(forced, { name: 'Sneaky', keywords: 'x' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /listening\.manage/);
  await cancel(forced);
  await showScreen(forced, 'brands');
  await openEdit(forced, 'brands', 'SkyBridge Care (UK)');
  await fill(forced, { name: 'Renamed' });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /brand_accounts\.manage/);
  await cancel(forced);
  await forced.context().close();
  assert.equal((await get('/api/v1/sla-policies'))[0].first_response_secs, 2700);
  assert.deepEqual(await get('/api/v1/listening-rules'), []);
  assert.equal((await get('/api/v1/brand-accounts'))[0].name, 'SkyBridge Care (UK)');
});

test('live: a second admin sees SLA policies, listening rules and brand accounts change without a reload', async (t) => {
  const bea = pages.bea;
  if (!(await needsLiveSettings(t, bea))) return;
  await showScreen(bea, 'sla');
  await showScreen(pages.sam, 'sla');
  await openEdit(pages.sam, 'sla', 'UK office hours');
  await fill(pages.sam, { next_response_mins: '90' });
  await save(pages.sam);
  await waitRow(bea, 'sla', 'UK office hours', { text: /1 h 30 min/ });

  await showScreen(bea, 'listening');
  await showScreen(pages.sam, 'listening');
  await openNew(pages.sam, 'listening');
  await fill(pages.sam, { name: 'Competitor', keywords: 'CloudHop' });
  await save(pages.sam);
  await waitRow(bea, 'listening', 'Competitor');
  await rowAction(pages.sam, 'listening', 'Competitor', 'delete');
  await waitRow(bea, 'listening', 'Competitor', { gone: true });

  await showScreen(bea, 'brands');
  await showScreen(pages.sam, 'brands');
  await openEdit(pages.sam, 'brands', 'SkyBridge Care (UK)');
  await fill(pages.sam, { default_team_id: '' });
  await save(pages.sam);
  await waitRow(bea, 'brands', 'SkyBridge Care (UK)', { text: /General queue/ });
});
