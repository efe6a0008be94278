// The queue as an agent triages it at volume: compact rows that show who, where, what and how
// urgent (at least 15 in view at 1440×900, in either density), search, every filter, the three
// sorts, and saved views with counts that follow the live queue.

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
  launchBrowser,
  loginToken,
  screenshot,
  teardown,
} from './harness.js';
import { ingestMany, listedIds, message, rowsInView } from './workspace-helpers.js';

let srv;
let browser;
let admin;
let german; // the German desk team
const people = {};
const tokens = {};
const pages = {};
const convs = {}; // customer id -> conversation id

// A morning's queue: complaints and questions, on every network, in public and private, in three
// languages, calm, cross and happy.
const SEED = [
  ['dana', 'Dana Whitfield', 'x', 'public', '@SkyBridgeCare my flight SB212 was cancelled and nobody at the gate knows anything. What are my options?'],
  ['omar', 'Omar Haddad', 'facebook', 'private', 'Still no refund for my cancelled trip after 3 weeks. This is terrible service, the worst.'],
  ['lena', 'Lena Vogel', 'x', 'public', 'Shout out to the crew on SB118 this morning, lovely flight, thank you @SkyBridgeCare'],
  ['raj', 'Raj Patel', 'x', 'public', '@SkyBridgeCare is the lounge in T2 open today?'],
  ['kim', 'Kim Tran', 'instagram', 'public', 'My bag never arrived in Lisbon, where is it? Awful.'],
  ['ivy', 'Ivy Moreau', 'x', 'private', 'I missed my connection in Paris and I am furious, I want my refund now'],
  ['nia', 'Nia Brooks', 'whatsapp', 'private', 'Hi, can I change the name on my booking?'],
  ['jon', 'Jon Berg', 'facebook', 'public', 'Great service from your Oslo staff today, thanks!'],
  ['mara', 'Mara Lind', 'instagram', 'private', 'Where is my refund? Disgraceful, still nothing'],
  ['theo', 'Theo Brandt', 'x', 'public', 'Mein Flug nach Berlin wurde gestrichen, was nun?', 'de'],
  ['ulla', 'Ulla Berg', 'facebook', 'public', 'Wo ist mein Koffer? Ich warte seit drei Tagen.', 'de'],
  ['yara', 'Yara Nasser', 'x', 'public', '@SkyBridgeCare can I bring my guitar on board as hand luggage?'],
  ['vera', 'Vera Holm', 'whatsapp', 'private', 'Can we add a child to our booking for Rhodes in June?'],
  ['walt', 'Walt Brun', 'x', 'public', '@SkyBridgeCare why was SB501 diverted to Bremen? Terrible communication, nobody told us anything'],
  ['hana', 'Hana Sato', 'instagram', 'public', 'Lovely crew on the Tokyo flight, thank you!'],
  ['ines', 'Ines Costa', 'facebook', 'private', 'Nobody has answered my complaint about the lost wheelchair, this is unacceptable'],
  ['zoe', 'Zoe Park', 'x', 'public', 'Is wifi free on long haul flights?'],
  ['ali', 'Ali Khan', 'facebook', 'public', 'The app crashes when I try to check in, useless'],
  ['eva', 'Eva Roth', 'instagram', 'private', 'Can I get a receipt for my upgrade?'],
  ['ben', 'Ben Cole', 'x', 'public', '@SkyBridgeCare delayed again, third time this month, never flying with you again'],
  ['ada', 'Ada Lund', 'whatsapp', 'private', 'Which terminal does SB77 leave from?'],
  ['gus', 'Gus Moll', 'x', 'public', 'Refund still missing for SB330, please help'],
  ['pia', 'Pia Sorn', 'facebook', 'public', 'Thanks for sorting my seat, very kind'],
  ['rui', 'Rui Alves', 'x', 'public', '¿Puedo llevar a mi perro en cabina?', 'es'],
];

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  german = await api(srv.base, 'POST', '/api/v1/teams', { token: admin, body: { name: 'German desk', routes: ['language:de'] } });
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz', capacity: 10 });
  people.bob = await createAgent(srv.base, admin, { email: 'bob@skybridge.example', name: 'Bob Chen' });
  for (const who of ['ana', 'bob']) tokens[who] = await loginToken(srv.base, people[who].email, PASSWORD);
  const results = await ingestMany(
    srv.base,
    SEED.map(([customer, name, network, visibility, text, language]) => message({ customer, name, network, visibility, text, language })),
  );
  SEED.forEach(([customer], i) => (convs[customer] = results[i].conversation_id));
  // Two are tagged (by someone who held them a moment), one is Bob's, one Ana's.
  for (const [who, tag] of [['omar', 'refund'], ['mara', 'refund'], ['kim', 'baggage']]) {
    const claim = await api(srv.base, 'POST', `/api/v1/conversations/${convs[who]}/claim`, { token: tokens.bob });
    await api(srv.base, 'POST', `/api/v1/conversations/${convs[who]}/tags`, { token: tokens.bob, body: { fence_token: claim.fence_token, add: [tag], remove: [] } });
    await api(srv.base, 'POST', `/api/v1/conversations/${convs[who]}/release`, { token: tokens.bob, body: { fence_token: claim.fence_token } });
  }
  await api(srv.base, 'POST', `/api/v1/conversations/${convs.walt}/claim`, { token: tokens.bob });
  await api(srv.base, 'POST', `/api/v1/conversations/${convs.zoe}/claim`, { token: tokens.ana });
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example');
});

