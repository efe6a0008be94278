// The supervisor's floor view (issue 25, part 2) against a scripted shift: agents sign in over
// the WebSocket, claim, reply, resolve and step away; the floor shows per agent what they did
// (held, replies, first responses, resolved, status history, last action) and per team the
// queue, and a supervisor moves work by picking rows and an agent, or by dragging rows onto an
// agent — the target's load (in the picker too) is the new one after every move.

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
import { agentCells, axeBothThemes, claim, reply, resolve, wsAgent } from './floor-helpers.js';
import { axeViolations, frames, ingestMany, message } from './workspace-helpers.js';

let srv;
let browser;
let admin;
let billing;
const people = {};
const tokens = {};
const ws = {};
const pages = {};
const convs = {};

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  // Billing takes what comes in on Facebook; the rest waits in the general queue.
  billing = await api(srv.base, 'POST', '/api/v1/teams', { token: admin, body: { name: 'Billing', routes: ['network:facebook'], auto_assign: false } });
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz', capacity: 5 });
  people.bob = await createAgent(srv.base, admin, { email: 'bob@skybridge.example', name: 'Bob Chen', capacity: 6 });
  people.sue = await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor'], capacity: 8 });
  await api(srv.base, 'PUT', `/api/v1/agents/${people.bob.id}/team`, { token: admin, body: { team_id: billing.id } });
  for (const who of ['ana', 'bob', 'sue']) tokens[who] = await loginToken(srv.base, `${who}@skybridge.example`, PASSWORD);
  const seeded = await ingestMany(srv.base, [
    message({ customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare my flight SB212 was cancelled, what are my options?' }),
    message({ customer: 'omar', name: 'Omar Haddad', text: '@SkyBridgeCare where is my bag from SB118?' }),
    message({ customer: 'lena', name: 'Lena Vogel', text: 'Charged twice for my seat upgrade, please refund one', network: 'facebook', visibility: 'private' }),
    message({ customer: 'raj', name: 'Raj Patel', text: '@SkyBridgeCare is the lounge in T2 open today?' }),
    message({ customer: 'ivy', name: 'Ivy Moreau', text: '@SkyBridgeCare can I change my name on the booking?' }),
    message({ customer: 'theo', name: 'Theo Brandt', text: 'My invoice shows the wrong VAT number', network: 'facebook', visibility: 'private', sentAt: new Date(Date.now() - 7 * 60 * 1000) }),
  ]);
  ['dana', 'omar', 'lena', 'raj', 'ivy', 'theo'].forEach((c, i) => (convs[c] = seeded[i].conversation_id));
});

after(async () => {
  for (const a of Object.values(ws)) await a.close().catch(() => {});
  await teardown({ srv, browser, pages, name: 'floor-view' });
});

const row = (id) => `#agents-rows tr[data-agent-id="${id}"]`;
const pickerText = (page, agentId) => page.$eval(`#reassign-agent option[value="${agentId}"]`, (o) => o.textContent);

/** The floor as the server gives it, for one agent. */
async function floorOf(agentId) {
  const f = await api(srv.base, 'GET', '/api/v1/floor', { token: tokens.sue });
  return { floor: f, agent: f.agents.find((a) => a.agent_id === agentId) };
}

