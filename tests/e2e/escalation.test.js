// The escalation queue in a real browser against the real server: a conversation escalated from
// the agent view reaches its group's "Escalations" view live, is claimed there (only the group
// may) and returned with a note, and the agent who raised it has it back with the note.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  PASSWORD,
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
const tokens = {};
const pages = {};

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  // A team lead who also works the queue.
  people.sue = await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor', 'agent'], capacity: 8 });
  people.pat = await createAgent(srv.base, admin, { email: 'pat@skybridge.example', name: 'Pat Okafor', roles: ['approver'] });
  people.lee = await createAgent(srv.base, admin, { email: 'lee@skybridge.example', name: 'Lee Marsh', roles: ['legal'] });
  for (const who of ['ana', 'sue', 'pat']) tokens[who] = await loginToken(srv.base, people[who].email, PASSWORD);
  await ingest(srv.base, { customer: 'raj', name: 'Raj Patel', text: '@SkyBridgeCare is the lounge in T2 open today?' });
  pages.pat = await consolePage(browser, srv.base, 'pat@skybridge.example', undefined, { hash: '#escalations' });
  pages.lee = await consolePage(browser, srv.base, 'lee@skybridge.example', undefined, { hash: '#escalations' });
  pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example');
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example');
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, 'escalation-server.log'), srv.log);
    srv.cleanup();
  }
  const errors = Object.entries(pages).flatMap(([who, p]) => (p.errors || []).map((e) => `${who}: ${e}`));
  assert.deepEqual(errors, [], 'pages logged errors');
});

const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;
const escRow = (id) => `#escalations-list li[data-conversation-id="${id}"]`;
const detail = (id) => api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin });
const text = (page, sel) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, sel);

