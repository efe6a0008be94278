// Admin screens (issue 25) for crisis readiness: the rota of an active crisis (shifts added,
// changed and removed; refusals next to the shifts) and the watched terms of the early warning,
// which are data now (contract B: list, add, stop watching; the API has no edit). Each: refusal
// without the permission, and a second admin following live.

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
  row,
  rowAction,
  save,
  saveExpectingError,
  screenIds,
  showScreen,
  waitRow,
} from './admin-helpers.js';

let scene;
let pages = {};
let crisis;
let hasTerms = false;

before(async () => {
  scene = await adminScene();
  pages = scene.pages;
  crisis = await api(scene.srv.base, 'POST', '/api/v1/crises', {
    token: scene.admin,
    body: { name: 'Check-in app outage', severity: 'high', keywords: ['app down'], networks: [], holding_message: 'We know the app is down.', hold_replies: false, auto_ack: false },
  });
  hasTerms = await api(scene.srv.base, 'GET', '/api/v1/watched-terms', { token: scene.admin }).then(() => true, () => false);
  pages.pia = await openAdmin(scene, 'pia', 'rota');
  pages.bea = await openAdmin(scene, 'bea', 'rota');
});

after(() => teardown({ srv: scene?.srv, browser: scene?.browser, pages, name: 'admin-crisis', ignore: EXPECTED_ERRORS }));

const get = (path) => api(scene.srv.base, 'GET', path, { token: scene.admin });
const shift = (n, name) => `#admin-dialog [data-field="rota"] .adm-rows > li:nth-child(${n}) [name="${name}"]`;
const iso = (page, local) => page.evaluate((v) => new Date(v).toISOString().replace(/\.\d+Z$/, 'Z'), local);

async function addShift(page, n, { agent, duty, from = null, until = null }) {
  await page.click('#admin-dialog [data-field="rota"] .adm-row-add');
  await page.waitForSelector(shift(n, 'agent_id'));
  await page.selectOption(shift(n, 'agent_id'), String(agent));
  await page.fill(shift(n, 'duty'), duty);
  if (from) await page.fill(shift(n, 'starts_at'), from);
  if (until) await page.fill(shift(n, 'ends_at'), until);
}

test('crisis rota: PR puts people on duty for the active crisis, then changes the rota', async () => {
  const page = pages.pia;
  await waitRow(page, 'rota', 'Check-in app outage', { text: /nobody \| none yet/ });
  await openEdit(page, 'rota', 'Check-in app outage');
  // A new shift starts this hour and lasts 8 hours unless changed.
  await addShift(page, 1, { agent: scene.people.ana.id, duty: 'escalations' });
  await addShift(page, 2, { agent: scene.people.sam.id, duty: 'press', from: '2030-01-02T09:00', until: '2030-01-02T17:00' });
  await checkA11y(page, 'the rota form');
  await save(page);
  await waitRow(page, 'rota', 'Check-in app outage', { text: /Ana Ruiz \(escalations\)/ });
  let c = await get(`/api/v1/crises/${crisis.id}`);
  assert.equal(c.rota.length, 2);
  assert.deepEqual(c.on_duty.map((e) => e.agent_id), [scene.people.ana.id], 'on duty now: the shift that started this hour');
  const press = c.rota.find((e) => e.duty === 'press');
  assert.equal(press.agent_id, scene.people.sam.id);
  assert.equal(press.starts_at, await iso(page, '2030-01-02T09:00'));
  assert.equal(press.ends_at, await iso(page, '2030-01-02T17:00'));
  assert.equal((await audited(scene, 'crisis.update', crisis.id))[0].actor, `agent:${scene.people.pia.id}`);

  await openEdit(page, 'rota', 'Check-in app outage');
  assert.equal(await page.inputValue(shift(2, 'duty')), 'press', 'the rota as stored');
  await page.click('#admin-dialog [data-field="rota"] .adm-rows > li:nth-child(1) .adm-row-remove');
  await page.fill(shift(1, 'duty'), 'press and legal');
  await save(page);
  await waitRow(page, 'rota', 'Check-in app outage', { text: /nobody \| Sam Okafor · press and legal/ });
  c = await get(`/api/v1/crises/${crisis.id}`);
  assert.deepEqual(c.rota.map((e) => [e.agent_id, e.duty]), [[scene.people.sam.id, 'press and legal']]);
});

