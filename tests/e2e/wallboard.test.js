// The wallboard in a real browser: it shows the live figures and changes, without a reload,
// when a customer message arrives.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  PASSWORD,
  api,
  SHOTS,
  createAgent,
  ingest,
  launchBrowser,
  loginToken,
  screenshot,
  watchErrors,
} from './harness.js';

let srv;
let browser;
let admin;
let dana;
const pages = [];

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  await api(srv.base, 'POST', '/api/v1/teams', { token: admin, body: { name: 'Spanish desk', routes: ['language:es'], auto_assign: false } });
  await createAgent(srv.base, admin, { email: 'wall@skybridge.example', name: 'Floor display', roles: ['wallboard'] });
  await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  dana = await ingest(srv.base, { customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare my flight SB212 was cancelled, what are my options?' });
  await ingest(srv.base, { customer: 'lena', name: 'Lena Vogel', text: 'Lovely crew on SB118 this morning @SkyBridgeCare' });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, 'wallboard-server.log'), srv.log);
    srv.cleanup();
  }
  const errors = pages.flatMap((p) => p.errors);
  assert.deepEqual(errors, [], 'pages logged errors');
});

async function wallboardPage({ viewport = { width: 1920, height: 1080 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  watchErrors(page);
  pages.push(page);
  return page;
}

test('the wallboard shows the live figures and changes when a message arrives, without a reload', async () => {
  const page = await wallboardPage();
  await page.goto(`${srv.base}/wallboard`);
  // Signed in through its own form (a wall display has no console session).
  await page.fill('#wb-email', 'wall@skybridge.example');
  await page.fill('#wb-password', PASSWORD);
  await page.click('#wb-login-form button[type="submit"]');
  await page.waitForSelector('#wb-conn[data-state="live"]', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelector('#wb-depth').textContent === '2');
  assert.equal(await page.textContent('#wb-tier1'), '1');
  assert.equal(await page.textContent('#wb-tier2'), '1');
  await page.evaluate(() => (window.__noReload = true));

  const t0 = Date.now();
  await ingest(srv.base, { customer: 'omar', name: 'Omar Haddad', text: 'Still no refund after 3 weeks. Terrible.', visibility: 'private' });
  await page.waitForFunction(() => document.querySelector('#wb-depth').textContent === '3', null, { timeout: 5000 });
  const lag = Date.now() - t0;
  assert.equal(await page.textContent('#wb-tier1'), '2');
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  console.log(`wallboard updated ${lag} ms after the message was stored`);

  // An agent signing in shows on the floor figures too.
  const onlineBefore = Number(await page.textContent('#wb-online'));
  console.log(`agents online with only the wallboard connected: ${onlineBefore}`);
  const agentCtx = await browser.newContext();
  const agent = await agentCtx.newPage();
  watchErrors(agent);
  pages.push(agent);
  await agent.goto(`${srv.base}/`);
  await agent.fill('#login-email', 'ana@skybridge.example');
  await agent.fill('#login-password', PASSWORD);
  await agent.click('#login-form button[type="submit"]');
  await page.waitForFunction((n) => document.querySelector('#wb-online').textContent === String(n + 1), onlineBefore, { timeout: 5000 });

  // A first response today moves today's figures.
  assert.equal(await page.textContent('#wb-first-responses'), '0');
  const anaToken = await loginToken(srv.base, 'ana@skybridge.example', PASSWORD);
  const claim = await api(srv.base, 'POST', `/api/v1/conversations/${dana.conversation_id}/claim`, { token: anaToken });
  await api(srv.base, 'POST', `/api/v1/conversations/${dana.conversation_id}/replies`, {
    token: anaToken,
    body: { fence_token: claim.fence_token, text: 'So sorry Dana, we can rebook you on SB214 at 14:05. DM us?', visibility: 'public', idempotency_key: 'wb-1' },
  });
  await page.waitForFunction(() => document.querySelector('#wb-first-responses').textContent === '1', null, { timeout: 5000 });
  assert.notEqual(await page.textContent('#wb-frt'), '—');

  // A conversation routed to a team shows on that team's row.
  await ingest(srv.base, { customer: 'lucia', name: 'Lucía Gómez', text: 'Mi vuelo a Madrid fue cancelado y nadie me ayuda. ¿Qué opciones tengo para volver a casa?' });
  await page.waitForFunction(() => /Spanish desk/.test(document.querySelector('#wb-team-rows').textContent), null, { timeout: 5000 });

  await screenshot(page, 'wallboard', { copyTo: 'docs/screenshots/wallboard.png' });
});

test('the wallboard takes its token from the URL and keeps it out of the address bar', async () => {
  const token = await loginToken(srv.base, 'wall@skybridge.example', PASSWORD);
  const page = await wallboardPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(`${srv.base}/wallboard?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#wb-conn[data-state="live"]', { timeout: 15000 });
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('#wb-depth').textContent));
  assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
});
