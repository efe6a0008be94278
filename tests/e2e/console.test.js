// The console in a real browser against the real server: claim races, the live queue, the
// approval round trip, the crisis banner, reassignment; screenshots of each console screen.

import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  SHOTS,
  api,
  consolePage,
  createAgent,
  eventually,
  ingest,
  launchBrowser,
  loginToken,
  screenshot,
} from './harness.js';

let srv;
let browser;
let admin;
const people = {};
const pages = {};

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  people.bob = await createAgent(srv.base, admin, { email: 'bob@skybridge.example', name: 'Bob Chen' });
  people.sue = await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor', 'agent'], capacity: 8 });
  people.pat = await createAgent(srv.base, admin, { email: 'pat@skybridge.example', name: 'Pat Okafor', roles: ['approver'] });
  // A queue that looks like a morning at an airline's social desk.
  await ingest(srv.base, { customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare my flight SB212 was cancelled and nobody at the gate knows anything. What are my options?' });
  await ingest(srv.base, { customer: 'omar', name: 'Omar Haddad', text: 'Still no refund for my cancelled trip after 3 weeks. This is terrible service.', visibility: 'private' });
  await ingest(srv.base, { customer: 'lena', name: 'Lena Vogel', text: 'Shout out to the crew on SB118 this morning, lovely flight @SkyBridgeCare' });
  await ingest(srv.base, { customer: 'raj', name: 'Raj Patel', text: '@SkyBridgeCare is the lounge in T2 open today?' });
  // The supervisor's page opens first: it hears the others come online.
  pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#supervisor' });
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example');
  pages.bob = await consolePage(browser, srv.base, 'bob@skybridge.example');
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, 'console-server.log'), srv.log);
    srv.cleanup();
  }
  // A page that threw is a failure even when the assertions passed.
  const errors = Object.entries(pages).flatMap(([who, p]) => (p.errors || []).map((e) => `${who}: ${e}`));
  assert.deepEqual(errors, [], 'pages logged errors');
});

const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;

test('two agents race to claim one conversation: exactly one gets it, the other sees it taken within a second', async () => {
  const { conversation_id: id } = await ingest(srv.base, { customer: 'kim', name: 'Kim Tran', text: '@SkyBridgeCare my bag never arrived in Lisbon, where is it?' });
  await pages.ana.waitForSelector(`${row(id)} .claim`);
  await pages.bob.waitForSelector(`${row(id)} .claim`);

  // Both press "Claim" at the same moment (the buttons' own handlers, no waiting on each other).
  const press = (page) => page.evaluate((sel) => document.querySelector(sel).click(), `${row(id)} .claim`);
  await Promise.all([press(pages.ana), press(pages.bob)]);
  const sentAt = Date.now();

  const detail = await eventually(async () => {
    const d = await api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin });
    return d.conversation.assignee_id != null && d;
  }, { what: 'a holder' });
  const winnerId = detail.conversation.assignee_id;
  assert.ok([people.ana.id, people.bob.id].includes(winnerId), 'one of the two holds it');
  const [winner, loser, winnerName] = winnerId === people.ana.id ? [pages.ana, pages.bob, 'Ana Ruiz'] : [pages.bob, pages.ana, 'Bob Chen'];

  // The loser: the row names the winner and the refusal is said, within a second.
  await loser.waitForFunction(
    ([sel, name]) => document.querySelector(sel)?.textContent === `Held by ${name}`,
    [`${row(id)} .holder`, winnerName],
    { timeout: 1000 },
  );
  await loser.waitForFunction(() => /already taken/.test(document.querySelector('#queue-msg').textContent), null, { timeout: 1000 });
  const lag = Date.now() - sentAt;
  assert.ok(lag <= 1000, `the loser saw it taken after ${lag} ms`);

  // The winner holds it, in the queue and in the open conversation.
  await winner.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Held by you', `${row(id)} .holder`);
  await winner.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  assert.equal(await loser.locator(`${row(id)} .claim`).isVisible(), false, "the loser's Claim button is gone");

  // Claiming again from the open conversation is refused clearly too.
  await loser.click(`${row(id)} .qopen`);
  await loser.waitForSelector('#conv-claim');
  await loser.click('#conv-claim');
  await loser.waitForFunction(() => /already taken/.test(document.querySelector('#conv-alert')?.textContent || ''));

  // Give it back, so the rest of the file starts from an unclaimed queue.
  await winner.click(`${row(id)} .release`);
  await winner.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Unassigned', `${row(id)} .holder`);
  await loser.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Unassigned', `${row(id)} .holder`);
});

