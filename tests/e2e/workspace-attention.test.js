// What calls an agent's attention: with sound and desktop notifications switched on in their
// settings (and the browser's permission granted), work assigned to them, a mention, a decision
// on their reply, an SLA warning on their conversation and a declared crisis each make a toast,
// a tone and a desktop notification, and count in the tab title until looked at. The browser's
// own Notification and AudioContext are wrapped to record what the page asked of them.

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
import { ingestMany, message } from './workspace-helpers.js';

let srv;
let browser;
let admin;
const people = {};
const tokens = {};
const pages = {};

/** Records the notifications and tones the page makes (the real browser objects still run). */
function recordAttention() {
  window.__notifications = [];
  window.__tones = 0;
  const Real = window.Notification;
  function Recorded(title, options = {}) {
    window.__notifications.push({ title, body: options.body || '' });
    return new Real(title, options);
  }
  Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  Recorded.prototype = Real.prototype;
  window.Notification = Recorded;
  const oscillator = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function (...args) {
    window.__tones += 1;
    return oscillator.apply(this, args);
  };
}

before(async () => {
  // SLA warnings 10 s after a message (due in 30 min, warned 29:50 ahead), on either tier.
  srv = new ChorusServer({ env: { CHORUS_SLA__WARNING_SECS: '1790', CHORUS_SLA__TIER2_FIRST_RESPONSE_SECS: '1800' } });
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz', capacity: 10 });
  people.bob = await createAgent(srv.base, admin, { email: 'bob@skybridge.example', name: 'Bob Chen' });
  people.pat = await createAgent(srv.base, admin, { email: 'pat@skybridge.example', name: 'Pat Okafor', roles: ['approver'] });
  for (const who of ['ana', 'bob', 'pat']) tokens[who] = await loginToken(srv.base, people[who].email, PASSWORD);
  await api(srv.base, 'POST', '/api/v1/approval-rules', { token: admin, body: { kind: 'topic', group: 'pr', keywords: ['compensation'], note: 'money talk goes past PR' } });
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example', undefined, {
    contextOptions: { permissions: ['notifications'] },
    setup: (_, page) => page.addInitScript(recordAttention),
  });
});

after(() => teardown({ srv, browser, pages, name: 'workspace-attention' }));

const notifications = (page) => page.evaluate(() => window.__notifications);
const tones = (page) => page.evaluate(() => window.__tones);
const title = (page) => page.evaluate(() => document.title);

async function newConversation(customer, name, text) {
  const [r] = await ingestMany(srv.base, [message({ customer, name, text })]);
  return r.conversation_id;
}

test('sound and desktop notifications are switched on in the settings dialog, with the browser\'s permission', async () => {
  const { ana } = pages;
  assert.equal(await ana.evaluate(() => Notification.permission), 'granted');
  await ana.keyboard.press(',');
  await ana.waitForSelector('#settings-dialog[open]');
  await ana.check('#set-sound');
  await ana.check('#set-desktop');
  await ana.waitForFunction(() => /allows notifications/.test(document.querySelector('#set-desktop-help').textContent));
  assert.equal(await ana.isChecked('#set-desktop'), true, 'kept on: the permission is granted');
  await ana.click('#settings-form button[type="submit"]');
  await ana.waitForFunction(() => !document.querySelector('#settings-dialog').open);
  const s = await api(srv.base, 'GET', '/api/v1/me/settings', { token: tokens.ana });
  assert.deepEqual({ sound: s.sound, desktop: s.desktop, notify: s.notify }, { sound: true, desktop: true, notify: { assigned: true, mentions: true, approvals: true, sla: true, crisis: true } });
  assert.equal(await title(ana), 'Queue · Chorus');
});

