// Admin screens (issue 25) for integrations: API keys (the key shown once, revoked from its row;
// the API has no edit) and outgoing webhook subscriptions (the signing secret shown once, edit,
// pause, the delivery log and retrying a failed delivery against a real receiver). Each: the
// server's refusal next to its field, refusal without the permission, a second admin live.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { api, createAgent, eventually, teardown } from './harness.js';
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
let receiver;
let answer = 500; // what the receiver says
const received = [];

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(answer, { 'Content-Type': 'text/plain' });
      res.end(answer === 200 ? 'ok' : 'receiver down');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  // Deliveries to a local http receiver, given up after one failed attempt.
  scene = await adminScene({ env: { CHORUS_WEBHOOKS__ALLOW_HTTP: 'true', CHORUS_WEBHOOKS__MAX_ATTEMPTS: '1', CHORUS_WEBHOOKS__SETTLE_MS: '200', CHORUS_WEBHOOKS__INTERVAL_MS: '200' } });
  pages = scene.pages;
  pages.admin = await openAdmin(scene, 'admin', 'api-keys');
  pages.bea = await openAdmin(scene, 'bea', 'api-keys');
});

after(async () => {
  receiver?.close();
  await teardown({ srv: scene?.srv, browser: scene?.browser, pages, name: 'admin-integrations', ignore: EXPECTED_ERRORS });
});

const get = (path) => api(scene.srv.base, 'GET', path, { token: scene.admin });
const hookUrl = () => `http://127.0.0.1:${receiver.address().port}/chorus`;

test('API keys: an admin makes one (the key shown once, and it works) and revokes it', async () => {
  const page = pages.admin;
  await openNew(page, 'api-keys');
  await fill(page, { name: 'BI export', scopes: ['directory.read', 'metrics.read'] });
  await checkA11y(page, 'the API key form');
  const key = await save(page, { secret: true });
  assert.match(key, /^chk_/);
  assert.match(await page.textContent('#admin-dialog'), /cannot show it again/);
  await checkA11y(page, 'the key shown once');
  await page.click('#admin-secret-done');
  await page.waitForSelector('#admin-dialog', { state: 'hidden' });
  await waitRow(page, 'api-keys', 'BI export', { text: /directory\.read, metrics\.read \| anywhere \| never \| never \| Active/ });
  const [k] = await get('/api/v1/api-keys');
  assert.ok(key.startsWith(k.prefix), 'the listed prefix is the key’s');
  assert.equal((await audited(scene, 'api_key.create', k.id))[0].actor, 'agent:1');
  // The key works for its scopes…
  assert.ok(Array.isArray(await api(scene.srv.base, 'GET', '/api/v1/agents', { token: key })));
  // …until revoked from its row (keys have no other edit in the API).
  assert.equal(await page.$(`#adm-api-keys-rows tr[data-name="BI export"] button[data-action="edit"]`), null);
  await rowAction(page, 'api-keys', 'BI export', 'revoke');
  await waitRow(page, 'api-keys', 'BI export', { text: /Revoked/ });
  await assert.rejects(api(scene.srv.base, 'GET', '/api/v1/agents', { token: key }), (e) => e.status === 401);
  assert.equal((await audited(scene, 'api_key.revoke', k.id)).length, 1);
});

