// The floor as supervisors and wall displays see it: who is online from the first moment, a
// wallboard whose tiles hold any wait (an hour, days) inside them, and the figures and the queue
// narrowed to one brand account.

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
  eventually,
  ingest,
  launchBrowser,
  loginToken,
  openWallboard,
  recordLiveFrames,
  screenshot,
  teardown,
} from './harness.js';

let srv;
let browser;
let admin;
let wallToken;
const people = {};
const pages = {};

const HOLIDAYS = { id: 'sb-holidays-page', name: 'SkyBridge Holidays' };

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  people.bob = await createAgent(srv.base, admin, { email: 'bob@skybridge.example', name: 'Bob Chen' });
  people.sue = await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor', 'agent'], capacity: 8 });
  people.wall = await createAgent(srv.base, admin, { email: 'wall@skybridge.example', name: 'Floor display', roles: ['wallboard'] });
  wallToken = await loginToken(srv.base, 'wall@skybridge.example', PASSWORD);
  await ingest(srv.base, { customer: 'raj', name: 'Raj Patel', text: '@SkyBridgeCare is the lounge in T2 open today?' });
});

after(() => teardown({ srv, browser, pages, name: 'floor' }));

const agentRow = (id) => `#agents-rows tr[data-agent-id="${id}"]`;
const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;

test('a supervisor who opens the console sees the agents already online, and their changes after', async () => {
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example');
  pages.bob = await consolePage(browser, srv.base, 'bob@skybridge.example');
  await pages.bob.selectOption('#presence-select', 'away');
  await pages.bob.waitForFunction(() => /You are away/.test(document.querySelector('#toasts').textContent));

  // Sue comes in after them: nobody changes status while her page opens.
  pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, {
    hash: '#supervisor',
    setup: (_, page) => recordLiveFrames(page),
  });
  const ack = pages.sue.liveFrames.find((f) => f.type === 'ack' && Array.isArray(f.presence));
  assert.ok(ack, 'the presence subscribe was answered with the list of who is on');
  assert.deepEqual(
    ack.presence.filter((p) => [people.ana.id, people.bob.id].includes(p.agent_id)).map((p) => [p.name, p.status]).sort(),
    [['Ana Ruiz', 'online'], ['Bob Chen', 'away']],
  );
  await pages.sue.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'online', agentRow(people.ana.id), { timeout: 3000 });
  await pages.sue.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'away', agentRow(people.bob.id), { timeout: 3000 });
  assert.match(await pages.sue.innerText(agentRow(people.ana.id)), /online/);
  // The reassignment picker knows them too.
  assert.match(await pages.sue.innerText('#reassign-agent'), /Ana Ruiz \(online, [\d?]+\/5\)/);

  // Events keep the list current from there: Ana leaves, Bob is back.
  await pages.ana.context().close();
  await pages.sue.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'offline', agentRow(people.ana.id), { timeout: 5000 });
  await pages.bob.selectOption('#presence-select', 'online');
  await pages.sue.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'online', agentRow(people.bob.id), { timeout: 3000 });
});

/** Each tile value's text, and whether its glyphs lie inside its tile (not only its clipped box). */
function tileFit(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.tile .value')].map((v) => {
      const tile = v.closest('.tile').getBoundingClientRect();
      const box = v.getBoundingClientRect();
      const range = document.createRange();
      range.selectNodeContents(v);
      const text = range.getBoundingClientRect();
      const within = (r) => r.left >= tile.left - 0.5 && r.right <= tile.right + 0.5 && r.top >= tile.top - 0.5 && r.bottom <= tile.bottom + 0.5;
      const labelSize = parseFloat(getComputedStyle(v.closest('.tile').querySelector('.label')).fontSize);
      return {
        id: v.id,
        text: v.textContent,
        inside: within(box) && within(text) && v.scrollWidth <= v.clientWidth,
        // Still a headline: never smaller than the tile's label.
        readable: parseFloat(getComputedStyle(v).fontSize) >= labelSize,
        tile: [Math.round(tile.width), Math.round(tile.height)],
        textWidth: Math.round(text.width),
      };
    }),
  );
}