// The browser logs the 409 the duplicate view name provokes on purpose.
after(() => teardown({ srv, browser, pages, name: 'workspace-queue', ignore: /status of 409/ }));

const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;
const queue = async () => (await api(srv.base, 'GET', '/api/v1/conversations?view=queue&limit=200', { token: admin })).items;
const bucket = (x) => (x < -0.05 ? 'negative' : x > 0.05 ? 'positive' : 'neutral');

/**
 * Waits until the list shows exactly `ids` (in any order): the count says how many, and every
 * row in the page is one of them — all of them when they fit (the list keeps only the rows in
 * view and a margin in the page).
 */
async function shows(page, ids, what) {
  const want = new Set(ids);
  await eventually(async () => {
    const listed = await listedIds(page);
    const count = await page.textContent('#queue-count');
    const counted = count === `(${ids.length})` || count.startsWith(`(${ids.length} of `);
    const all = listed.length === ids.length || (ids.length > 15 && listed.length >= 15);
    return counted && all && listed.every((id) => want.has(id));
  }, { what, timeoutMs: 5000 });
}

/** Waits until the rows in the page are the first ones of `ids`, in that order. */
async function inOrder(page, ids, what) {
  await eventually(async () => {
    const listed = await listedIds(page);
    return listed.length >= Math.min(ids.length, 15) && JSON.stringify(listed) === JSON.stringify(ids.slice(0, listed.length));
  }, { what });
}

test('rows show the customer, network, public or private, the newest message, waiting and breach times, tier, risk, sentiment and holder; 15 or more in view at 1440×900 in both densities', async () => {
  const { ana } = pages;
  await ana.locator(row(convs.omar)).waitFor();
  const all = await queue();
  assert.equal(all.length, SEED.length);
  const omar = all.find((s) => s.id === convs.omar);
  const text = await ana.locator(row(convs.omar)).innerText();
  for (const want of [/Omar Haddad/, /@omar/, /FB · private/, /Still no refund for my cancelled trip/, /waiting \d+ s/, /breach in \d+:\d\d/, /tier [12]/i, new RegExp(`risk ${omar.risk}`), new RegExp(bucket(omar.sentiment_now))]) {
    assert.match(text, want, `Omar's row: ${text}`);
  }
  assert.equal(omar.snippet, 'Still no refund for my cancelled trip after 3 weeks. This is terrible service, the worst.', 'the server sends the snippet');
  assert.equal(await ana.textContent(`${row(convs.walt)} .holder`), 'Held by Bob Chen');
  assert.equal(await ana.textContent(`${row(convs.zoe)} .holder`), 'Held by you');
  assert.equal(await ana.textContent(`${row(convs.dana)} .holder`), 'Unassigned');
  assert.equal(await ana.isVisible(`${row(convs.dana)} .claim`), true);
  assert.equal(await ana.isVisible(`${row(convs.walt)} .claim`), false, 'no Claim on a conversation Bob holds');
  // Nothing is cut off: the whole queue is listed, and the count says how many.
  assert.equal(await ana.textContent('#queue-count'), `(${SEED.length})`);

  const comfortable = await rowsInView(ana);
  assert.ok(comfortable.length >= 15, `comfortable density: ${comfortable.length} rows in view`);
  await screenshot(ana, 'workspace-queue-light', { copyTo: 'docs/screenshots/queue-1440-light.png' });

  // Compact density (a setting kept on the server) fits more.
  const settings = await api(srv.base, 'GET', '/api/v1/me/settings', { token: tokens.ana });
  await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: { ...settings, density: 'compact' } });
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  await ana.locator(row(convs.omar)).waitFor();
  assert.equal(await ana.evaluate(() => document.documentElement.dataset.density), 'compact');
  const compact = await rowsInView(ana);
  assert.ok(compact.length >= 19, `compact density: ${compact.length} rows in view`);
  await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: settings });
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  await ana.locator(row(convs.omar)).waitFor();
});