test('API keys: no scope, a bad address and a past expiry are each said next to their field', async () => {
  const page = pages.admin;
  await openNew(page, 'api-keys');
  await fill(page, { name: 'CRM' });
  assert.match(await saveExpectingError(page, 'scopes'), /at least one scope/);
  await fill(page, { scopes: ['conversations.read'], ip_allowlist: '203.0.113.0/24, not-an-address' });
  assert.match(await saveExpectingError(page, 'ip_allowlist'), /"not-an-address" is not an address or a CIDR network/);
  assert.equal(await page.inputValue('#admin-dialog [name="name"]'), 'CRM', 'what was typed stays');
  await fill(page, { ip_allowlist: '203.0.113.0/24', expires_at: '2020-01-01T10:00' });
  assert.match(await saveExpectingError(page, 'expires_at'), /expires_at is in the past/i);
  await fill(page, { expires_at: '2099-01-01T10:00' });
  await save(page, { secret: true });
  await page.click('#admin-secret-done');
  await waitRow(page, 'api-keys', 'CRM', { text: /203\.0\.113\.0\/24/ });
  const k = (await get('/api/v1/api-keys')).find((x) => x.name === 'CRM');
  assert.deepEqual(k.ip_allowlist, ['203.0.113.0/24']);
  assert.equal(new Date(k.expires_at).getFullYear(), 2099);
});

test('webhooks: an admin subscribes (the secret shown once), edits and pauses it; refusals next to the field', async () => {
  const page = pages.admin;
  await showScreen(page, 'webhooks');
  await openNew(page, 'webhooks');
  await fill(page, { name: 'CRM', url: 'ftp://crm.example/hook' });
  assert.match(await saveExpectingError(page, 'url'), /url must start with https:\/\/ or http:\/\//i);
  await fill(page, { url: hookUrl() });
  assert.match(await saveExpectingError(page, 'event_types'), /event_types must name/);
  // "All events" stands for every other kind.
  await fill(page, { event_types: ['*'] });
  assert.equal(await page.isDisabled('#admin-dialog [name="event_types"][value="agent.created"]'), true);
  await fill(page, { event_types: [] });
  await fill(page, { event_types: ['agent.created'] });
  await checkA11y(page, 'the webhook form');
  const secret = await save(page, { secret: true });
  assert.match(secret, /^whsec_/);
  await page.click('#admin-secret-done');
  await waitRow(page, 'webhooks', 'CRM', { text: /agent\.created \| Active/ });
  let [s] = await get('/api/v1/webhook-subscriptions');
  assert.equal(s.url, hookUrl());
  assert.deepEqual(s.event_types, ['agent.created']);
  assert.equal((await audited(scene, 'webhook_subscription.create', s.id))[0].actor, 'agent:1');

  await openEdit(page, 'webhooks', 'CRM');
  await fill(page, { name: 'CRM sync', event_types: ['agent.created', 'agent.updated'], active: false });
  await save(page);
  await waitRow(page, 'webhooks', 'CRM sync', { text: /agent\.created, agent\.updated \| Paused/ });
  [s] = await get('/api/v1/webhook-subscriptions');
  assert.equal(s.active, false);
  assert.deepEqual(s.event_types, ['agent.created', 'agent.updated']);
  await rowAction(page, 'webhooks', 'CRM sync', 'pause', { confirm: false });
  await waitRow(page, 'webhooks', 'CRM sync', { text: /\| Active/ });
  assert.equal((await get('/api/v1/webhook-subscriptions'))[0].active, true);
});

test('webhooks: the delivery log shows a failed delivery, and Retry sends it again', async () => {
  const page = pages.admin;
  const [s] = await get('/api/v1/webhook-subscriptions');
  answer = 500;
  await createAgent(scene.srv.base, scene.admin, { email: 'hook@skybridge.example', name: 'Hook Test' });
  await eventually(async () => (await get(`/api/v1/webhook-subscriptions/${s.id}/deliveries`)).deliveries.some((d) => d.status === 'failed'), { timeoutMs: 20000, what: 'a failed delivery' });
  await rowAction(page, 'webhooks', 'CRM sync', 'deliveries', { confirm: false });
  await page.waitForSelector('#admin-deliveries-rows tr[data-status="failed"]');
  assert.match(await page.textContent('#admin-deliveries-rows tr[data-status="failed"]'), /agent\.created.*failed.*HTTP 500/s);
  await checkA11y(page, 'the delivery log');
  answer = 200;
  await page.click('#admin-deliveries-rows tr[data-status="failed"] button');
  await page.waitForFunction(() => /will be sent again now/.test(document.querySelector('#admin-deliveries-msg')?.textContent || ''));
  await eventually(async () => (await get(`/api/v1/webhook-subscriptions/${s.id}/deliveries`)).deliveries[0].status === 'delivered', { timeoutMs: 20000, what: 'the retried delivery delivered' });
  await page.selectOption('#admin-deliveries-status', 'delivered');
  await page.waitForSelector('#admin-deliveries-rows tr[data-status="delivered"]');
  assert.ok(received.some((r) => /"event":"agent.created"/.test(r.body) && /^t=\d+,v1=[0-9a-f]{64}$/.test(r.headers['x-chorus-signature'])));
  assert.equal((await audited(scene, 'webhook_delivery.retry')).length, 1);
  await page.click('#admin-deliveries-close');
  await page.waitForSelector('#admin-dialog', { state: 'hidden' });
});

test('refused without the permission: not offered, and the API’s 403 shown when forced', async () => {
  pages.sam = await openAdmin(scene, 'sam');
  const ids = await screenIds(pages.sam);
  assert.equal(ids.includes('api-keys'), false);
  assert.equal(ids.includes('webhooks'), false);
  await pages.sam.context().close();

  const forced = await openAdmin(scene, 'sam', 'api-keys', { extraPermissions: ['api_keys.manage', 'webhooks.manage'] });
  pages.forced = forced;
  // Even the list is the admin's: the screen says the server refused it.
  assert.match(await forced.textContent('#adm-api-keys-msg'), /Could not read the API keys: Not allowed: your roles do not grant api_keys\.manage/);
  assert.equal(await forced.isHidden('#adm-panel-api-keys table'), true);
  await openNew(forced, 'api-keys');
  await fill(forced, { name: 'Mine now', scopes: ['audit.read'] });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /^Not allowed: your roles do not grant api_keys\.manage/);
  await cancel(forced);
  await showScreen(forced, 'webhooks');
  assert.match(await forced.textContent('#adm-webhooks-msg'), /webhooks\.manage/);
  await openNew(forced, 'webhooks');
  await fill(forced, { name: 'Exfiltrate', url: 'https://evil.example/x', event_types: ['*'] });
  await forced.click('#admin-form-save');
  assert.match(await formError(forced), /webhooks\.manage/);
  await cancel(forced);
  await forced.context().close();
  assert.equal((await get('/api/v1/api-keys')).some((k) => k.name === 'Mine now'), false);
  assert.equal((await get('/api/v1/webhook-subscriptions')).length, 1);
});

