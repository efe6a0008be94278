// States an agent can trust: an empty queue says so; while the server is away the queue is marked
// out of date and every action that needs it is disabled, saying why; refusals are in words with
// colleagues' names; the thread says "5 min ago" with the date on hover and links to the post on
// the network; the dark theme (chosen, or the system's); and the layout on a laptop, a tablet and
// a phone, where the conversation takes the screen instead of sitting under the queue.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  INGEST_KEY,
  PASSWORD,
  api,
  consolePage,
  createAgent,
  eventually,
  launchBrowser,
  loginToken,
  screenshot,
  teardown,
} from './harness.js';
import { ingestMany, message } from './workspace-helpers.js';

let srv;
let browser;
let admin;
const people = {};
const tokens = {};
const pages = {};
const convs = {};

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz', capacity: 10 });
  people.bob = await createAgent(srv.base, admin, { email: 'bob@skybridge.example', name: 'Bob Chen' });
  for (const who of ['ana', 'bob']) tokens[who] = await loginToken(srv.base, people[who].email, PASSWORD);
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example');
});

// The restart provokes failed loads and WebSocket errors on purpose.
after(() => teardown({ srv, browser, pages, name: 'workspace-states', ignore: /Failed to load resource|WebSocket connection/ }));

const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;
const detail = (id) => api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin });

test('an empty queue says so, and so does an empty conversation pane', async () => {
  const { ana } = pages;
  await ana.waitForSelector('#queue-empty:not([hidden])');
  assert.match(await ana.textContent('#queue-empty'), /Nothing waiting/);
  assert.equal(await ana.isHidden('#queue-loading'), true, 'loaded');
  assert.match(await ana.textContent('#conv-pane'), /Open a conversation from the queue, or press “Take next” \(n\)/);
  await ana.keyboard.press('n');
  await ana.waitForFunction(() => /Nothing waiting for you right now/.test(document.querySelector('#queue-msg').textContent));
});

