// axe-core on every view of the console, in the light and the dark theme: sign-in, the queue with
// an open conversation (and its filters, macro picker and side panel), the supervisor,
// approvals, escalations, crisis, archive and audit views, the settings, shortcuts and saved views
// dialogs, a phone-sized queue and conversation, and the wallboard. No serious or critical
// violation anywhere.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  PASSWORD,
  api,
  consolePage,
  createAgent,
  launchBrowser,
  loginToken,
  teardown,
  watchErrors,
} from './harness.js';
import { axeViolations, ingestMany, message } from './workspace-helpers.js';

let srv;
let browser;
let admin;
let wallToken;
const pages = {};
const convs = {};

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  await createAgent(srv.base, admin, { email: 'wall@skybridge.example', name: 'Floor display', roles: ['wallboard'] });
  wallToken = await loginToken(srv.base, 'wall@skybridge.example', PASSWORD);
  await api(srv.base, 'POST', '/api/v1/approval-rules', { token: admin, body: { kind: 'topic', group: 'pr', keywords: ['compensation'], note: 'money talk goes past PR' } });
  await api(srv.base, 'POST', '/api/v1/example-responses', {
    token: admin,
    body: { topic: 'refund', title: 'Refund on its way', body: 'Hi {{customer.first_name}}, your refund for {{order_ref}} is on its way.', tone_notes: 'Warm', actions: { add_tags: ['refund'], set_status: 'pending', escalate_to: null } },
  });
  const seeded = await ingestMany(srv.base, [
    message({ customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare my flight SB212 was cancelled and nobody at the gate knows anything. What are my options?' }),
    message({ customer: 'omar', name: 'Omar Haddad', text: 'Still no refund for order AB-1234 after 3 weeks. This is terrible service.', network: 'facebook', visibility: 'private' }),
    message({ customer: 'lena', name: 'Lena Vogel', text: 'Lovely crew on SB118 this morning, thank you', network: 'instagram' }),
    message({ customer: 'ivy', name: 'Ivy Moreau', text: '@SkyBridgeCare 9 hours late into Paris, I expect compensation.' }),
  ]);
  ['dana', 'omar', 'lena', 'ivy'].forEach((c, i) => (convs[c] = seeded[i].conversation_id));
  // Something in every view: a held reply, an escalation, a crisis, a note.
  const ana = await loginToken(srv.base, 'ana@skybridge.example', PASSWORD);
  const claim = await api(srv.base, 'POST', `/api/v1/conversations/${convs.ivy}/claim`, { token: ana });
  await api(srv.base, 'POST', `/api/v1/conversations/${convs.ivy}/replies`, { token: ana, body: { fence_token: claim.fence_token, text: 'You are due compensation, DM us.', visibility: 'public', idempotency_key: 'a11y-1' } });
  const c2 = await api(srv.base, 'POST', `/api/v1/conversations/${convs.lena}/claim`, { token: ana });
  await api(srv.base, 'POST', `/api/v1/conversations/${convs.lena}/escalate`, { token: ana, body: { fence_token: c2.fence_token, group: 'team_lead', reason: 'Wants to praise the crew publicly: ok to retweet?' } });
  await api(srv.base, 'POST', `/api/v1/conversations/${convs.dana}/notes`, { token: ana, body: { text: 'Rebooked on SB214 tomorrow' } });
  await api(srv.base, 'POST', '/api/v1/crises', {
    token: admin,
    body: { name: 'Check-in app outage', severity: 'high', keywords: ['app down'], networks: [], holding_message: 'We know the app is down and are fixing it.', hold_replies: false, auto_ack: false },
  });
});

after(() => teardown({ srv, browser, pages, name: 'workspace-a11y' }));

const found = []; // every serious or critical violation, by where it was seen

async function check(page, where) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  for (const v of await axeViolations(page)) found.push({ where, ...v });
}

async function showView(page, id, ready) {
  await page.evaluate((h) => (location.hash = h), `#${id}`);
  await page.waitForSelector(`#view-${id}`, { state: 'visible' });
  if (ready) await page.waitForSelector(ready);
}