test('search finds by customer name, handle and words; the count says how many of the queue show', async () => {
  const { ana } = pages;
  await ana.fill('#queue-search', 'refund');
  const all = await queue();
  const refunds = all.filter((s) => /refund/i.test(`${s.customer_name} ${s.customer_handle} ${s.snippet} ${(s.tags || []).join(' ')}`)).map((s) => s.id);
  assert.ok(refunds.length >= 4, `refund conversations: ${refunds}`);
  await shows(ana, refunds, 'the refund conversations');
  assert.equal(await ana.textContent('#queue-count'), `(${refunds.length} of ${all.length})`);
  await ana.fill('#queue-search', '@yara');
  await shows(ana, [convs.yara], 'the handle @yara');
  await ana.fill('#queue-search', 'ines costa');
  await shows(ana, [convs.ines], 'Ines Costa by name');
  await ana.fill('#queue-search', 'wheelchair complaint');
  await shows(ana, [convs.ines], 'two words of her message');
  await ana.fill('#queue-search', 'zzz nothing like this');
  await ana.waitForSelector('#queue-empty:not([hidden])');
  assert.match(await ana.textContent('#queue-empty'), /No conversation matches this view/);
  await ana.fill('#queue-search', '');
  await shows(ana, all.map((s) => s.id), 'the whole queue again');
});

test('every filter narrows the queue as the server describes the conversations, and they combine', async () => {
  const { ana } = pages;
  await ana.click('#filters-toggle');
  await ana.waitForSelector('#queue-filters', { state: 'visible' });
  const all = await queue();
  const check = async (select, value, keep, what) => {
    await ana.selectOption(select, value);
    await shows(ana, all.filter(keep).map((s) => s.id), what);
    await ana.selectOption(select, '');
  };
  await check('#f-network', 'facebook', (s) => s.network === 'facebook', 'Facebook');
  await check('#f-visibility', 'private', (s) => s.origin_visibility === 'private', 'private');
  await check('#f-tier', 'tier2', (s) => s.priority === 'tier2', 'tier 2');
  await check('#f-sentiment', 'negative', (s) => bucket(s.sentiment_now) === 'negative', 'negative');
  await check('#f-sentiment', 'positive', (s) => bucket(s.sentiment_now) === 'positive', 'positive');
  await check('#f-status', 'new', (s) => s.status === 'new', 'new');
  await check('#f-assignee', 'mine', (s) => s.assignee_id === people.ana.id, 'mine');
  await check('#f-assignee', 'unassigned', (s) => s.assignee_id == null, 'unassigned');
  await check('#f-team', String(german.id), (s) => s.team_id === german.id, 'the German desk');
  await check('#f-tag', 'refund', (s) => (s.tags || []).includes('refund'), 'tag refund');
  await check('#f-language', 'de', (s) => s.language === 'de', 'German');
  assert.ok(all.some((s) => s.team_id === german.id), 'the German desk has conversations');
  // Combined: negative on X, sorted by risk.
  await ana.selectOption('#f-network', 'x');
  await ana.selectOption('#f-sentiment', 'negative');
  const negativeOnX = all.filter((s) => s.network === 'x' && bucket(s.sentiment_now) === 'negative');
  await shows(ana, negativeOnX.map((s) => s.id), 'negative on X');
  assert.equal(await ana.textContent('#filters-count'), '(2)');
  await ana.selectOption('#queue-sort', 'risk');
  await eventually(async () => {
    const ids = await listedIds(ana);
    const risks = ids.map((id) => all.find((s) => s.id === id).risk);
    return ids.length === negativeOnX.length && risks.every((r, i) => i === 0 || risks[i - 1] >= r);
  }, { what: 'sorted by risk' });
  await ana.click('#filters-clear');
  await shows(ana, all.map((s) => s.id), 'filters cleared');
});