test('a scripted shift: what each agent did is what the floor shows', { timeout: 120000 }, async () => {
  // The shift: Ana and Bob sign in (over the WebSocket), work, and Bob steps away.
  ws.ana = await wsAgent(browser, srv.base, tokens.ana);
  ws.bob = await wsAgent(browser, srv.base, tokens.bob);
  const fDana = await claim(ws.ana, convs.dana);
  await reply(ws.ana, convs.dana, fDana, 'So sorry Dana — we have rebooked you on SB214 tomorrow at 09:10.');
  await reply(ws.ana, convs.dana, fDana, 'Your new boarding pass is in the app.');
  await resolve(ws.ana, convs.dana, fDana);
  const fOmar = await claim(ws.ana, convs.omar);
  await reply(ws.ana, convs.omar, fOmar, 'Checking with baggage services now, Omar.');
  const fLena = await claim(ws.bob, convs.lena);
  await reply(ws.bob, convs.lena, fLena, 'Refund for the second charge is on its way, Lena.', 'private');
  await ws.bob.send({ type: 'presence', status: 'away' });

  // The supervisor opens the floor afterwards: it reads the day so far.
  pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#supervisor', contextOptions: { bypassCSP: true } });
  const sue = pages.sue;
  await sue.waitForSelector(`${row(people.ana.id)}`);
  await eventually(async () => (await agentCells(sue, people.ana.id))?.replies === '3', { what: 'Ana’s replies on the floor', timeoutMs: 10000 });

  const ana = await agentCells(sue, people.ana.id);
  assert.equal(ana.status, 'online');
  assert.equal(ana.held, '1 / 5', 'Ana holds Omar (Dana is resolved)');
  assert.equal(ana.replies, '3');
  assert.equal(ana['first'], '2', 'first responses to Dana and Omar');
  assert.equal(ana.resolved, '1');
  assert.equal(ana.breaches, '0');
  assert.match(ana.last, /^\d+s ago$/, `last action: ${ana.last}`);
  assert.match(ana.timeline, /Ana Ruiz today: online/);
  const bob = await agentCells(sue, people.bob.id);
  assert.equal(bob.status, 'away');
  assert.equal(bob.team, 'Billing');
  assert.equal(bob.held, '1 / 6');
  assert.equal(bob.replies, '1');
  assert.equal(bob['first'], '1');
  assert.equal(bob.resolved, '0');
  assert.match(bob.timeline, /online .*away|away .*online/, `Bob's day: ${bob.timeline}`);

  // The same figures as the server's.
  const { agent: fa } = await floorOf(people.ana.id);
  assert.deepEqual([fa.held, fa.replies, fa.first_responses, fa.resolved, fa.breaches], [1, 3, 2, 1, 0]);

  // Teams: the general queue waits for Raj and Ivy; Billing for Theo (seven minutes).
  const general = sue.locator('#teams-rows tr[data-team-id="general"]');
  const bill = sue.locator(`#teams-rows tr[data-team-id="${billing.id}"]`);
  assert.equal(await general.locator('.t-queued').textContent(), '2');
  assert.equal(await bill.locator('.t-queued').textContent(), '1');
  assert.match(await bill.locator('.t-oldest').textContent(), /^7m \d\ds$/);
  // The wait ticks.
  const before1 = await bill.locator('.t-oldest').textContent();
  await sue.waitForFunction((b) => document.querySelector(`#teams-rows tr[data-team-id="${b.id}"] .t-oldest`).textContent !== b.before, { id: billing.id, before: before1 }, { timeout: 3000 });

  // Last action ticks too.
  const last1 = (await agentCells(sue, people.ana.id)).last;
  await eventually(async () => (await agentCells(sue, people.ana.id)).last !== last1, { what: 'the time since the last action to move on', timeoutMs: 3000 });

  // Live: Bob comes back and takes Theo.
  await ws.bob.send({ type: 'presence', status: 'online' });
  await sue.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'online', row(people.bob.id), { timeout: 5000 });
  const fTheo = await claim(ws.bob, convs.theo);
  assert.ok(fTheo);
  await eventually(async () => (await agentCells(sue, people.bob.id)).held === '2 / 6', { what: 'Bob’s load after his claim', timeoutMs: 5000 });
  await eventually(async () => (await bill.locator('.t-queued').textContent()) === '0', { what: 'Billing’s queue emptied', timeoutMs: 20000 });

  assert.deepEqual(await axeBothThemes(sue, axeViolations), [], 'the floor view has no serious or critical axe violation');
  await screenshot(sue, 'floor-view');
});

test('filters and sorting: by team, by status, by any column', async () => {
  const sue = pages.sue;
  // The rows in view, once the frame the click asked for is drawn.
  const order = async () => {
    await frames(sue);
    return sue.$$eval('#agents-rows tr', (trs) => trs.map((tr) => tr.querySelector('th').textContent));
  };
  // Replies, most first; then fewest first.
  await sue.click('#agents-head button[data-sort="replies"]');
  assert.equal(await sue.getAttribute('#agents-head th:has(button[data-sort="replies"])', 'aria-sort'), 'descending');
  assert.deepEqual((await order()).slice(0, 2), ['Ana Ruiz', 'Bob Chen']);
  await sue.click('#agents-head button[data-sort="replies"]');
  assert.equal(await sue.getAttribute('#agents-head th:has(button[data-sort="replies"])', 'aria-sort'), 'ascending');
  assert.deepEqual((await order()).slice(-2), ['Bob Chen', 'Ana Ruiz']);
  // By name, from the keyboard.
  await sue.focus('#agents-head button[data-sort="name"]');
  await sue.keyboard.press('Enter');
  assert.equal(await sue.getAttribute('#agents-head th:has(button[data-sort="name"])', 'aria-sort'), 'ascending');
  assert.equal(await sue.getAttribute('#agents-head th:has(button[data-sort="replies"])', 'aria-sort'), null);
  assert.deepEqual(await order(), ['Administrator', 'Ana Ruiz', 'Bob Chen', 'Sue Park']);

  await sue.selectOption('#floor-team', String(billing.id));
  await sue.waitForFunction(() => document.querySelectorAll('#agents-rows tr').length === 1);
  await frames(sue);
  assert.equal(await sue.textContent('#agents-rows tr th'), 'Bob Chen');
  assert.match(await sue.innerText('#team-queues'), /^Billing: /);
  await sue.selectOption('#floor-team', '');
  await sue.selectOption('#floor-status', 'offline');
  await sue.waitForFunction(() => [...document.querySelectorAll('#agents-rows tr')].every((tr) => tr.dataset.status === 'offline'));
  assert.equal(await sue.locator(row(people.ana.id)).count(), 0);
  await sue.selectOption('#floor-status', '');
  await sue.waitForSelector(row(people.ana.id));
});