const SIZES = [
  { width: 1920, height: 1080 },
  { width: 1280, height: 720 },
  { width: 1024, height: 768 },
  { width: 800, height: 600 },
  { width: 390, height: 844 },
];

async function assertTilesFit(page, what) {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    // Let the resize observer refit the values.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const fit = await tileFit(page);
    const bad = fit.filter((t) => !t.inside || !t.readable);
    assert.deepEqual(bad, [], `${what} at ${size.width}×${size.height}: values outside their tiles`);
  }
  await page.setViewportSize(SIZES[0]);
}

test('the wallboard holds a wait of hours, or days, inside its tile, at every size', async () => {
  const hours = new Date(Date.now() - (2 * 3600 + 5 * 60 + 30) * 1000);
  await ingest(srv.base, { customer: 'hana', name: 'Hana Sato', text: '@SkyBridgeCare my refund for SB330 is still missing, where is it?', sentAt: hours });
  const wall = await openWallboard(browser, srv.base, wallToken);
  pages.wall = wall;
  await wall.waitForFunction(() => /^2h 0[56]m$/.test(document.querySelector('#wb-oldest').textContent), null, { timeout: 5000 });
  await assertTilesFit(wall, 'a wait over an hour');

  const days = new Date(Date.now() - (2 * 86400 + 3 * 3600 + 10 * 60) * 1000);
  await ingest(srv.base, { customer: 'ines', name: 'Inês Costa', text: '@SkyBridgeCare nobody has answered my complaint about the lost wheelchair, why?', sentAt: days });
  await wall.waitForFunction(() => document.querySelector('#wb-oldest').textContent === '2d 3h', null, { timeout: 5000 });
  await assertTilesFit(wall, 'a wait over a day');
  await screenshot(wall, 'wallboard-day-wait');
  await wall.setViewportSize({ width: 1280, height: 720 });
  await screenshot(wall, 'wallboard-day-wait-1280');
  await wall.setViewportSize(SIZES[0]);
});