test('escalated to PR from the agent view: PR sees it arrive live, claims it, returns it with a note; the escalating agent has it back', async () => {
  const { pat, lee, sue, ana } = pages;
  await pat.evaluate(() => (window.__noReload = true));
  assert.equal(await pat.isVisible('#view-escalations'), true, 'the Escalations view is shown');
  assert.equal(await pat.isVisible('#escalations-empty'), true, 'nothing escalated yet');
  assert.equal(await ana.locator('#nav-escalations').count(), 0, 'agents have no Escalations view');

  const { conversation_id: id } = await ingest(srv.base, {
    customer: 'mara',
    name: 'Mara Lindqvist',
    text: '@SkyBridgeCare your crew refused to let me board SB77 and a journalist filmed the whole thing. Disgraceful. I will sue you unless I get a statement tonight.',
  });
  // The team lead takes it on the Queue view and escalates it on to PR with a reason.
  await sue.waitForSelector(`${row(id)} .claim`);
  await sue.click(`${row(id)} .claim`);
  await sue.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  await sue.selectOption('#esc-group', 'pr');
  const reason = 'Filmed by a journalist at the gate: needs a PR statement before we answer';
  await sue.fill('#esc-reason', reason);
  const sentAt = Date.now();
  await sue.click('form[aria-labelledby="esc-h"] button[type="submit"]');

  // PR's page: the row arrives live, within a second, with no reload.
  await pat.waitForSelector(escRow(id), { timeout: 1000 });
  const lag = Date.now() - sentAt;
  assert.ok(lag <= 1000, `PR saw the escalation after ${lag} ms`);
  assert.equal(await pat.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  const patRow = pat.locator(escRow(id));
  // The customer's name comes from the conversation (the escalation's own Summary lacks it).
  await pat.waitForFunction((sel) => /Mara Lindqvist/.test(document.querySelector(sel)?.textContent), `${escRow(id)} h3`, { timeout: 3000 });
  const shown = await patRow.innerText();
  assert.match(shown, /Escalated by Sue Park to PR/);
  assert.match(shown, /journalist at the gate/);
  assert.match(shown, /Tier [12]/i);
  assert.match(shown, /Risk reasons: .*\(\+\d+\)/);
  assert.match(shown, /waiting \d+ s/);
  await pat.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Unassigned', `${escRow(id)} .holder`, { timeout: 3000 });
  assert.match(await text(pat, '#escalations-msg'), /New escalation to PR from Sue Park: Mara Lindqvist|New escalation to PR from Sue Park: Customer #\d+/);
  assert.equal(await pat.getAttribute('#escalations-msg', 'aria-live'), 'polite');
  assert.equal(await text(pat, '#nav-escalations'), 'Escalations (1)');
  // Legal's queue is another group's: nothing arrives there.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await lee.locator(escRow(id)).count(), 0, "legal does not see PR's escalations");

  // The server agrees: open, to PR, nobody holds it; the agent who raised it no longer does.
  const open = await api(srv.base, 'GET', '/api/v1/escalations?status=open&group=pr', { token: tokens.pat });
  assert.equal(open.length, 1);
  assert.equal(open[0].escalation.conversation_id, id);
  assert.equal(open[0].escalation.from_agent_id, people.sue.id);
  assert.equal(open[0].escalation.reason, reason);
  let d = await detail(id);
  assert.equal(d.conversation.escalated_to, 'pr');
  assert.equal(d.conversation.assignee_id, null);

  // Only the group may claim it: a plain agent is refused (and their page offers no Claim).
  const refused = await api(srv.base, 'POST', `/api/v1/conversations/${id}/claim`, { token: tokens.ana }).catch((e) => e);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, 'forbidden');
  await ana.waitForFunction((sel) => /Escalated to PR/.test(document.querySelector(sel)?.textContent), row(id), { timeout: 3000 });
  assert.equal(await ana.locator(`${row(id)} .claim`).isVisible(), false, 'no Claim for another group’s escalation');

  // PR claims it from the escalation queue.
  await patRow.locator('button.claim').click();
  await pat.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Held by you', `${escRow(id)} .holder`, { timeout: 3000 });
  assert.equal((await detail(id)).conversation.assignee_id, people.pat.id);

  // "Open conversation" uses the agent view's panel: the thread, and the case's escalation.
  await patRow.locator('button.open').click();
  await pat.waitForSelector(`article.conv[data-conversation-id="${id}"]`);
  assert.equal(await pat.isVisible('#view-agent'), true);
  assert.match(await pat.innerText('#thread'), /journalist filmed the whole thing/);
  assert.match(await pat.innerText('.esc-box'), /To PR by Sue Park/);
  assert.equal(await pat.isVisible('#esc-return'), true, 'the group may return it from the panel too');
  await pat.click('#nav-escalations');
  await pat.waitForSelector('#view-escalations', { state: 'visible' });

  const note = 'Use the approved statement: “We are looking into what happened at the gate.” Then DM her for the booking reference.';
  await patRow.locator('textarea').fill(note);
  await screenshot(pat, 'escalations');
  await patRow.locator('button.return').click();
  await pat.waitForSelector(escRow(id), { state: 'detached', timeout: 3000 });
  assert.match(await text(pat, '#escalations-msg'), /Returned conversation \d+ to Sue Park, who holds it again/);
  assert.equal(await pat.isVisible('#escalations-empty'), true);

  // The team lead who raised it has it back, live: held again, the note in the panel and a toast.
  await sue.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you', null, { timeout: 3000 });
  await sue.waitForFunction((n) => document.querySelector('.esc-history .return-note')?.textContent.includes(n), note, { timeout: 3000 });
  assert.match(await text(sue, '#esc-status'), /Returned to you by Pat Okafor \(PR\)/);
  await sue.waitForFunction(() => /Pat Okafor \(PR\) returned conversation \d+ to you/.test(document.querySelector('#toasts').textContent), null, { timeout: 3000 });
  await sue.waitForFunction(() => [...document.querySelectorAll('#mine-list button')].some((b) => /Mara Lindqvist/.test(b.textContent)), null, { timeout: 3000 });
  assert.equal(await sue.isDisabled('#send-reply'), false, 'she can reply again');

  // And over REST: returned with the note, to her, with a new claim; the queue is empty again.
  d = await detail(id);
  assert.equal(d.conversation.escalated_to, null);
  assert.equal(d.conversation.assignee_id, people.sue.id);
  const last = d.escalations.at(-1);
  assert.equal(last.status, 'returned');
  assert.equal(last.return_note, note);
  assert.equal(last.closed_by, people.pat.id);
  assert.deepEqual(await api(srv.base, 'GET', '/api/v1/escalations?status=open&group=pr', { token: tokens.pat }), []);
  // The claim the return gave her is good for writes: she can resolve it with its token.
  const resolved = await api(srv.base, 'POST', `/api/v1/conversations/${id}/resolve`, { token: tokens.sue, body: { fence_token: d.conversation.fence_token } });
  assert.equal(resolved.status, 'resolved');
});

test('an agent escalates to the team lead; the team lead claims and returns it from the keyboard; the agent has it back with the note', async () => {
  const { sue, ana, pat } = pages;
  await sue.click('#nav-escalations');
  await sue.waitForSelector('#view-escalations', { state: 'visible' });

  const { conversation_id: id } = await ingest(srv.base, {
    customer: 'jon',
    name: 'Jon Baptiste',
    text: 'My phone caught fire charging on your seat-back USB. I am talking to a lawyer.',
    visibility: 'private',
  });
  await ana.waitForSelector(`${row(id)} .claim`);
  await ana.click(`${row(id)} .claim`);
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  // An agent escalates to their team lead first: PR and legal are not offered, and the server refuses them.
  const offered = await ana.$$eval('#esc-group option', (os) => os.map((o) => o.value));
  assert.deepEqual(offered, ['team_lead']);
  const token = (await detail(id)).conversation.fence_token;
  const refused = await api(srv.base, 'POST', `/api/v1/conversations/${id}/escalate`, {
    token: tokens.ana,
    body: { fence_token: token, group: 'pr', reason: 'press' },
  }).catch((e) => e);
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, /team lead first/);

  await ana.fill('#esc-reason', 'Device fire and a legal threat');
  await ana.press('#esc-reason', 'Enter');
  await ana.waitForFunction(() => /Escalated to Team lead/.test(document.querySelector('form[aria-labelledby="esc-h"]').textContent), null, { timeout: 3000 });

  // The team lead's queue gets it live; PR's does not.
  await sue.waitForSelector(escRow(id), { timeout: 1000 });
  assert.match(await sue.locator(escRow(id)).innerText(), /Escalated by Ana Ruiz to Team lead/);
  assert.match(await text(sue, '#escalations-msg'), /New escalation to Team lead from Ana Ruiz/);
  assert.equal(await pat.locator(escRow(id)).count(), 0, "PR does not see the team lead's queue");

  // Claim with the keyboard, then return with a note and Ctrl+Enter.
  await sue.focus(`${escRow(id)} button.claim`);
  await sue.keyboard.press('Enter');
  await sue.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Held by you', `${escRow(id)} .holder`, { timeout: 3000 });
  await sue.focus(`${escRow(id)} textarea`);
  const note = 'Do not discuss liability. Send him the claims form link in DM and log the seat number.';
  await sue.keyboard.type(note);
  await sue.keyboard.press('Control+Enter');
  await sue.waitForSelector(escRow(id), { state: 'detached', timeout: 3000 });

  // The agent: held again, the note in the panel and in a toast.
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you', null, { timeout: 3000 });
  await ana.waitForFunction((n) => document.querySelector('.esc-history .return-note')?.textContent.includes(n), note, { timeout: 3000 });
  await ana.waitForFunction((n) => document.querySelector('#toasts').textContent.includes(n), note, { timeout: 3000 });
  const d = await detail(id);
  assert.equal(d.conversation.assignee_id, people.ana.id);
  assert.equal(d.conversation.escalated_to, null);
  assert.deepEqual(
    d.escalations.map((e) => [e.group, e.from_agent_id, e.status, e.closed_by, e.return_note]),
    [['team_lead', people.ana.id, 'returned', people.sue.id, note]],
  );
});