test('a message ingested while the page is open appears in the queue without a reload', async () => {
  await pages.ana.evaluate(() => (window.__noReload = true));
  const before = await pages.ana.locator('#queue-list > li').count();
  const { conversation_id: id } = await ingest(srv.base, { customer: 'nia', name: 'Nia Brooks', text: '@SkyBridgeCare the app will not let me check in for SB404, help!' });
  const li = pages.ana.locator(row(id));
  await li.waitFor({ timeout: 5000 });
  assert.match(await li.innerText(), /Nia Brooks/);
  assert.match(await li.innerText(), /Tier [12]/i);
  assert.match(await li.innerText(), /breach in \d+:\d\d/);
  assert.equal(await pages.ana.locator('#queue-list > li').count(), before + 1);
  assert.equal(await pages.ana.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  // The other agent's page too.
  await pages.bob.locator(row(id)).waitFor({ timeout: 5000 });
});

test('approval round trip: a held reply is approved on the approver page and the agent sees it sent', async () => {
  await api(srv.base, 'POST', '/api/v1/approval-rules', {
    token: admin,
    body: { kind: 'topic', group: 'pr', keywords: ['compensation'], note: 'money talk goes past PR' },
  });
  pages.pat = await consolePage(browser, srv.base, 'pat@skybridge.example', undefined, { hash: '#approvals' });

  const { conversation_id: id } = await ingest(srv.base, { customer: 'ivy', name: 'Ivy Moreau', text: '@SkyBridgeCare 9 hours late into Paris and I missed my connection. I expect to be compensated.' });
  const ana = pages.ana;
  await ana.click(`${row(id)} .claim`);
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  await ana.fill('#reply-text', 'So sorry Ivy. You are due compensation under EU261; DM us your booking reference and we will start it today.');
  await ana.click('#send-reply');
  await ana.waitForSelector('#reply-status[data-status="held"]', { timeout: 5000 });
  assert.match(await ana.textContent('#reply-status'), /Awaiting approval/);

  // The request reaches the approver live.
  const card = pages.pat.locator(`#approvals-list li[data-conversation-id="${id}"]`);
  await card.waitFor({ timeout: 5000 });
  assert.match(await card.innerText(), /compensation/);
  assert.match(await card.innerText(), /Ana Ruiz/);
  await screenshot(pages.pat, 'approver');
  await card.locator('button.approve').click();
  await pages.pat.waitForFunction((cid) => !document.querySelector(`#approvals-list li[data-conversation-id="${cid}"]`), id);

  // The agent sees it sent (the sandbox channel sends at once), in the status line and the thread.
  await ana.waitForSelector('#reply-status[data-status="sent"]', { timeout: 10000 });
  await ana.waitForSelector('#thread li.msg.outbound[data-status="sent"]', { timeout: 10000 });
  const replies = await api(srv.base, 'GET', `/api/v1/conversations/${id}/replies`, { token: admin });
  assert.equal(replies.length, 1);
  assert.equal(replies[0].status, 'sent');
  await screenshot(ana, 'agent-console', { copyTo: 'docs/screenshots/approval-sent.png' });
});

test('a declared crisis shows its banner on an agent page, and goes when stood down', async () => {
  const pat = pages.pat;
  await pat.goto(`${srv.base}/#crisis`);
  await pat.waitForSelector('#conn[data-state="live"]');
  await pat.fill('#crisis-name', 'Check-in app outage');
  await pat.fill('#crisis-keywords', 'app, check in, outage');
  await pat.fill('#crisis-holding', 'We know the app is down and are fixing it. Check-in desks are open and fees are waived.');
  await pat.click('#declare-form button[type="submit"]');

  const banner = pages.ana.locator('#crisis-banner');
  await banner.waitFor({ state: 'visible', timeout: 3000 });
  assert.match(await banner.innerText(), /Check-in app outage/);
  assert.match(await banner.innerText(), /fees are waived/);

  // An approved response published on the crisis console reaches the agent's banner live.
  const crisisCard = pat.locator('#crisis-active section.crisis-card');
  await crisisCard.waitFor();
  await crisisCard.locator('input[id^="crisis-type-"]').fill('asking for refund');
  await crisisCard.locator('textarea[id^="crisis-resp-"]').fill('Any check-in fee charged today is refunded automatically within 5 days.');
  await crisisCard.locator('form:has(h4) button[type="submit"]').click();
  await pages.ana.waitForFunction(() => /asking for refund/.test(document.querySelector('#crisis-banner').textContent), null, { timeout: 3000 });
  await screenshot(pat, 'crisis-console');

  // The conversation the keyword matched ("app") is part of the crisis: its composer offers the
  // holding message as a draft.
  const nia = (await api(srv.base, 'GET', '/api/v1/conversations?view=queue', { token: admin })).items.find((s) => s.customer_name === 'Nia Brooks');
  assert.ok(nia.crisis_id, 'the matching conversation was taken over by the crisis');
  await pages.ana.click(`${row(nia.id)} .qopen`);
  await pages.ana.waitForSelector('.crisis-helper button');
  assert.match(await pages.ana.locator('.crisis-helper').first().innerText(), /Part of crisis/);

  // Stand down (two steps on purpose); the banner leaves the agent's page.
  const standDown = crisisCard.locator('button.danger');
  await standDown.click();
  await standDown.click();
  await banner.waitFor({ state: 'hidden', timeout: 3000 });
});

test('supervisor reassigns several conversations at once and sees agents and the queue by team', async () => {
  const sue = pages.sue;
  const queue = (await api(srv.base, 'GET', '/api/v1/conversations?view=unassigned', { token: admin })).items;
  const picked = queue.slice(0, 2).map((s) => s.id);
  assert.equal(picked.length, 2);
  for (const id of picked) await sue.check(`#sel-${id}`);
  assert.equal(await sue.textContent('#selected-count'), '2 selected');
  await sue.selectOption('#reassign-agent', String(people.bob.id));
  await sue.click('#reassign-form button[type="submit"]');
  await sue.waitForFunction(() => /Moved 2 of 2/.test(document.querySelector('#reassign-result').textContent));
  for (const id of picked) {
    const d = await api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin });
    assert.equal(d.conversation.assignee_id, people.bob.id);
  }
  // Bob's page shows them as his, live.
  for (const id of picked) await pages.bob.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Held by you', `${row(id)} .holder`);
  // Agents: Bob came online while Sue's page listened, so his row says so; the floor totals
  // come from the wallboard topic.
  assert.equal(await sue.getAttribute(`#agents-rows tr[data-agent-id="${people.bob.id}"]`, 'data-status'), 'online');
  await sue.waitForFunction(() => /\d+ online/.test(document.querySelector('#floor-figures').textContent));
  assert.match(await sue.innerText('#team-queues'), /General queue: \d+ waiting/);
  await screenshot(sue, 'supervisor');
});