test('crisis rota: a shift that ends before it starts, or has no duty, is refused next to the shifts', async () => {
  const page = pages.pia;
  await openEdit(page, 'rota', 'Check-in app outage');
  await addShift(page, 2, { agent: scene.people.ana.id, duty: 'legal', from: '2030-01-03T17:00', until: '2030-01-03T09:00' });
  assert.match(await saveExpectingError(page, 'rota'), /a shift must end after it starts/i);
  assert.equal(await page.inputValue(shift(2, 'duty')), 'legal', 'what was typed stays');
  await page.fill(shift(2, 'ends_at'), '2030-01-03T20:00');
  await page.fill(shift(2, 'duty'), '');
  assert.match(await saveExpectingError(page, 'rota'), /duty must be 1 to 100 characters/i);
  await cancel(page);
  assert.equal((await get(`/api/v1/crises/${crisis.id}`)).rota.length, 1);
});

test('watched terms: PR adds one, a duplicate is refused next to the term, and stops watching it', async (t) => {
  if (!hasTerms) {
    t.skip('this server has no watched-terms API yet (issue 25, contract B)');
    return;
  }
  const page = pages.pia;
  await showScreen(page, 'watched-terms');
  await openNew(page, 'watched-terms');
  await fill(page, { term: '' });
  assert.match(await saveExpectingError(page, 'term'), /term must be 1 to 100 characters/i);
  await fill(page, { term: 'battery fire' });
  await checkA11y(page, 'the watched term form');
  await save(page);
  await waitRow(page, 'watched-terms', 'battery fire', { text: /Pia Lund/ });
  const term = (await get('/api/v1/watched-terms')).find((x) => x.term === 'battery fire');
  assert.equal(term.created_by, scene.people.pia.id);
  // Terms are added and removed, never edited (contract B).
  assert.equal(await page.$(`${row('watched-terms', 'battery fire')} button[data-action="edit"]`), null);
  await openNew(page, 'watched-terms');
  await fill(page, { term: 'Battery Fire' });
  assert.match(await saveExpectingError(page, 'term'), /already watched/);
  await cancel(page);
  await rowAction(page, 'watched-terms', 'battery fire', 'delete');
  await waitRow(page, 'watched-terms', 'battery fire', { gone: true });
  assert.equal((await get('/api/v1/watched-terms')).some((x) => x.term === 'battery fire'), false);
});

test('refused without the permission: not offered, and the API’s 403 shown when forced', async () => {
  // A team lead reads crises but does not run them.
  pages.sam = await openAdmin(scene, 'sam');
  const ids = await screenIds(pages.sam);
  assert.equal(ids.includes('rota'), false);
  assert.equal(ids.includes('watched-terms'), false);
  await pages.sam.context().close();

  const forced = await openAdmin(scene, 'sam', 'rota', { extraPermissions: ['crises.run'] });
  pages.forced = forced;
  await openEdit(forced, 'rota', 'Check-in app outage');
  await forced.click('#admin-dialog [data-field="rota"] .adm-rows > li:nth-child(1) .adm-row-remove');
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /^Not allowed: your roles do not grant crises\.run/);
  await cancel(forced);
  if (hasTerms) {
    await showScreen(forced, 'watched-terms');
    await openNew(forced, 'watched-terms');
    await fill(forced, { term: 'strike' });
    await forced.click('#admin-form-save');
    assert.match(await formError(forced), /crises\.run/);
    await cancel(forced);
  }
  await forced.context().close();
  assert.equal((await get(`/api/v1/crises/${crisis.id}`)).rota.length, 1);
  if (hasTerms) assert.equal((await get('/api/v1/watched-terms')).some((x) => x.term === 'strike'), false);
});

test('live: a second admin sees the rota and the watched terms change, and a stood-down crisis leave', async (t) => {
  const bea = pages.bea;
  if (!(await needsLiveSettings(t, bea))) return;
  const page = pages.pia;
  await showScreen(bea, 'rota');
  await showScreen(page, 'rota');
  await openEdit(page, 'rota', 'Check-in app outage');
  await page.fill(shift(1, 'duty'), 'press desk');
  await save(page);
  await waitRow(bea, 'rota', 'Check-in app outage', { text: /press desk/ });

  if (hasTerms) {
    await showScreen(bea, 'watched-terms');
    await showScreen(page, 'watched-terms');
    await openNew(page, 'watched-terms');
    await fill(page, { term: 'data leak' });
    await save(page);
    await waitRow(bea, 'watched-terms', 'data leak');
    await rowAction(page, 'watched-terms', 'data leak', 'delete');
    await waitRow(bea, 'watched-terms', 'data leak', { gone: true });
  }

  await showScreen(bea, 'rota');
  await api(scene.srv.base, 'POST', `/api/v1/crises/${crisis.id}/resolve`, { token: scene.admin });
  await waitRow(bea, 'rota', 'Check-in app outage', { gone: true });
  await bea.waitForSelector('#adm-panel-rota .empty:not([hidden])');
});
