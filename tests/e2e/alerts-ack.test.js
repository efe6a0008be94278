// Alerts people can act on (issue 25, part 4): a post by a high-influence customer and a
// customer's mood turning raise alerts that every supervisor (and PR, on the crisis console)
// sees at once; one supervisor acknowledges, another assigns — and everyone sees who did it,
// live, without reloading.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  api,
  consolePage,
  createAgent,
  launchBrowser,
  loginToken,
  screenshot,
  teardown,
} from './harness.js';
import { axeBothThemes } from './floor-helpers.js';
import { axeViolations, ingestMany, message } from './workspace-helpers.js';

let srv;
let browser;
let admin;
const people = {};
const pages = {};
let influencer; // the conversation of the influential customer

before(async () => {
  // Look for swings and influential customers twice a second (the default is every 10 s).
  srv = new ChorusServer({ env: { CHORUS_ALERTS__SCAN_INTERVAL_MS: '500' } });
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.sue = await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor'] });
  people.max = await createAgent(srv.base, admin, { email: 'max@skybridge.example', name: 'Max Weber', roles: ['supervisor'] });
  people.pat = await createAgent(srv.base, admin, { email: 'pat@skybridge.example', name: 'Pat Okafor', roles: ['approver'] });
  pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#supervisor', contextOptions: { bypassCSP: true } });
  pages.max = await consolePage(browser, srv.base, 'max@skybridge.example', undefined, { hash: '#supervisor' });
  pages.pat = await consolePage(browser, srv.base, 'pat@skybridge.example', undefined, { hash: '#crisis' });
});

after(() => teardown({ srv, browser, pages, name: 'alerts-ack' }));

const item = (page, id) => page.locator(`#sup-alerts li[data-alert-id="${id}"]`);

test('a post by a high-influence customer reaches every supervisor; one acknowledges, the other sees who', { timeout: 60000 }, async () => {
  const { sue, max, pat } = pages;
  const big = message({ customer: 'nina', name: 'Nina Vox', text: '@SkyBridgeCare three hours on the tarmac at LHR and not a word from the crew. Never again.' });
  big.customer.followers = 250000;
  [influencer] = await ingestMany(srv.base, [big]);

  // Raised once, seen by both supervisors and by PR on the crisis console, without reloading.
  const li = sue.locator('#sup-alerts li[data-state="open"]').first();
  await li.waitFor({ timeout: 10000 });
  const id = Number(await li.getAttribute('data-alert-id'));
  const [alert] = (await api(srv.base, 'GET', '/api/v1/alerts', { token: admin })).filter((a) => a.id === id);
  assert.equal(alert.kind, 'influencer_post');
  assert.equal(alert.conversation_id, influencer.conversation_id);
  assert.match(await li.innerText(), /High-influence customer/);
  assert.match(await li.innerText(), /Nina Vox/);
  assert.match(await li.innerText(), /Not acknowledged yet/);
  await item(max, id).waitFor({ timeout: 5000 });
  await pat.locator(`#crisis-alerts li[data-alert-id="${id}"]`).waitFor({ timeout: 5000 });
  assert.match(await sue.textContent('#sup-alerts .count'), /1 open/);

  // Sue acknowledges; Max's and Pat's screens say it was Sue, and offer no second acknowledgement.
  await li.locator('button.alert-ack').click();
  await sue.waitForFunction((i) => document.querySelector(`#sup-alerts li[data-alert-id="${i}"]`)?.dataset.state === 'acknowledged', id);
  assert.match(await item(sue, id).locator('.alert-who').textContent(), /^Acknowledged by you /);
  await max.waitForFunction((i) => /Acknowledged by Sue Park/.test(document.querySelector(`#sup-alerts li[data-alert-id="${i}"] .alert-who`)?.textContent), id, { timeout: 5000 });
  assert.equal(await item(max, id).locator('button.alert-ack').isVisible(), false);
  await pat.waitForFunction((i) => /Acknowledged by Sue Park/.test(document.querySelector(`#crisis-alerts li[data-alert-id="${i}"] .alert-who`)?.textContent), id, { timeout: 5000 });
  assert.match(await max.textContent('#sup-alerts .count'), /0 open, 1 acknowledged/);

  // Acknowledging twice is refused by the server, and the console says by whom.
  const again = await fetch(`${srv.base}/api/v1/alerts/${id}/acknowledge`, { method: 'POST', headers: { Authorization: `Bearer ${await loginToken(srv.base, 'max@skybridge.example', 'agent-password-e2e')}` } });
  assert.equal(again.status, 409);

  // Max assigns it to Pat, from the keyboard: Sue sees who has it and who gave it; Pat is told.
  await item(max, id).locator('button.alert-assign-toggle').focus();
  await max.keyboard.press('Enter');
  await max.waitForFunction(() => document.activeElement?.classList.contains('alert-agent'));
  await max.selectOption(`#sup-alert-${id}-agent`, String(people.pat.id));
  await max.keyboard.press('Tab');
  assert.equal(await max.evaluate(() => document.activeElement?.textContent), 'Assign');
  await max.keyboard.press('Enter');
  await max.waitForFunction((i) => /assigned to Pat Okafor by you/.test(document.querySelector(`#sup-alerts li[data-alert-id="${i}"] .alert-who`).textContent), id);
  // The live alert.updated can draw the new assignee before the POST's own answer returns the
  // keyboard to the toggle, so wait for the focus rather than read it at once.
  await max.waitForFunction(() => document.activeElement?.classList.contains('alert-assign-toggle'), null, { timeout: 5000 }).catch(() => {});
  assert.equal(await max.evaluate(() => document.activeElement?.classList.contains('alert-assign-toggle')), true, 'the keyboard is back on the button');
  await sue.waitForFunction((i) => /assigned to Pat Okafor by Max Weber/.test(document.querySelector(`#sup-alerts li[data-alert-id="${i}"] .alert-who`).textContent), id, { timeout: 5000 });
  await pat.waitForFunction(() => /Max Weber assigned you an alert/.test(document.querySelector('#toasts').textContent), null, { timeout: 5000 });
  await pat.waitForFunction((i) => /assigned to you by Max Weber/.test(document.querySelector(`#crisis-alerts li[data-alert-id="${i}"] .alert-who`).textContent), id);
  const stored = (await api(srv.base, 'GET', '/api/v1/alerts?status=all', { token: admin })).find((a) => a.id === id);
  assert.deepEqual([stored.acknowledged_by, stored.assignee_id, stored.assigned_by], [people.sue.id, people.pat.id, people.max.id]);

  // Still so after a reload (read from the server, not remembered by the page).
  await max.reload();
  await max.waitForSelector('#conn[data-state="live"]');
  await max.waitForFunction((i) => /Acknowledged by Sue Park .*assigned to Pat Okafor by you/.test(document.querySelector(`#sup-alerts li[data-alert-id="${i}"] .alert-who`)?.textContent), id, { timeout: 5000 });

  // (with the assign form open on one alert)
  await item(sue, id).locator('button.alert-assign-toggle').click();
  assert.deepEqual(await axeBothThemes(sue, axeViolations), [], 'the floor with its alerts has no serious or critical axe violation');
  await sue.keyboard.press('Escape');
  assert.equal(await item(sue, id).locator('form.alert-assign-form').isVisible(), false, 'Esc closes the assign form');
  assert.equal(await sue.evaluate(() => document.activeElement?.classList.contains('alert-assign-toggle')), true);
  await screenshot(sue, 'alerts-acknowledged');
});