test('the three sorts: due first (the queue order), highest risk, waiting longest', async () => {
  const { ana } = pages;
  const all = await queue();
  await ana.selectOption('#queue-sort', 'due');
  // The server's queue order is the "due" order.
  await inOrder(ana, all.map((s) => s.id), 'the queue order');
  await ana.selectOption('#queue-sort', 'age');
  const byAge = [...all].sort((a, b) => Date.parse(a.awaiting_since) - Date.parse(b.awaiting_since) || a.id - b.id).map((s) => s.id);
  await inOrder(ana, byAge, 'waiting longest first');
  await ana.selectOption('#queue-sort', 'risk');
  await eventually(async () => {
    const risks = (await listedIds(ana)).map((id) => all.find((s) => s.id === id).risk);
    return risks.length >= 15 && risks.every((r, i) => i === 0 || risks[i - 1] >= r);
  }, { what: 'highest risk first' });
  await ana.selectOption('#queue-sort', 'due');
});

test('saved views: saved on the server with the filters and sort, counted live, renamed, updated and deleted', async () => {
  const { ana } = pages;
  const all = await queue();
  await ana.selectOption('#f-network', 'x');
  await ana.selectOption('#f-sentiment', 'negative');
  await ana.selectOption('#queue-sort', 'risk');
  const negativeOnX = all.filter((s) => s.network === 'x' && bucket(s.sentiment_now) === 'negative').length;

  await ana.click('#views-manage');
  await ana.waitForSelector('#views-dialog[open]');
  assert.match(await ana.textContent('#view-current'), /X, negative; highest risk/);
  await ana.fill('#view-name', 'Negative on X');
  await ana.click('#view-save-form button[type="submit"]');
  await ana.waitForFunction(() => /Saved “Negative on X”/.test(document.querySelector('#views-msg').textContent));
  // The same name again is refused in words.
  await ana.fill('#view-name', 'Negative on X');
  await ana.click('#view-save-form button[type="submit"]');
  await ana.waitForFunction(() => /already have a view called “Negative on X”/.test(document.querySelector('#views-msg').textContent));
  await ana.keyboard.press('Escape');
  await ana.waitForFunction(() => !document.querySelector('#views-dialog').open);
  const [saved] = await api(srv.base, 'GET', '/api/v1/me/views', { token: tokens.ana });
  assert.deepEqual({ name: saved.name, filters: saved.filters, sort: saved.sort }, { name: 'Negative on X', filters: { network: 'x', sentiment: 'negative' }, sort: 'risk' });

  const chip = ana.locator(`.view-chip[data-view="v${saved.id}"]`);
  assert.equal(await chip.getAttribute('aria-pressed'), 'true', 'the view shown is marked');
  await eventually(async () => (await chip.locator('.count').textContent()) === String(negativeOnX), { what: `count ${negativeOnX}` });

  // Back to the whole queue, then a new angry post on X: the view's count follows, live.
  await ana.click('.view-chip[data-view="all"]');
  await shows(ana, all.map((s) => s.id), 'All');
  assert.equal(await chip.getAttribute('aria-pressed'), 'false');
  const [fresh] = await ingestMany(srv.base, [message({ customer: 'cal', name: 'Cal Dunn', text: '@SkyBridgeCare lost my bag AGAIN, this is a disgrace, terrible airline' })]);
  await ana.locator(row(fresh.conversation_id)).waitFor();
  const now = (await queue()).find((s) => s.id === fresh.conversation_id);
  assert.equal(bucket(now.sentiment_now), 'negative');
  await eventually(async () => (await chip.locator('.count').textContent()) === String(negativeOnX + 1), { what: 'the count after the new post' });
  // Built-in views count too: "Mine" goes up when Ana claims one.
  const mine = ana.locator('.view-chip[data-view="mine"] .count');
  const before = Number(await mine.textContent());
  await ana.click(`${row(fresh.conversation_id)} .claim`);
  await eventually(async () => Number(await mine.textContent()) === before + 1, { what: 'Mine counted' });

  // Choosing the view sets its filters and sort.
  await chip.click();
  await eventually(async () => (await ana.inputValue('#f-network')) === 'x' && (await ana.inputValue('#queue-sort')) === 'risk', { what: 'the view applied' });
  // The list redraws on the next frame: wait for it rather than read it at once.
  await eventually(async () => (await listedIds(ana)).length === negativeOnX + 1, { what: 'the view listed' });

  // Rename, update to other filters, delete.
  await ana.click('#views-manage');
  const item = ana.locator(`#views-manage-list li[data-view-id="${saved.id}"]`);
  await item.locator('input').fill('Angry on X');
  await item.locator('button.rename').click();
  await ana.waitForFunction(() => /Renamed to “Angry on X”/.test(document.querySelector('#views-msg').textContent));
  assert.equal((await api(srv.base, 'GET', '/api/v1/me/views', { token: tokens.ana }))[0].name, 'Angry on X');
  await ana.keyboard.press('Escape');
  await eventually(async () => (await chip.locator('.view-name').textContent()) === 'Angry on X', { what: 'the chip renamed' });
  await screenshot(ana, 'workspace-saved-views');
  await ana.click('#views-manage');
  await ana.locator(`#views-manage-list li[data-view-id="${saved.id}"] button.delete`).click();
  await ana.waitForFunction(() => /Deleted “Angry on X”/.test(document.querySelector('#views-msg').textContent));
  await ana.keyboard.press('Escape');
  await chip.waitFor({ state: 'detached' });
  assert.deepEqual(await api(srv.base, 'GET', '/api/v1/me/views', { token: tokens.ana }), []);
  // Another agent has views of their own, never Ana's.
  assert.deepEqual(await api(srv.base, 'GET', '/api/v1/me/views', { token: tokens.bob }), []);
  await ana.click('.view-chip[data-view="all"]');
});

