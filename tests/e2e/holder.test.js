// A held reply whose author lost the conversation (another agent holds it, or it was resolved
// since it was held): the approver is told who holds it now, nothing is sent, and the approver
// may send it anyway for the current holder — or leave it pending.

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
  screenshot,
  teardown,
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
  people.bob = await createAgent(srv.base, admin, { email: 'bob@skybridge.example', name: 'Bob Chen' });
  people.cleo = await createAgent(srv.base, admin, { email: 'cleo@skybridge.example', name: 'Cleo Diaz' });
  people.pat = await createAgent(srv.base, admin, { email: 'pat@skybridge.example', name: 'Pat Okafor', roles: ['approver'] });
  for (const who of ['ana', 'pat']) tokens[who] = await loginToken(srv.base, people[who].email, PASSWORD);
  await api(srv.base, 'POST', '/api/v1/approval-rules', {
    token: admin,
    body: { kind: 'topic', group: 'pr', keywords: ['compensation'], note: 'money talk goes past PR' },
  });
  pages.pat = await consolePage(browser, srv.base, 'pat@skybridge.example', undefined, { hash: '#approvals' });
});

// The browser logs the 409 answers the test provokes on purpose.
after(() => teardown({ srv, browser, pages, name: 'holder', ignore: /status of 409/ }));

const card = (id) => `#approvals-list li[data-conversation-id="${id}"]`;
const reassign = (id, agentId) => api(srv.base, 'POST', '/api/v1/conversations/reassign', { token: admin, body: { conversation_ids: [id], agent_id: agentId } });
const approval = async (id) => (await api(srv.base, 'GET', `/api/v1/approvals?status=all&conversation_id=${id}`, { token: admin }))[0];
const replies = (id) => api(srv.base, 'GET', `/api/v1/conversations/${id}/replies`, { token: admin });

/** Ana claims a new conversation and writes a reply the rule holds; returns the conversation id and claim. */
async function heldReply(customer, name, text, reply) {
  const { conversation_id: id } = await ingest(srv.base, { customer, name, text });
  const claim = await api(srv.base, 'POST', `/api/v1/conversations/${id}/claim`, { token: tokens.ana });
  const r = await api(srv.base, 'POST', `/api/v1/conversations/${id}/replies`, {
    token: tokens.ana,
    body: { fence_token: claim.fence_token, text: reply, visibility: 'public', idempotency_key: `held-${id}` },
  });
  assert.equal(r.status, 'held');
  return { id, claim };
}

test('approving a reply whose author lost the conversation: told who holds it, nothing sent; cancel keeps it pending; confirm sends it for the holder, asking again if the holder changed meanwhile', async () => {
  const { pat } = pages;
  const { id } = await heldReply(
    'ivy',
    'Ivy Moreau',
    '@SkyBridgeCare 9 hours late into Paris and I missed my connection. I expect to be compensated.',
    'So sorry Ivy. You are due compensation under EU261; DM us your booking reference.',
  );
  await reassign(id, people.bob.id);
  const c = pat.locator(card(id));
  await c.waitFor({ timeout: 5000 });

  // Approve: refused, nothing sent, the reason and the choice shown.
  await c.locator('button.approve').click();
  const confirm = c.locator('.confirm');
  await confirm.waitFor({ state: 'visible', timeout: 5000 });
  const said = await confirm.innerText();
  assert.match(said, /Not sent: Ana Ruiz no longer holds this conversation — Bob Chen does now/);
  // The server's own message is shown too (asked again here: a refusal changes nothing).
  const refusal = await api(srv.base, 'POST', `/api/v1/approvals/${(await approval(id)).id}/decision`, { token: tokens.pat, body: { decision: 'approve' } }).then(
    (ok) => assert.fail(`approved without confirmation: ${JSON.stringify(ok)}`),
    (e) => e,
  );
  assert.equal(refusal.status, 409);
  assert.equal(refusal.body.error.code, 'holder_changed');
  assert.ok(said.includes(refusal.body.error.message), `the server's message (${refusal.body.error.message}) is shown: ${said}`);
  assert.equal(await c.locator('.send-anyway').innerText(), 'Send anyway for the current holder (Bob Chen)');
  assert.equal(await pat.evaluate(() => document.activeElement?.classList.contains('send-anyway')), true, 'the confirm has the focus');
  assert.equal((await approval(id)).status, 'pending');
  assert.equal((await replies(id))[0].status, 'held', 'nothing was sent');
  await screenshot(pat, 'approver-confirm');

  // Cancel: still pending, the buttons back.
  await c.locator('button.cancel').click();
  await confirm.waitFor({ state: 'hidden' });
  assert.match(await pat.textContent('#approvals-msg'), /still pending/);
  assert.equal(await c.locator('button.approve').isEnabled(), true);
  assert.equal((await approval(id)).status, 'pending');

  // Approve again; the holder changes while the approver reads the question.
  await c.locator('button.approve').click();
  await confirm.waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await c.locator('.send-anyway').innerText(), /Bob Chen/);
  await reassign(id, people.cleo.id);
  await c.locator('.send-anyway').click();
  // Asked again, about the new holder.
  await pat.waitForFunction((sel) => /Cleo Diaz/.test(document.querySelector(`${sel} .send-anyway`)?.textContent || ''), card(id), { timeout: 5000 });
  assert.equal(await confirm.isVisible(), true);
  assert.equal((await approval(id)).status, 'pending', 'still nothing decided');
  await c.locator('.send-anyway').click();

  // Decided and sent.
  await pat.waitForSelector(card(id), { state: 'detached', timeout: 5000 });
  assert.match(await pat.textContent('#approvals-msg'), /approved/);
  assert.equal((await approval(id)).status, 'approved');
  await eventually(async () => (await replies(id))[0].status === 'sent', { timeoutMs: 10000, what: 'the reply sent' });
});

test('approving with edits a reply on a conversation resolved since: "send anyway (nobody holds it)" sends the edited text', async () => {
  const { pat } = pages;
  const { id, claim } = await heldReply(
    'jon',
    'Jon Berg',
    '@SkyBridgeCare my bag was damaged on SB90, what compensation can I get?',
    'Sorry Jon, compensation for bags is up to 1,300 EUR. DM us.',
  );
  // Resolving gives the claim back: nobody holds it, and the author has lost it.
  await api(srv.base, 'POST', `/api/v1/conversations/${id}/resolve`, { token: tokens.ana, body: { fence_token: claim.fence_token } });
  const c = pat.locator(card(id));
  await c.waitFor({ timeout: 5000 });
  const edited = 'So sorry about your bag, Jon. Please DM us your booking reference and a photo: we will sort out the compensation.';
  await c.locator('textarea').fill(edited);
  await c.locator('button.edit').click();
  await c.locator('.confirm').waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await c.locator('.send-anyway').innerText(), 'Send anyway (nobody holds it)');
  assert.equal((await replies(id))[0].status, 'held');
  await c.locator('.send-anyway').click();
  await pat.waitForSelector(card(id), { state: 'detached', timeout: 5000 });
  const a = await approval(id);
  assert.deepEqual([a.status, a.decision, a.text], ['approved', 'edit', edited]);
  await eventually(async () => (await replies(id))[0].status === 'sent', { timeoutMs: 10000, what: 'the edited reply sent' });
});
