// A bad day: 10,000 conversations waiting. The console loads every one of them (nothing hidden
// behind a cap), keeps only the rows in view in the page, and scrolls through the whole queue —
// by mouse wheel and by keyboard — without a long task over 50 ms (the browser's Long Tasks API,
// watched in the page after the queue has loaded). Search and filters stay quick at that size.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ChorusServer, PASSWORD, api, createAgent, launchBrowser, loginToken, screenshot, teardown, watchErrors } from './harness.js';
import { frames, ingestMany, longTasks, message, watchLongTasks } from './workspace-helpers.js';

const N = 10000;
let srv;
let browser;
let admin;
const pages = {};

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  const networks = ['x', 'facebook', 'instagram', 'whatsapp'];
  const texts = [
    'my flight was cancelled and nobody at the gate knows anything, what are my options?',
    'still no refund for my cancelled trip after 3 weeks, terrible service',
    'is the lounge in T2 open today?',
    'lovely crew this morning, thank you',
    'my bag never arrived, where is it?',
  ];
  const started = Date.now();
  const messages = [];
  for (let i = 0; i < N; i++) {
    const network = networks[i % 4];
    messages.push(message({ customer: `crowd${i}`, name: `Customer ${String(i).padStart(5, '0')}`, network, visibility: network === 'whatsapp' || i % 3 === 0 ? 'private' : 'public', text: `${texts[i % 5]} (#${i})` }));
  }
  await ingestMany(srv.base, messages);
  console.log(`seeded ${N} conversations in ${Math.round((Date.now() - started) / 1000)} s`);
}, { timeout: 600000 });

after(() => teardown({ srv, browser, pages, name: 'workspace-scale' }));

test('10,000 waiting: all loaded, only the rows in view in the page, and scrolling by wheel and keyboard has no long task over 50 ms', { timeout: 600000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = (pages.ana = await context.newPage());
  watchErrors(page);
  await page.goto(srv.base);
  await page.fill('#login-email', 'ana@skybridge.example');
  await page.fill('#login-password', PASSWORD);
  const started = Date.now();
  await page.click('#login-form button[type="submit"]');
  await page.waitForFunction((n) => document.querySelector('#queue-count')?.textContent === `(${n})`, N, { timeout: 240000 });
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 60000 });
  console.log(`the console loaded the ${N} in ${Math.round((Date.now() - started) / 100) / 10} s`);
  const server = await api(srv.base, 'GET', '/api/v1/metrics/live', { token: admin });
  assert.equal(server.queue.depth, N, 'the server has them all waiting');
  const inPage = await page.locator('#queue-list > li').count();
  assert.ok(inPage > 15 && inPage < 120, `only the rows in view and a margin are in the page (${inPage})`);
  assert.equal(await page.getAttribute('#queue-list > li >> nth=0', 'aria-setsize'), String(N));

  // Quiet first (the initial load is not what is measured), then watch.
  await page.waitForTimeout(1500);
  await watchLongTasks(page);

  // The mouse wheel, down a long way and back.
  const box = await page.locator('#queue-scroll').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  // A fast flick: 400 px a frame (about 24,000 px a second), 120 times, then back up faster.
  for (let i = 0; i < 120; i++) {
    await page.mouse.wheel(0, 400);
    await page.waitForTimeout(16);
  }
  await frames(page);
  const scrolled = await page.evaluate(() => document.querySelector('#queue-scroll').scrollTop);
  assert.ok(scrolled > 40000, `scrolled ${scrolled} px`);
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, -1200);
    await page.waitForTimeout(16);
  }
  // The keyboard: into the list, page by page, to the end and back.
  await page.keyboard.press('/');
  await page.keyboard.press('Escape'); // from the search box to the list
  await page.waitForFunction(() => document.activeElement?.classList.contains('qopen'));
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('PageDown');
    await page.waitForTimeout(16);
  }
  await page.keyboard.press('End');
  await page.waitForFunction((n) => document.activeElement?.closest('li')?.getAttribute('aria-posinset') === String(n), N);
  await frames(page);
  await screenshot(page, 'workspace-scale-end');
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.activeElement?.closest('li')?.getAttribute('aria-posinset') === '1');
  for (let i = 0; i < 40; i++) await page.keyboard.press('ArrowDown');
  await frames(page);
  await page.waitForTimeout(300);

  const tasks = await longTasks(page);
  const worst = Math.max(0, ...tasks.map((t) => t.duration));
  console.log(`long tasks while scrolling ${N} rows: ${tasks.length} (worst ${worst} ms) ${JSON.stringify(tasks)}`);
  assert.deepEqual(tasks.filter((t) => t.duration > 50), [], 'no long task over 50 ms');
  // Still only a window of rows in the page.
  assert.ok((await page.locator('#queue-list > li').count()) < 120);
});

test('search and filters over 10,000 answer at once', { timeout: 120000 }, async () => {
  const page = pages.ana;
  await watchLongTasks(page);
  await page.keyboard.press('/');
  await page.keyboard.type('Customer 09876');
  await page.waitForFunction(() => document.querySelector('#queue-count').textContent === '(1 of 10000)');
  await page.fill('#queue-search', '');
  await page.click('#filters-toggle');
  await page.selectOption('#f-network', 'whatsapp');
  await page.waitForFunction((n) => document.querySelector('#queue-count').textContent === `(${n} of 10000)`, N / 4);
  await page.click('#filters-clear');
  await page.waitForFunction(() => document.querySelector('#queue-count').textContent === '(10000)');
  const tasks = await longTasks(page);
  console.log(`long tasks while searching and filtering: ${JSON.stringify(tasks)}`);
  assert.ok(tasks.every((t) => t.duration < 200), `a search or filter over 10,000 never blocks for long: ${JSON.stringify(tasks)}`);
});