test('the thread: relative times with the date on hover, and a link to the original post on the network', async () => {
  const { ana } = pages;
  const sentAt = new Date(Date.now() - 5 * 60 * 1000 - 10000);
  const statusId = `1860${Date.now()}`.slice(0, 19);
  const res = await api(srv.base, 'POST', '/api/v1/ingest/messages', {
    apiKey: INGEST_KEY,
    body: [{ ...message({ customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare my flight SB212 was cancelled, what are my options?', sentAt }), platform_message_id: statusId }],
  });
  convs.dana = res.results[0].conversation_id;
  await ana.click(`${row(convs.dana)} .qopen`);
  const msg = ana.locator('#thread li.msg.inbound').first();
  await msg.waitFor();
  const time = msg.locator('time.rel');
  assert.equal(await time.textContent(), '5 min ago');
  const title = await time.getAttribute('title');
  assert.ok(title && title.includes(String(sentAt.getFullYear())), `the date on hover: ${title}`);
  assert.equal(await time.getAttribute('datetime'), sentAt.toISOString().replace(/\.\d+Z$/, 'Z'));
  const d = await detail(convs.dana);
  assert.equal(d.messages[0].permalink, `https://x.com/i/web/status/${statusId}`);
  const link = msg.locator('a.permalink');
  assert.equal(await link.getAttribute('href'), d.messages[0].permalink);
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.match(await link.innerText(), /^Open on X/);

  // A message arriving while the conversation is open gets its link too.
  const nextId = `${BigInt(statusId) + 1n}`;
  await api(srv.base, 'POST', '/api/v1/ingest/messages', {
    apiKey: INGEST_KEY,
    body: [{ ...message({ customer: 'dana', name: 'Dana Whitfield', text: 'Hello? Still waiting for an answer about SB212' }), platform_message_id: nextId }],
  });
  await ana.waitForFunction(() => document.querySelectorAll('#thread li.msg.inbound').length === 2);
  await ana.waitForFunction((href) => [...document.querySelectorAll('#thread a.permalink')].some((a) => a.getAttribute('href') === href), `https://x.com/i/web/status/${nextId}`, { timeout: 5000 });
  assert.equal(await ana.locator('#thread li.msg.inbound').nth(1).locator('time.rel').textContent(), 'just now');
});

test('while the server is away the queue is marked out of date and actions are disabled with the reason; they come back with it', async () => {
  const { ana } = pages;
  await ana.keyboard.press('c');
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  await ana.fill('#reply-text', 'Checking your options now');
  const [other] = await ingestMany(srv.base, [message({ customer: 'omar', name: 'Omar Haddad', text: 'Still no refund after 3 weeks.', network: 'facebook', visibility: 'private' })]);
  convs.omar = other.conversation_id;
  await ana.locator(row(other.conversation_id)).waitFor();
  // The views' counts follow (Ana holds one, the other waits).
  await ana.waitForFunction(() => document.querySelector('.view-chip[data-view="all"] .count').textContent === '2');

  await srv.kill();
  await ana.waitForSelector('#queue-stale:not([hidden])', { timeout: 5000 });
  assert.match(await ana.textContent('#queue-stale'), /Offline — reconnecting… the queue may be out of date/);
  assert.equal(await ana.getAttribute('#queue-pane', 'data-stale'), '');
  const gated = await ana.evaluate(() =>
    ['#take-next', '#send-reply', '#conv-release', '#conv-resolve', '#conv-resolve-next', `#queue-list li .claim`].map((sel) => {
      const b = document.querySelector(sel);
      return { sel, disabled: b.disabled, title: b.title, describedBy: b.getAttribute('aria-describedby') };
    }),
  );
  for (const g of gated) {
    assert.equal(g.disabled, true, `${g.sel} disabled`);
    assert.match(g.title, /Offline — reconnecting/, `${g.sel} says why`);
    assert.equal(g.describedBy, 'offline-reason', `${g.sel} tells screen readers why`);
  }
  assert.match(await ana.textContent('#offline-reason'), /Offline — reconnecting/);
  assert.equal(await ana.inputValue('#reply-text'), 'Checking your options now', 'the draft is kept');
  await screenshot(ana, 'workspace-offline', { copyTo: 'docs/screenshots/offline.png' });

  await srv.start();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  await ana.waitForSelector('#conn[data-state="live"]', { timeout: 20000 });
  await ana.waitForSelector('#queue-stale', { state: 'hidden' });
  const back = await ana.evaluate(() => ['#take-next', '#send-reply', '#conv-resolve'].map((sel) => [sel, document.querySelector(sel).disabled, document.querySelector(sel).title]));
  assert.deepEqual(back, [['#take-next', false, ''], ['#send-reply', false, ''], ['#conv-resolve', false, '']]);
  await ana.click('#send-reply');
  await ana.waitForSelector('#reply-status[data-status="sent"], #reply-status[data-status="queued"]', { timeout: 10000 });
});

test('refusals in plain words, naming colleagues, never "agent 2"', async () => {
  const { ana } = pages;
  const [r] = await ingestMany(srv.base, [message({ customer: 'kim', name: 'Kim Tran', text: '@SkyBridgeCare my bag never arrived in Lisbon' })]);
  tokens.bob = await loginToken(srv.base, people.bob.email, PASSWORD);
  await ana.locator(row(r.conversation_id)).waitFor();
  await ana.click(`${row(r.conversation_id)} .qopen`);
  await ana.waitForSelector(`article.conv[data-conversation-id="${r.conversation_id}"]`);
  // Bob takes it first; Ana's page shows it, and her claim is refused in words.
  await api(srv.base, 'POST', `/api/v1/conversations/${r.conversation_id}/claim`, { token: tokens.bob });
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by Bob Chen');
  assert.equal(await ana.textContent('#conv-claim'), 'Claim (held by Bob Chen)');
  await ana.click('#conv-claim');
  await ana.waitForFunction(() => /already taken/.test(document.querySelector('#conv-alert').textContent));
  const said = await ana.textContent('#conv-alert');
  assert.equal(said, "Kim Tran's conversation is already taken by Bob Chen.");
  assert.doesNotMatch(said, /agent \d/);
});

test('the dark theme, chosen or the system\'s, and readable', async () => {
  const { ana } = pages;
  const s = await api(srv.base, 'GET', '/api/v1/me/settings', { token: tokens.ana = await loginToken(srv.base, people.ana.email, PASSWORD) });
  await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: { ...s, theme: 'dark' } });
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  assert.equal(await ana.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const bg = await ana.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(15, 20, 32)', 'a dark page');
  await ana.locator('#queue-list li').first().waitFor();
  await screenshot(ana, 'workspace-states-dark');
  // "As the system": follows the browser's colour scheme.
  await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: { ...s, theme: 'system' } });
  await ana.emulateMedia({ colorScheme: 'dark' });
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  assert.equal(await ana.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await ana.emulateMedia({ colorScheme: 'light' });
  await ana.waitForFunction(() => document.documentElement.dataset.theme === 'light');
});

test('the layout: three panes on a laptop, the side panel on request on a tablet, the queue or the conversation on a phone', async () => {
  const { ana } = pages;
  const shown = (sel) => ana.evaluate((s) => {
    const el = document.querySelector(s);
    if (!el) return false;
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && r.right <= window.innerWidth + 1 && r.left >= -1;
  }, sel);
  await ana.click(`${row(convs.omar)} .qopen`);
  await ana.waitForSelector(`article.conv[data-conversation-id="${convs.omar}"]`);
  assert.deepEqual([await shown('#queue-pane'), await shown('#conv-pane'), await shown('#side-pane')], [true, true, true], '1440: all three');
  await screenshot(ana, 'workspace-states-conversation');

  await ana.setViewportSize({ width: 1024, height: 768 });
  await ana.waitForTimeout(200);
  assert.deepEqual([await shown('#queue-pane'), await shown('#conv-pane'), await shown('#side-pane')], [true, true, false], '1024: queue and conversation');
  await ana.click('#toggle-side');
  await ana.waitForTimeout(250);
  assert.equal(await shown('#side-pane'), true, 'the side panel on request');
  assert.equal(await ana.getAttribute('#toggle-side', 'aria-expanded'), 'true');
  assert.equal(await ana.evaluate(() => document.activeElement?.id), 'side-close', 'the keyboard goes with it');
  await screenshot(ana, 'workspace-tablet', { copyTo: 'docs/screenshots/tablet-1024.png' });
  await ana.keyboard.press('Escape');
  await ana.waitForTimeout(250);
  assert.equal(await shown('#side-pane'), false, 'Esc puts it away');
  assert.equal(await ana.evaluate(() => document.activeElement?.id), 'toggle-side');

  await ana.setViewportSize({ width: 390, height: 844 });
  await ana.waitForTimeout(200);
  assert.deepEqual([await shown('#queue-pane'), await shown('#conv-pane')], [false, true], 'phone: the open conversation, not under the queue');
  assert.equal(await shown('#conv-back'), true, 'a way back');
  const noSideways = await ana.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.equal(noSideways, true, 'nothing wider than the phone');
  await screenshot(ana, 'workspace-phone-conversation', { copyTo: 'docs/screenshots/phone-conversation.png' });
  await ana.click('#conv-back');
  assert.deepEqual([await shown('#queue-pane'), await shown('#conv-pane')], [true, false], 'phone: back to the queue');
  await ana.waitForFunction(() => document.activeElement?.classList.contains('qopen'));
  await screenshot(ana, 'workspace-phone-queue', { copyTo: 'docs/screenshots/phone-queue.png' });
  await ana.click(`${row(convs.omar)} .qopen`);
  assert.equal(await shown('#conv-pane'), true);
  await ana.setViewportSize({ width: 1440, height: 900 });
});