test('a customer whose mood turns raises a sentiment swing; the kind filter narrows the list; an alert opens its conversation', { timeout: 60000 }, async () => {
  const { sue } = pages;
  const [first] = await ingestMany(srv.base, [message({ customer: 'otto', name: 'Otto Lind', text: 'Thank you so much, the crew were wonderful and the flight was lovely!' })]);
  await ingestMany(srv.base, [message({ customer: 'otto', name: 'Otto Lind', text: 'Now my bag is lost. This is terrible, awful, the worst service ever. I am furious.' })]);
  const swing = sue.locator('#sup-alerts li[data-kind="sentiment_swing"]');
  await swing.waitFor({ timeout: 10000 });
  assert.match(await swing.innerText(), /Sentiment swing/);
  assert.match(await swing.innerText(), /Otto Lind/);
  const id = Number(await swing.getAttribute('data-alert-id'));
  assert.equal((await api(srv.base, 'GET', '/api/v1/alerts', { token: admin })).find((a) => a.id === id).conversation_id, first.conversation_id);

  await sue.selectOption('#sup-alerts-kind', 'sentiment_swing');
  await sue.waitForFunction(() => [...document.querySelectorAll('#sup-alerts li[data-alert-id]')].every((li) => li.dataset.kind === 'sentiment_swing'));
  assert.equal(await sue.locator('#sup-alerts li[data-kind="influencer_post"]').count(), 0);
  await sue.selectOption('#sup-alerts-kind', '');
  await sue.locator('#sup-alerts li[data-kind="influencer_post"]').waitFor();

  // Open the conversation the alert is about.
  await swing.locator('button.alert-open').click();
  await sue.waitForFunction(() => document.querySelector('#conv-title')?.textContent === 'Otto Lind', null, { timeout: 5000 });
  assert.equal(new URL(sue.url()).hash, '#agent');
});
