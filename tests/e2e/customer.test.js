// The customer profile panel in a real browser against the real server: the customer's
// identities, the CRM context (from a local CRM stand-in), history and a merge suggestion (a DM carrying an email already known) shown in the
// conversation view; a customer note and a VIP tag; merging from the suggestion, seen live by a
// second agent viewing the other customer's conversation; and undoing the merge.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  api,
  consolePage,
  createAgent,
  eventually,
  ingest,
  launchBrowser,
  loginToken,
  screenshot,
  teardown,
} from './harness.js';

let srv;
let browser;
let admin;
const pages = {};

/** A CRM stand-in on a free port: every lookup answers the same account. */
function startCrm() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ account_number: 'AC-1001', plan: 'Gold' }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let crm;

before(async () => {
  crm = await startCrm();
  srv = new ChorusServer({
    env: {
      CHORUS_CRM__LOOKUP_URL: `http://127.0.0.1:${crm.address().port}/lookup`,
      CHORUS_CRM__SECRET: 'e2e-crm-secret',
      CHORUS_CRM__ALLOW_HTTP: 'true',
    },
  });
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  await createAgent(srv.base, admin, { email: 'ben@skybridge.example', name: 'Ben Cole' });
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example');
  pages.ben = await consolePage(browser, srv.base, 'ben@skybridge.example');
});

after(async () => {
  crm?.close();
  await teardown({ srv, browser, pages, name: 'customer' });
});

const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;
const text = (page, sel) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, sel);
const customerOf = async (id) => (await api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin })).customer.id;

test('the profile panel shows a suggested merge; merging is seen live by another agent, and undone', async () => {
  const { ana, ben } = pages;
  const { conversation_id: onX } = await ingest(srv.base, { customer: 'mara', name: 'Mara Lind', text: '@SkyBridgeCare my bag is lost, write to mara.lind@example.com' });
  const { conversation_id: onFb } = await ingest(srv.base, {
    customer: 'mara-fb', name: 'Mara L', network: 'facebook', visibility: 'private', text: 'Hi, Mara here (mara.lind@example.com), any news on the bag?',
  });
  const [mara, maraFb] = [await customerOf(onX), await customerOf(onFb)];
  assert.notEqual(mara, maraFb, 'never merged on its own');

  // Ana opens the X conversation: the panel shows the customer and the suggestion.
  await ana.waitForSelector(`${row(onX)} .qopen`);
  await ana.click(`${row(onX)} .qopen`);
  await ana.waitForSelector('#customer-suggestions li');
  assert.match(await text(ana, '#customer-suggestions'), new RegExp(`#${maraFb}.*email`));
  assert.match(await text(ana, '#customer-identities'), /x: @mara/);
  // The CRM's answer arrives in the view without a reload.
  await eventually(async () => (await text(ana, '#customer-crm'))?.includes('AC-1001'), { timeoutMs: 5000, what: 'the CRM context' });

  // Ben views the Facebook conversation meanwhile.
  await ben.waitForSelector(`${row(onFb)} .qopen`);
  await ben.click(`${row(onFb)} .qopen`);
  await ben.waitForSelector('#customer-identities li');
  assert.doesNotMatch(await text(ben, '#customer-identities'), /x: @mara/);

  // A note and a VIP tag on the customer.
  await ana.fill('#customer-note-text', 'Travels weekly; lost a bag before');
  await ana.click('#customer-note-add');
  await ana.waitForSelector('#customer-notes li');
  await ana.fill('#customer-tag-input', 'VIP');
  await ana.click('#customer-tag-add');
  await eventually(async () => (await text(ana, '#customer-tags'))?.includes('vip'), { what: 'the vip tag' });
  const vip = await api(srv.base, 'GET', '/api/v1/conversations?view=all&customer_tag=vip', { token: admin });
  assert.deepEqual(vip.items.map((c) => c.id), [onX]);

  // Merge from the suggestion: Ben's view of the Facebook conversation follows within a second.
  const started = Date.now();
  await ana.click('#customer-suggestions .suggestion-accept');
  await eventually(async () => (await text(ben, '#customer-identities'))?.includes('x: @mara'), { timeoutMs: 1500, what: 'the merge reaching Ben' });
  assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
  assert.match(await text(ben, '#conv-presence'), /Customer merged/);
  assert.equal(await customerOf(onFb), mara);
  await eventually(async () => (await text(ana, '#customer-history'))?.includes(`#${onFb}`), { what: 'the merged history' });
  await screenshot(ana, 'customer-merged');

  // Undo it: both conversations are their own customers' again.
  await ana.waitForSelector('#customer-merges .merge-undo');
  await ana.click('#customer-merges .merge-undo');
  await eventually(async () => !(await text(ben, '#customer-identities'))?.includes('x: @mara'), { what: 'the unmerge reaching Ben' });
  assert.equal(await customerOf(onFb), maraFb);
  assert.equal(await customerOf(onX), mara);
});