test('moving work: pick and reassign, then drag onto an agent — the load is the new one at once, in the picker too', { timeout: 60000 }, async () => {
  const sue = pages.sue;
  assert.match(await pickerText(sue, people.ana.id), /^Ana Ruiz \(online, 1\/5\)$/);
  assert.match(await pickerText(sue, people.bob.id), /^Bob Chen \(online, 2\/6\)$/);

  // Raj and Ivy to Bob, picked with their boxes.
  await sue.check(`#sel-${convs.raj}`);
  await sue.check(`#sel-${convs.ivy}`);
  assert.equal(await sue.textContent('#selected-count'), '2 selected');
  await sue.selectOption('#reassign-agent', String(people.bob.id));
  await sue.click('#reassign-form button[type="submit"]');
  await sue.waitForFunction(() => /Moved 2 of 2 to Bob Chen \(now 4\/6\)/.test(document.querySelector('#reassign-result').textContent));
  // At once, everywhere: the picker (still on Bob) and the agents table.
  assert.equal(await pickerText(sue, people.bob.id), 'Bob Chen (online, 4/6)');
  assert.equal(await sue.inputValue('#reassign-agent'), String(people.bob.id));
  assert.equal((await agentCells(sue, people.bob.id)).held, '4 / 6');
  // …and still after the floor is read again.
  await sue.waitForTimeout(2500);
  assert.equal(await pickerText(sue, people.bob.id), 'Bob Chen (online, 4/6)');
  assert.equal((await agentCells(sue, people.bob.id)).held, '4 / 6');

  // Drag Raj's row onto Ana.
  await sue.dragAndDrop(`#team-queues tr[data-conversation-id="${convs.raj}"]`, `${row(people.ana.id)} th`);
  await sue.waitForFunction(() => /Moved 1 of 1 to Ana Ruiz \(now 2\/5\)/.test(document.querySelector('#reassign-result').textContent), null, { timeout: 5000 });
  assert.equal(await pickerText(sue, people.ana.id), 'Ana Ruiz (online, 2/5)');
  assert.equal(await pickerText(sue, people.bob.id), 'Bob Chen (online, 3/6)');
  assert.equal((await agentCells(sue, people.ana.id)).held, '2 / 5');
  assert.equal(await sue.textContent(`#team-queues tr[data-conversation-id="${convs.raj}"] .holder`), 'Ana Ruiz');
  const d = await api(srv.base, 'GET', `/api/v1/conversations/${convs.raj}`, { token: admin });
  assert.equal(d.conversation.assignee_id, people.ana.id);

  // Dragging a picked row takes every picked row: Ivy and Theo (both Bob's) to Ana.
  await sue.check(`#sel-${convs.ivy}`);
  await sue.check(`#sel-${convs.theo}`);
  assert.equal(await sue.textContent('#selected-count'), '2 selected');
  await sue.dragAndDrop(`#team-queues tr[data-conversation-id="${convs.theo}"]`, `${row(people.ana.id)} th`);
  await sue.waitForFunction(() => /Moved 2 of 2 to Ana Ruiz \(now 4\/5\)/.test(document.querySelector('#reassign-result').textContent), null, { timeout: 5000 });
  assert.equal(await pickerText(sue, people.ana.id), 'Ana Ruiz (online, 4/5)');
  assert.equal(await pickerText(sue, people.bob.id), 'Bob Chen (online, 1/6)');
  assert.equal(await sue.textContent('#selected-count'), '0 selected');

  // A move by someone else (the admin, over REST) reaches the floor by its events — here one
  // the queue does not list (Omar's: answered, waiting on the customer).
  await api(srv.base, 'POST', '/api/v1/conversations/reassign', { token: admin, body: { conversation_ids: [convs.omar], agent_id: people.bob.id } });
  await sue.waitForFunction((id) => /Bob Chen \(online, 2\/6\)/.test(document.querySelector(`#reassign-agent option[value="${id}"]`).textContent), people.bob.id, { timeout: 5000 });
  assert.equal(await pickerText(sue, people.ana.id), 'Ana Ruiz (online, 3/5)');
  assert.equal((await agentCells(sue, people.bob.id)).held, '2 / 6');
  // And the server agrees.
  const { floor } = await floorOf(people.ana.id);
  assert.equal(floor.agents.find((a) => a.agent_id === people.ana.id).held, 3);
  assert.equal(floor.agents.find((a) => a.agent_id === people.bob.id).held, 2);
  await sue.waitForTimeout(2500); // past the floor read the moves asked for
  assert.equal(await pickerText(sue, people.ana.id), 'Ana Ruiz (online, 3/5)');
  assert.equal(await pickerText(sue, people.bob.id), 'Bob Chen (online, 2/6)');
  await screenshot(sue, 'floor-after-moves');
});