test('a mention, work moved to me, a rejected reply, an SLA warning and a crisis: toasts, tones, desktop notifications and an unread count in the title', async () => {
  const { ana } = pages;
  // A mention.
  const dana = await newConversation('dana', 'Dana Whitfield', '@SkyBridgeCare my flight SB212 was cancelled, what are my options?');
  await ana.locator(`#queue-list li[data-conversation-id="${dana}"]`).waitFor();
  await api(srv.base, 'POST', `/api/v1/conversations/${dana}/notes`, { token: tokens.bob, body: { text: '@ana can you take this one? She flies weekly.' } });
  await ana.waitForFunction(() => /Bob Chen mentioned you on Dana Whitfield's conversation/.test(document.querySelector('#toasts').textContent));
  await eventually(async () => (await notifications(ana)).some((n) => n.title === 'Bob Chen mentioned you' && /She flies weekly/.test(n.body)), { what: 'the desktop notification of the mention' });
  assert.ok((await tones(ana)) >= 1, 'a tone played');
  await eventually(async () => (await title(ana)) === '(1) Queue · Chorus', { what: 'one unread in the title' });

  // A supervisor (the admin) moves a conversation to Ana.
  const omar = await newConversation('omar', 'Omar Haddad', 'Still no refund for my cancelled trip after 3 weeks.');
  await ana.locator(`#queue-list li[data-conversation-id="${omar}"]`).waitFor();
  await api(srv.base, 'POST', '/api/v1/conversations/reassign', { token: admin, body: { conversation_ids: [omar], agent_id: people.ana.id } });
  await ana.waitForFunction(() => /A supervisor moved Omar Haddad's conversation to you/.test(document.querySelector('#toasts').textContent));
  await eventually(async () => (await notifications(ana)).some((n) => n.title === 'Conversation moved to you'), { what: 'the desktop notification of the move' });
  await eventually(async () => (await title(ana)) === '(2) Queue · Chorus', { what: 'two unread' });

  // Ana's reply is held for PR and rejected.
  const ivy = await newConversation('ivy', 'Ivy Moreau', '@SkyBridgeCare 9 hours late into Paris, I expect to be compensated.');
  const claim = await api(srv.base, 'POST', `/api/v1/conversations/${ivy}/claim`, { token: tokens.ana });
  const reply = await api(srv.base, 'POST', `/api/v1/conversations/${ivy}/replies`, {
    token: tokens.ana,
    body: { fence_token: claim.fence_token, text: 'You will get compensation of 600 EUR.', visibility: 'public', idempotency_key: `attn-${ivy}` },
  });
  assert.equal(reply.status, 'held');
  await api(srv.base, 'POST', `/api/v1/approvals/${reply.approval_id}/decision`, { token: tokens.pat, body: { decision: 'reject', comment: 'No amounts in public, DM her' } });
  await ana.waitForFunction(() => /Your reply on Ivy Moreau's conversation was rejected by Pat Okafor: “No amounts in public, DM her”/.test(document.querySelector('#toasts').textContent));
  await eventually(async () => (await notifications(ana)).some((n) => n.title === 'Reply rejected'), { what: 'the desktop notification of the decision' });

  // An SLA warning on a conversation Ana holds (due in 30 min; warned about 10 s in).
  const raj = await newConversation('raj', 'Raj Patel', '@SkyBridgeCare is the lounge in T2 open today?');
  await api(srv.base, 'POST', `/api/v1/conversations/${raj}/claim`, { token: tokens.ana });
  await ana.waitForFunction(() => /Raj Patel's conversation is due a response in/.test(document.querySelector('#toasts').textContent), null, { timeout: 20000 });
  await eventually(async () => (await notifications(ana)).some((n) => n.title === 'Response due soon' && /Raj Patel/.test(n.body)), { what: 'the desktop notification of the SLA warning' });

  // A crisis declared by PR.
  await api(srv.base, 'POST', '/api/v1/crises', {
    token: tokens.pat,
    body: { name: 'Check-in app outage', severity: 'high', keywords: ['app down'], networks: [], holding_message: 'We know the app is down and are fixing it.', hold_replies: false, auto_ack: false },
  });
  await ana.waitForSelector('#crisis-banner:not([hidden])');
  await eventually(async () => (await notifications(ana)).some((n) => n.title === 'Crisis declared: Check-in app outage'), { what: 'the desktop notification of the crisis' });
  await eventually(async () => /^\(\d+\) Queue · Chorus$/.test(await title(ana)), { what: 'unread in the title' });
  const kinds = (await notifications(ana)).map((n) => n.title);
  assert.ok((await tones(ana)) >= 5, `a tone for each (${await tones(ana)})`);
  await screenshot(ana, 'workspace-attention', { copyTo: 'docs/screenshots/attention.png' });

  // Toasts that need action stay (the mention, the move, the rejection) until dealt with.
  await new Promise((r) => setTimeout(r, 9000));
  const stayed = await ana.$$eval('#toasts .toast', (ts) => ts.map((t) => t.textContent));
  for (const want of [/mentioned you/, /moved Omar Haddad's conversation/, /rejected by Pat Okafor/]) {
    assert.ok(stayed.some((t) => want.test(t)), `still shown: ${want} (${stayed.join(' | ')})`);
  }
  assert.ok(!stayed.some((t) => /due a response in/.test(t)), 'the SLA warning (nothing to decide) went by itself');
  const unread = Number((await title(ana)).match(/^\((\d+)\)/)[1]);
  assert.equal(unread, stayed.length);

  // Opening the conversation from its toast clears what was about it; dismissing clears the rest.
  await ana.locator('#toasts .toast', { hasText: 'mentioned you' }).locator('.toast-action').click();
  await ana.waitForSelector(`article.conv[data-conversation-id="${dana}"]`);
  await eventually(async () => (await title(ana)) === `(${unread - 1}) Queue · Chorus`, { what: 'one fewer unread' });
  for (const close of await ana.$$('#toasts .toast-close')) await close.click();
  await eventually(async () => (await title(ana)) === 'Queue · Chorus', { what: 'nothing unread' });
  assert.ok(kinds.length >= 5, kinds.join(', '));
});

test('a kind switched off in the settings still shows its toast, without a tone or a desktop notification', async () => {
  const { ana } = pages;
  const s = await api(srv.base, 'GET', '/api/v1/me/settings', { token: tokens.ana });
  await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: { ...s, notify: { ...s.notify, mentions: false } } });
  await ana.reload();
  await ana.waitForSelector('#conn[data-state="live"]');
  const lena = await newConversation('lena', 'Lena Vogel', '@SkyBridgeCare can I bring my guitar on board?');
  await ana.locator(`#queue-list li[data-conversation-id="${lena}"]`).waitFor();
  await api(srv.base, 'POST', `/api/v1/conversations/${lena}/notes`, { token: tokens.bob, body: { text: '@ana guitar question, you know the rules' } });
  await ana.waitForFunction(() => /Bob Chen mentioned you on Lena Vogel's conversation/.test(document.querySelector('#toasts').textContent));
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await notifications(ana), [], 'no desktop notification');
  assert.equal(await tones(ana), 0, 'no tone');
  assert.equal(await title(ana), '(1) Queue · Chorus', 'it still counts as unread');
  // Bad settings are refused by the server, in its words.
  const refused = await api(srv.base, 'PUT', '/api/v1/me/settings', { token: tokens.ana, body: { ...s, theme: 'purple' } }).catch((e) => e);
  assert.equal(refused.status, 400);
});