test('brand accounts: the console narrows its queue to one (kept across a reload), the wallboard shows one account\'s figures', async () => {
  const { bob } = pages;
  const bobToken = await loginToken(srv.base, 'bob@skybridge.example', PASSWORD);
  // One account: nothing to choose.
  const one = await api(srv.base, 'GET', '/api/v1/brand-accounts', { token: bobToken });
  assert.equal(one.length, 1, `one brand account so far: ${JSON.stringify(one)}`);
  // The brand account filter is one of the queue's filters (shown with the Filters button).
  await bob.click('#filters-toggle');
  await bob.waitForSelector('#queue-filters', { state: 'visible' });
  assert.equal(await bob.isVisible('#brand-filter-wrap'), false, 'no brand select with one account');

  // A second account appears with its first message; the console offers the choice at once.
  const hol = await ingest(srv.base, {
    customer: 'theo',
    name: 'Theo Brandt',
    network: 'facebook',
    brand: HOLIDAYS,
    text: 'Our package holiday hotel in Crete was overbooked, what are you going to do about it?',
  });
  const accounts = await api(srv.base, 'GET', '/api/v1/brand-accounts', { token: bobToken });
  assert.equal(accounts.length, 2);
  const holidays = accounts.find((a) => a.platform_account_id === HOLIDAYS.id);
  assert.deepEqual({ network: holidays.network, name: holidays.name }, { network: 'facebook', name: 'SkyBridge Holidays' });
  assert.equal((await api(srv.base, 'GET', '/api/v1/brand-accounts', { token: wallToken })).length, 2, 'wallboard accounts may list them');
  await bob.waitForSelector('#brand-filter-wrap', { state: 'visible', timeout: 15000 });
  const options = await bob.$$eval('#brand-filter option', (os) => os.map((o) => o.textContent));
  assert.deepEqual(options, ['All brand accounts', 'SkyBridge Care (X)', 'SkyBridge Holidays (Facebook)']);

  const total = await bob.locator('#queue-list > li').count();
  assert.ok(total >= 4, `the whole queue shows (${total})`);
  await bob.selectOption('#brand-filter', String(holidays.id));
  await bob.waitForFunction(() => document.querySelectorAll('#queue-list > li').length === 1);
  await bob.locator(row(hol.conversation_id)).waitFor();
  assert.equal(await bob.textContent('#queue-count'), `(1 of ${total})`);

  // Kept across a reload.
  await bob.reload();
  await bob.waitForSelector('#conn[data-state="live"]', { timeout: 15000 });
  await bob.waitForSelector('#brand-filter-wrap', { state: 'visible' });
  assert.equal(await bob.inputValue('#brand-filter'), String(holidays.id));
  await bob.waitForFunction(() => document.querySelectorAll('#queue-list > li').length === 1);
  // Live arrivals follow the filter.
  const care = await ingest(srv.base, { customer: 'yara', name: 'Yara Nasser', text: '@SkyBridgeCare can I bring my guitar on board as hand luggage?' });
  const hol2 = await ingest(srv.base, { customer: 'ulla', name: 'Ulla Berg', network: 'facebook', brand: HOLIDAYS, text: 'Is the transfer from Heraklion airport included in my package?' });
  await bob.locator(row(hol2.conversation_id)).waitFor({ timeout: 5000 });
  assert.equal(await bob.locator(row(care.conversation_id)).count(), 0, 'the other account\'s conversation stays out');
  await bob.selectOption('#brand-filter', '');
  await bob.locator(row(care.conversation_id)).waitFor({ timeout: 5000 });
  await bob.selectOption('#brand-filter', String(holidays.id));

  // The wallboard for one account: its name in the header, its figures only.
  const filtered = await api(srv.base, 'GET', `/api/v1/metrics/live?brand_account_id=${holidays.id}`, { token: wallToken });
  const whole = await api(srv.base, 'GET', '/api/v1/metrics/live', { token: wallToken });
  assert.equal(filtered.queue.depth, 2, `the Holidays account's queue: ${JSON.stringify(filtered.queue)}`);
  assert.ok(whole.queue.depth > filtered.queue.depth);
  const wall = await openWallboard(browser, srv.base, wallToken, { query: { brand_account_id: holidays.id } });
  pages.wallBrand = wall;
  await wall.waitForFunction(() => /SkyBridge Holidays/.test(document.querySelector('#wb-brand-name').textContent));
  assert.equal(await wall.isVisible('#wb-brand-name'), true);
  await wall.waitForFunction(() => document.querySelector('#wb-depth').textContent === '2', null, { timeout: 5000 });
  assert.equal(await wall.inputValue('#wb-brand'), String(holidays.id));
  assert.equal(new URL(wall.url()).searchParams.get('brand_account_id'), String(holidays.id), 'the choice stays in the address');
  // Its oldest wait is its own (minutes), not the floor's (days).
  assert.doesNotMatch(await wall.textContent('#wb-oldest'), /d /);

  // Live: a message to the account moves its figures; one to the other account does not.
  await ingest(srv.base, { customer: 'vera', name: 'Vera Holm', network: 'facebook', brand: HOLIDAYS, text: 'Can we add a child to our booking for Rhodes in June?' });
  await wall.waitForFunction(() => document.querySelector('#wb-depth').textContent === '3', null, { timeout: 5000 });
  await ingest(srv.base, { customer: 'walt', name: 'Walt Brun', text: '@SkyBridgeCare why was SB501 diverted to Bremen?' });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await wall.textContent('#wb-depth'), '3');
  await screenshot(wall, 'wallboard-brand');

  // Back to the whole floor.
  await wall.selectOption('#wb-brand', '');
  const all = await api(srv.base, 'GET', '/api/v1/metrics/live', { token: wallToken });
  await wall.waitForFunction((n) => document.querySelector('#wb-depth').textContent === String(n), all.queue.depth, { timeout: 5000 });
  assert.equal(await wall.isVisible('#wb-brand-name'), false);
  assert.equal(new URL(wall.url()).searchParams.get('brand_account_id'), null);
  await eventually(async () => (await wall.textContent('#wb-oldest')) === '2d 3h', { what: 'the floor\'s oldest wait back' });
});
