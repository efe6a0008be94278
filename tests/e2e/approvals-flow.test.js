// Approvals as a queue that cannot be forgotten (issue 25, part 3): a request shows its age and
// its rule's deadline; the approver sends a reply back with comments and its author finds the
// draft back in their composer with the comment above it, changes it and sends it again; a
// request nobody decides in time is reminded, then escalated to the next group — on the
// approvals view and on the supervisor's floor.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  api,
  consolePage,
  createAgent,
  launchBrowser,
  loginToken,
  screenshot,
  teardown,
} from './harness.js';
import { axeBothThemes } from './floor-helpers.js';
import { axeViolations, ingestMany, message } from './workspace-helpers.js';

let srv;
let browser;
let admin;
const people = {};
const pages = {};
const convs = {};

const FIRST = 'So sorry Ivy. You are due compensation under EU261 regulation 261/2004; DM us your booking reference and we will start it today.';
const COMMENT = 'Please soften the second sentence and leave the regulation out: the customer is upset.';
const SECOND = 'So sorry about this, Ivy. We will sort out your compensation: please DM us your booking reference.';

before(async () => {
  srv = new ChorusServer({ env: { CHORUS_APPROVALS__SCAN_INTERVAL_MS: '1000' } });
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  people.pat = await createAgent(srv.base, admin, { email: 'pat@skybridge.example', name: 'Pat Okafor', roles: ['approver'] });
  people.sue = await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor'] });
  // Money talk goes past PR within half an hour; lounge questions past a team lead within a minute.
  await api(srv.base, 'POST', '/api/v1/approval-rules', { token: admin, body: { kind: 'topic', group: 'pr', keywords: ['compensation'], deadline_mins: 30, note: 'money talk goes past PR' } });
  await api(srv.base, 'POST', '/api/v1/approval-rules', { token: admin, body: { kind: 'topic', group: 'team_lead', keywords: ['lounge'], deadline_mins: 1, note: 'lounge access is changing' } });
  const seeded = await ingestMany(srv.base, [
    message({ customer: 'ivy', name: 'Ivy Moreau', text: '@SkyBridgeCare 9 hours late into Paris and I missed my connection. I expect to be compensated.' }),
    message({ customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare can I take my bike on SB212?' }),
    message({ customer: 'raj', name: 'Raj Patel', text: '@SkyBridgeCare is the T2 lounge open for silver members today?' }),
  ]);
  ['ivy', 'dana', 'raj'].forEach((c, i) => (convs[c] = seeded[i].conversation_id));
  pages.pat = await consolePage(browser, srv.base, 'pat@skybridge.example', undefined, { hash: '#approvals', contextOptions: { bypassCSP: true } });
  pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#approvals' });
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example', undefined, { contextOptions: { bypassCSP: true } });
});

after(() => teardown({ srv, browser, pages, name: 'approvals-flow' }));

const qrow = (id) => `#queue-list li[data-conversation-id="${id}"]`;
const card = (page, convId) => page.locator(`#approvals-list li[data-conversation-id="${convId}"]`);

/** Ana claims conversation `id` in her console and sends `text` as a public reply. */
async function anaReplies(id, text) {
  const ana = pages.ana;
  await ana.click(`${qrow(id)} .qopen`);
  await ana.waitForFunction((cid) => document.querySelector('article.conv')?.dataset.conversationId === String(cid), id);
  if (await ana.isVisible('#conv-claim')) await ana.click('#conv-claim');
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  await ana.fill('#reply-text', text);
  await ana.click('#send-reply');
  await ana.waitForSelector('#reply-status[data-status="held"]', { timeout: 5000 });
}

test('send back with comments: the author gets the draft back in the composer, changes it and sends it again', { timeout: 90000 }, async () => {
  const { ana, pat } = pages;
  await anaReplies(convs.ivy, FIRST);

  // The request, with its age (ticking) and its deadline.
  const c = card(pat, convs.ivy);
  await c.waitFor({ timeout: 5000 });
  assert.match(await c.locator('.wait').textContent(), /^waiting \d+ s$/);
  assert.match(await c.locator('.badge.deadline').textContent(), /^Due in (29|30) min/);
  assert.equal(await c.getAttribute('data-deadline'), 'ok');
  const age = await c.locator('.wait').textContent();
  await pat.waitForFunction((a) => document.querySelector('#approvals-list li .wait').textContent !== a, age, { timeout: 3000 });

  // Ana moves on to another conversation meanwhile.
  await ana.click(`${qrow(convs.dana)} .qopen`);
  await ana.waitForFunction(() => document.querySelector('#conv-title')?.textContent === 'Dana Whitfield');

  // Sending back needs a comment.
  await c.locator('button.send-back').click();
  assert.match(await c.locator('p.error').textContent(), /Say what to change/);
  assert.equal(await pat.evaluate(() => document.activeElement?.id), `appr-comment-${await c.getAttribute('data-approval-id')}`);
  await c.locator('input[id^="appr-comment-"]').fill(COMMENT);
  await c.locator('button.send-back').click();
  await pat.waitForFunction((cid) => !document.querySelector(`#approvals-list li[data-conversation-id="${cid}"]`), convs.ivy);
  assert.match(await pat.textContent('#approvals-msg'), /sent back to Ana Ruiz/);
  const [first] = await api(srv.base, 'GET', `/api/v1/approvals?conversation_id=${convs.ivy}&status=all`, { token: admin });
  assert.equal(first.status, 'sent_back');
  assert.equal(first.comment, COMMENT);

  // Ana is told, wherever she is; "Open" takes her to the draft, the comment above it.
  await ana.waitForFunction(() => /Pat Okafor sent back your reply on Ivy Moreau's conversation/.test(document.querySelector('#toasts').textContent), null, { timeout: 5000 });
  assert.match(await ana.textContent('#toasts'), /soften the second sentence/);
  await ana.locator('#toasts .toast', { hasText: 'sent back your reply' }).locator('button.toast-action').click();
  await ana.waitForFunction(() => document.querySelector('#conv-title')?.textContent === 'Ivy Moreau');
  assert.equal(await ana.inputValue('#reply-text'), FIRST);
  assert.equal(await ana.isVisible('#returned-draft'), true);
  assert.match(await ana.textContent('#returned-draft'), /Sent back for changes by Pat Okafor/);
  assert.equal(await ana.textContent('#returned-draft .returned-comment'), COMMENT);
  assert.match(await ana.textContent('#reply-status'), /Sent back for changes/);
  assert.match(await ana.textContent(`#thread li[data-status="returned"]`), /Sent back for changes/);

  // A reload loses nothing: the draft and the comment come from the server.
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  await ana.click(`${qrow(convs.ivy)} .qopen`);
  await ana.waitForFunction(() => document.querySelector('#conv-title')?.textContent === 'Ivy Moreau');
  await ana.waitForSelector('#returned-draft:not([hidden])');
  assert.equal(await ana.inputValue('#reply-text'), FIRST);
  assert.equal(await ana.textContent('#returned-draft .returned-comment'), COMMENT);
  assert.deepEqual(await axeBothThemes(ana, axeViolations), [], 'the composer with a returned draft');
  await screenshot(ana, 'returned-draft');

  // She changes it and sends it: a new reply, which the rule holds again (it still talks money).
  await ana.fill('#reply-text', SECOND);
  await ana.click('#send-reply');
  await ana.waitForSelector('#reply-status[data-status="held"]', { timeout: 5000 });
  assert.equal(await ana.isVisible('#returned-draft'), false);
  const replies = await api(srv.base, 'GET', `/api/v1/conversations/${convs.ivy}/replies`, { token: admin });
  assert.deepEqual(replies.map((r) => [r.text, r.status]), [[FIRST, 'returned'], [SECOND, 'held']]);

  // PR sees the new draft and approves it this time; it goes out.
  const again = card(pat, convs.ivy);
  await again.waitFor({ timeout: 5000 });
  assert.equal(await again.locator('textarea').inputValue(), SECOND);
  await again.locator('button.approve').click();
  await ana.waitForSelector('#reply-status[data-status="sent"]', { timeout: 10000 });
});

test('a request nobody decides is reminded at three quarters of its deadline, then escalated to the next group', { timeout: 180000 }, async () => {
  const { pat, sue } = pages;
  await anaReplies(convs.raj, 'Yes Raj, the T2 lounge is open for silver members until 22:00 today.');

  // A team lead's request, due within a minute.
  const c = card(sue, convs.raj);
  await c.waitFor({ timeout: 5000 });
  assert.match(await c.locator('.badge.deadline').textContent(), /^Due in (1 min 0 s|\d+ s)$/);
  assert.equal(await c.locator('.badge.reminder').isVisible(), false);
  assert.equal(await card(pat, convs.raj).count(), 0, 'not PR’s yet');

  // At 45 s the server reminds the team leads.
  await sue.waitForFunction((cid) => !document.querySelector(`#approvals-list li[data-conversation-id="${cid}"] .badge.reminder`)?.hidden, convs.raj, { timeout: 70000 });
  assert.equal(await c.getAttribute('data-deadline'), 'soon');
  await screenshot(sue, 'approval-reminded');

  // At 60 s it moves on to PR: off the team leads' queue, on PR's, marked as escalated.
  await sue.waitForFunction((cid) => !document.querySelector(`#approvals-list li[data-conversation-id="${cid}"]`), convs.raj, { timeout: 60000 });
  assert.match(await sue.textContent('#approvals-msg'), /moved from Team lead to PR/);
  const escalated = card(pat, convs.raj);
  await escalated.waitFor({ timeout: 5000 });
  assert.equal(await escalated.locator('.badge.escalated-from').textContent(), 'Escalated from Team lead');
  const [a] = await api(srv.base, 'GET', `/api/v1/approvals?conversation_id=${convs.raj}&status=pending`, { token: admin });
  assert.equal(a.group, 'pr');
  assert.equal(a.escalated_from, 'team_lead');
  assert.deepEqual(await axeBothThemes(pat, axeViolations), [], 'the approvals view, with its timers');
  await screenshot(pat, 'approval-escalated');

  // The supervisor's floor lists it among the approvals waiting, with its age and its new deadline.
  await sue.evaluate(() => (location.hash = '#supervisor'));
  const row = sue.locator(`#floor-approvals-rows tr[data-approval-id="${a.id}"]`);
  await row.waitFor({ timeout: 5000 });
  assert.match(await row.locator('.a-group').textContent(), /^PR \(escalated from Team lead\)$/);
  assert.match(await row.locator('.a-age').textContent(), /^1 min \d+ s$/);
  assert.match(await row.locator('.a-due').textContent(), /^(due in|overdue by) /);
});