test('an agent works a conversation from the keyboard: take next, viewers and typing, tag, @mention, resolve', async () => {
  const { ana, bob } = pages;
  // "Take next" from the keyboard.
  await ana.focus('#take-next');
  await ana.keyboard.press('Enter');
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  const id = Number(await ana.getAttribute('article.conv', 'data-conversation-id'));
  const held = await api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin });
  assert.equal(held.conversation.assignee_id, people.ana.id);

  // Bob opens it too: each sees the other viewing; Ana types and Bob sees it.
  await bob.click(`${row(id)} .qopen`);
  await ana.waitForFunction(() => /Also viewing: Bob Chen/.test(document.querySelector('#conv-presence').textContent), null, { timeout: 3000 });
  await bob.waitForFunction(() => /Also viewing: Ana Ruiz/.test(document.querySelector('#conv-presence').textContent), null, { timeout: 3000 });
  await ana.waitForFunction((sel) => /Viewing: .*Bob Chen/.test(document.querySelector(sel).textContent), `${row(id)} .viewers`, { timeout: 3000 });
  await ana.focus('#reply-text');
  await ana.keyboard.type('Checking this for you now', { delay: 10 });
  await bob.waitForFunction(() => /Ana Ruiz is typing/.test(document.querySelector('#conv-presence').textContent), null, { timeout: 3000 });

  // A tag, with Enter in the tag field.
  await ana.fill('#tag-input', 'refund');
  await ana.press('#tag-input', 'Enter');
  await ana.waitForFunction(() => /refund/.test(document.querySelector('ul.tags').textContent));
  assert.deepEqual((await api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin })).conversation.tags, ['refund']);

  // A note that mentions Bob reaches him at once, and shows in both threads. The composer writes
  // notes too, in its "Internal note" mode (filling the box replaces the reply typed above).
  await ana.click('label[for="mode-note"]');
  await ana.fill('#reply-text', '@bob can you check the booking history?');
  await ana.click('#send-reply');
  await bob.waitForFunction(() => /Ana Ruiz mentioned you/.test(document.querySelector('#toasts').textContent), null, { timeout: 3000 });
  await bob.waitForFunction(() => /check the booking history/.test(document.querySelector('#thread').textContent));

  // Resolve: it leaves the queue on Bob's page too.
  await ana.click('#conv-resolve');
  await bob.waitForSelector(row(id), { state: 'detached', timeout: 3000 });
  assert.equal((await api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin })).conversation.status, 'resolved');
});