for (const theme of ['light', 'dark']) {
  test(`every view in the ${theme} theme has no serious or critical axe violation`, { timeout: 300000 }, async () => {
    const settings = await api(srv.base, 'GET', '/api/v1/me/settings', { token: admin });
    await api(srv.base, 'PUT', '/api/v1/me/settings', { token: admin, body: { ...settings, theme } });

    // Sign-in (before anyone is signed in, the look of the last session here).
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, bypassCSP: true, colorScheme: theme });
    const login = await context.newPage();
    watchErrors(login);
    await login.goto(srv.base);
    await login.waitForSelector('#login-form');
    await check(login, `${theme}: sign-in`);
    await context.close();

    const page = (pages[`admin-${theme}`] = await consolePage(browser, srv.base, ADMIN_EMAIL, ADMIN_PASSWORD, { contextOptions: { bypassCSP: true } }));
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
    await page.waitForSelector(`#queue-list li[data-conversation-id="${convs.omar}"]`);
    await check(page, `${theme}: queue`);
    await page.click(`#queue-list li[data-conversation-id="${convs.dana}"] .qopen`);
    await page.waitForSelector('#thread li');
    await page.click('#filters-toggle');
    await check(page, `${theme}: queue with filters and an open conversation`);
    // (held since the first theme's run)
    if (await page.isVisible('#conv-claim')) await page.click('#conv-claim');
    await page.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
    await page.focus('#reply-text');
    await page.keyboard.type('/');
    await page.waitForSelector('#macro-list [role="option"]');
    await check(page, `${theme}: the macro picker`);
    await page.keyboard.press('Escape');
    await page.click('label[for="mode-note"]');
    await check(page, `${theme}: the composer writing a note`);

    await page.keyboard.press('Escape');
    await page.keyboard.press('?');
    await page.waitForSelector('#shortcuts-dialog[open]');
    await check(page, `${theme}: shortcuts dialog`);
    await page.keyboard.press('Escape');
    await page.keyboard.press(',');
    await page.waitForSelector('#settings-dialog[open]');
    await check(page, `${theme}: settings dialog`);
    await page.keyboard.press('Escape');
    await page.click('#views-manage');
    await page.waitForSelector('#views-dialog[open]');
    await check(page, `${theme}: saved views dialog`);
    await page.keyboard.press('Escape');

    await showView(page, 'supervisor', '#agents-rows tr');
    await check(page, `${theme}: supervisor`);
    await showView(page, 'approvals', '#approvals-list li');
    await check(page, `${theme}: approvals`);
    await showView(page, 'escalations', '#escalations-list li');
    await check(page, `${theme}: escalations`);
    await showView(page, 'crisis', '#crisis-active section');
    await check(page, `${theme}: crisis`);
    await showView(page, 'archive');
    await page.fill('#archive-q', 'refund');
    await page.click('#archive-form button[type="submit"]');
    await page.waitForSelector('#archive-hits li');
    await check(page, `${theme}: archive`);
    await showView(page, 'audit', '#audit-rows tr');
    await check(page, `${theme}: audit`);

    // A phone: the queue, then a conversation.
    await page.evaluate(() => (location.hash = '#agent'));
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('#conv-back');
    await check(page, `${theme}: phone queue`);
    await page.click(`#queue-list li[data-conversation-id="${convs.omar}"] .qopen`);
    await page.waitForSelector(`article.conv[data-conversation-id="${convs.omar}"]`);
    await check(page, `${theme}: phone conversation`);

    // The wallboard (a dark display of its own, whatever the console's theme).
    const wallContext = await browser.newContext({ viewport: { width: 1920, height: 1080 }, bypassCSP: true, colorScheme: theme });
    const wall = (pages[`wall-${theme}`] = await wallContext.newPage());
    watchErrors(wall);
    await wall.goto(`${srv.base}/wallboard?token=${encodeURIComponent(wallToken)}`);
    await wall.waitForSelector('#wb-conn[data-state="live"]');
    await check(wall, `${theme}: wallboard`);
    await wallContext.close();

    const here = found.filter((f) => f.where.startsWith(`${theme}:`));
    assert.deepEqual(here, [], JSON.stringify(here, null, 2));
  });
}