test('the search and filters are kept across a reload', async () => {
  const { ana } = pages;
  await ana.fill('#queue-search', 'refund');
  await ana.selectOption('#f-network', 'instagram');
  const all = await queue();
  const want = all.filter((s) => s.network === 'instagram' && /refund/i.test(`${s.customer_name} ${s.snippet} ${(s.tags || []).join(' ')}`)).map((s) => s.id);
  await shows(ana, want, 'refund on Instagram');
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  await shows(ana, want, 'refund on Instagram after the reload');
  assert.equal(await ana.inputValue('#queue-search'), 'refund');
  await ana.click('#filters-clear');
  await ana.fill('#queue-search', '');
  await shows(ana, all.map((s) => s.id), 'the whole queue');
});

test('a conversation as a workspace, in the light and the dark theme (screenshots)', async () => {
  const { ana } = pages;
  if ((await ana.getAttribute('#filters-toggle', 'aria-expanded')) === 'true') await ana.click('#filters-toggle');
  await ana.selectOption('#queue-sort', 'due');
  await ana.click(`${row(convs.omar)} .qopen`);
  await ana.waitForFunction((id) => document.activeElement?.id === 'conv-title' && document.querySelector('article.conv')?.dataset.conversationId === String(id), convs.omar);
  await ana.keyboard.press('c');
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  await ana.keyboard.press('i');
  await ana.keyboard.type('Refund was approved on the 2nd; checking with payments why it has not landed.');
  await ana.keyboard.press('Control+Enter');
  await ana.waitForFunction(() => /checking with payments/.test(document.querySelector('#thread').textContent));
  // Sent: the keyboard is back on the conversation, so m switches to a private message.
  await ana.waitForFunction(() => document.activeElement?.id === 'conv-title');
  await ana.keyboard.press('m');
  await ana.keyboard.type('Hi Omar, I am so sorry. I am checking with our payments team right now');
  await ana.keyboard.press('Escape');
  await screenshot(ana, 'workspace-conversation-light', { copyTo: 'docs/screenshots/conversation-1440.png' });
  const settings = await api(srv.base, 'GET', '/api/v1/me/settings', { token: tokens.ana });
  await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: { ...settings, theme: 'dark' } });
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  await ana.click(`${row(convs.omar)} .qopen`);
  await ana.waitForSelector('#thread li.note');
  assert.equal(await ana.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await screenshot(ana, 'workspace-queue-dark', { copyTo: 'docs/screenshots/queue-1440-dark.png' });
  await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: settings });
});
