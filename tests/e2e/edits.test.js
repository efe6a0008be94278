// A customer edits and then withdraws a message on the network: the open conversation shows
// the words as they now read, marks the message edited with the earlier text on request, and
// once it is deleted shows that it was, without its words. Deliveries are posted to the Meta
// webhook signed as Meta signs them.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ChorusServer, api, consolePage, createAgent, eventually, launchBrowser, loginToken, screenshot, teardown } from './harness.js';

const SECRET = 'meta-secret-e2e';
const PAGE = '104738221653190';
const PSID = '6215843092176534';
const MID = 'm_e2e_edit_1';

let srv;
let browser;
let admin;
const pages = {};

before(async () => {
  srv = new ChorusServer({ env: { CHORUS_META_APP_SECRET: SECRET } });
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  await createAgent(srv.base, admin, { email: 'eve@skybridge.example', name: 'Eve Park' });
  pages.eve = await consolePage(browser, srv.base, 'eve@skybridge.example');
});

after(() => teardown({ srv, browser, pages, name: 'edits' }));

/** Posts one Messenger event, signed; returns the HTTP status. */
async function deliver(event) {
  const now = Date.now();
  const body = JSON.stringify({ object: 'page', entry: [{ id: PAGE, time: now, messaging: [{ sender: { id: PSID }, recipient: { id: PAGE }, timestamp: now, ...event }] }] });
  const sig = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  const r = await fetch(`${srv.base}/webhooks/meta`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig }, body });
  return r.status;
}

test('an edited message reads as edited, with the earlier words on request; a deleted one shows it was, without its words', async () => {
  const { eve } = pages;
  assert.equal(await deliver({ message: { mid: MID, text: 'My booking ref is SB-7731, card ending 4242' } }), 200);
  const convId = await eventually(async () => {
    const list = await api(srv.base, 'GET', '/api/v1/conversations?view=all', { token: admin });
    return list.items?.[0]?.id;
  }, { what: 'the conversation' });
  await eve.click(`#queue-list li[data-conversation-id="${convId}"] .qopen`);
  const msg = 'li.msg.inbound';
  await eve.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('card ending 4242'), msg);

  // The customer edits the message on Messenger.
  assert.equal(await deliver({ message_edit: { mid: MID, text: 'My booking ref is SB-7731', num_edit: 1 } }), 200);
  await eve.waitForFunction((sel) => {
    const li = document.querySelector(sel);
    return li && li.querySelector('.text')?.textContent === 'My booking ref is SB-7731' && li.querySelector('button.edited');
  }, msg);
  await eve.click(`${msg} button.edited`);
  await eve.waitForFunction((sel) => document.querySelector(`${sel} .revisions:not([hidden])`)?.textContent.includes('card ending 4242'), msg);
  assert.equal(await eve.getAttribute(`${msg} button.edited`, 'aria-expanded'), 'true');
  await screenshot(eve, 'edits-edited');

  // Then withdraws it.
  assert.equal(await deliver({ message: { mid: MID, is_deleted: true } }), 200);
  await eve.waitForFunction((sel) => document.querySelector(`${sel} .text.deleted`), msg);
  const shown = await eve.textContent(msg);
  assert.match(shown, /Deleted by the customer/);
  assert.ok(!shown.includes('SB-7731'), `the withdrawn words are gone from the thread: ${shown}`);
  const revisions = await api(srv.base, 'GET', `/api/v1/conversations/${convId}/messages/${(await api(srv.base, 'GET', `/api/v1/conversations/${convId}`, { token: admin })).messages[0].id}/revisions`, { token: admin });
  assert.deepEqual(revisions, [], 'and from the audit copies');
  await screenshot(eve, 'edits-deleted');
});