test('live: a second admin sees keys and subscriptions change without a reload', async (t) => {
  const bea = pages.bea;
  if (!(await needsLiveSettings(t, bea))) return;
  await showScreen(bea, 'api-keys');
  await showScreen(pages.admin, 'api-keys');
  await openNew(pages.admin, 'api-keys');
  await fill(pages.admin, { name: 'Importer', scopes: ['ingest.write'] });
  await save(pages.admin, { secret: true });
  await pages.admin.click('#admin-secret-done');
  await waitRow(bea, 'api-keys', 'Importer', { text: /Active/ });
  // The key itself never reaches the other admin's screen.
  assert.doesNotMatch(await rowText(bea, 'api-keys', 'Importer'), /chk_[A-Za-z0-9_-]{20}/);
  await rowAction(pages.admin, 'api-keys', 'Importer', 'revoke');
  await waitRow(bea, 'api-keys', 'Importer', { text: /Revoked/ });

  await showScreen(bea, 'webhooks');
  await showScreen(pages.admin, 'webhooks');
  await rowAction(pages.admin, 'webhooks', 'CRM sync', 'pause', { confirm: false });
  await waitRow(bea, 'webhooks', 'CRM sync', { text: /Paused/ });
  await rowAction(pages.admin, 'webhooks', 'CRM sync', 'delete');
  await waitRow(bea, 'webhooks', 'CRM sync', { gone: true });
});
