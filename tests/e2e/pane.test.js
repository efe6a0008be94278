// The conversation pane tells the truth about the conversation: after a resolve it offers
// nothing more to do (resolving gives the claim back), for the agent who resolved it and for
// anyone else viewing it; and a message that answers another shows what it answers, even when
// that message is in another customer's conversation.

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
  recordLiveFrames,
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
  for (const who of ['ana', 'bob']) tokens[who] = await loginToken(srv.base, people[who].email, PASSWORD);
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example', undefined, { setup: (_, page) => recordLiveFrames(page) });
  pages.bob = await consolePage(browser, srv.base, 'bob@skybridge.example');
});

after(() => teardown({ srv, browser, pages, name: 'pane' }));

const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;
const detail = (id) => api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin });

/** What the open conversation's pane offers, read from the page. */
function paneState(page) {
  return page.evaluate(() => {
    const shown = (sel) => {
      const el = document.querySelector(sel);
      return Boolean(el && !el.hidden && el.getClientRects().length);
    };
    return {
      status: document.querySelector('article.conv')?.dataset.status,
      holder: document.querySelector('#conv-holder')?.textContent,
      claim: shown('#conv-claim'),
      release: shown('#conv-release'),
      resolve: shown('#conv-resolve'),
      pending: shown('#conv-pending'),
      reopen: shown('#conv-reopen'),
      composer: !document.querySelector('#reply-text').disabled,
      send: !document.querySelector('#send-reply').disabled,
      hint: document.querySelector('#composer-hint').textContent,
    };
  });
}

test('resolving gives the claim back: the pane offers no Release, no Resolve and no composer, for the resolver and a viewer', async () => {
  const { ana, bob } = pages;
  const { conversation_id: id } = await ingest(srv.base, {
    customer: 'dana',
    name: 'Dana Whitfield',
    text: '@SkyBridgeCare my flight SB212 was cancelled and nobody at the gate knows anything. What are my options?',
  });
  await ana.click(`${row(id)} .claim`);
  await ana.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  await bob.click(`${row(id)} .qopen`);
  await bob.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by Ana Ruiz');

  const working = await paneState(ana);
  assert.deepEqual(
    { release: working.release, resolve: working.resolve, composer: working.composer, send: working.send },
    { release: true, resolve: true, composer: true, send: true },
    'the holder may work it before the resolve',
  );

  await ana.fill('#reply-text', 'Checking your options now');
  await ana.click('#conv-resolve');
  const d = await eventually(async () => {
    const x = await detail(id);
    return x.conversation.status === 'resolved' && x;
  }, { what: 'the conversation resolved' });
  assert.equal(d.conversation.assignee_id, null, `the REST Summary after a resolve shows nobody holding it (got ${JSON.stringify(d.conversation.assignee_id)})`);

  // The events say so too: the Summary that takes it off the queue has no assignee.
  const removed = await eventually(
    () => ana.liveFrames.find((f) => f.type === 'event' && f.event === 'queue.remove' && f.data.id === id),
    { what: 'queue.remove for the resolved conversation' },
  );
  assert.equal(removed.data.status, 'resolved');
  assert.equal(removed.data.assignee_id, null, `queue.remove after a resolve shows nobody holding it (got ${JSON.stringify(removed.data)})`);

  // Both panes: resolved, nobody holds it, nothing to release, resolve or send.
  for (const [who, page] of [['ana', ana], ['bob', bob]]) {
    await page.waitForFunction(() => document.querySelector('article.conv')?.dataset.status === 'resolved', null, { timeout: 3000 });
    await page.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Unassigned', null, { timeout: 3000 });
    const st = await paneState(page);
    assert.deepEqual(
      { claim: st.claim, release: st.release, resolve: st.resolve, pending: st.pending, reopen: st.reopen, composer: st.composer, send: st.send },
      { claim: false, release: false, resolve: false, pending: false, reopen: false, composer: false, send: false },
      `${who}'s pane after the resolve: ${JSON.stringify(st)}`,
    );
    assert.match(st.hint, /^Resolved — /, `${who}'s composer says why it is closed`);
  }
  // The resolver's keyboard focus did not vanish with the Resolve button.
  assert.equal(await ana.evaluate(() => document.activeElement?.id), 'conv-title');
  // No "your claim ended" alarm for a claim given back on purpose.
  assert.equal(await ana.textContent('#conv-alert'), '');
  await screenshot(ana, 'pane-after-resolve');
});

test('a message answering another shows what it answers, even in another customer\'s conversation, and the quote works from the keyboard', async () => {
  const { ana } = pages;
  // Lena posts in public; her conversation is dealt with and resolved.
  const longText =
    'Shout out to the crew on SB118 this morning, lovely flight, and the captain even explained the turbulence before it happened, thank you @SkyBridgeCare';
  const lena = await ingest(srv.base, { customer: 'lena', name: 'Lena Vogel', text: longText });
  const claim = await api(srv.base, 'POST', `/api/v1/conversations/${lena.conversation_id}/claim`, { token: tokens.bob });
  await api(srv.base, 'POST', `/api/v1/conversations/${lena.conversation_id}/resolve`, { token: tokens.bob, body: { fence_token: claim.fence_token } });

  // Omar answers under Lena's post; then writes again, answering a post Chorus never saw; then
  // answers his own first message.
  const first = await ingest(srv.base, {
    customer: 'omar',
    name: 'Omar Haddad',
    text: '@lena lucky you, my SB118 the day before was three hours late and nobody said a word @SkyBridgeCare',
    inReplyTo: lena.platform_message_id,
  });
  const omarId = first.conversation_id;
  assert.notEqual(omarId, lena.conversation_id, "Omar's message is in his own conversation");
  const second = await ingest(srv.base, { customer: 'omar', name: 'Omar Haddad', text: 'And still no answer to my complaint @SkyBridgeCare', inReplyTo: 'x-status-never-seen-1' });
  const third = await ingest(srv.base, { customer: 'omar', name: 'Omar Haddad', text: 'See above. Anyone?', inReplyTo: first.platform_message_id });
  assert.equal(second.conversation_id, omarId);
  assert.equal(third.conversation_id, omarId);

  // The server describes what each one answers.
  const d = await detail(omarId);
  const byId = new Map(d.messages.map((m) => [m.id, m]));
  const m1 = byId.get(first.message_id);
  assert.deepEqual(
    m1.replying_to && { message_id: m1.replying_to.message_id, conversation_id: m1.replying_to.conversation_id, author_name: m1.replying_to.author_name, direction: m1.replying_to.direction },
    { message_id: lena.message_id, conversation_id: lena.conversation_id, author_name: 'Lena Vogel', direction: 'inbound' },
    `replying_to of a reply to another customer's post (got ${JSON.stringify(m1)})`,
  );
  // null, or left out (the server leaves it out: docs/protocol.md says "carries replying_to" only
  // when Chorus has the message).
  assert.equal(byId.get(second.message_id).replying_to ?? null, null, 'a reply to a post Chorus does not have');
  assert.equal(byId.get(second.message_id).in_reply_to, 'x-status-never-seen-1');

  await ana.click(`${row(omarId)} .qopen`);
  await ana.waitForSelector(`#thread li[data-message-id="${first.message_id}"]`);
  const quote = ana.locator(`#thread li[data-message-id="${first.message_id}"] .reply-quote`);
  await quote.waitFor();
  const quoteText = await quote.innerText();
  assert.match(quoteText, /^↪ in reply to Lena Vogel: /);
  // The first 80 characters of Lena's post, cut with an ellipsis.
  assert.ok(quoteText.includes(`${[...longText].slice(0, 80).join('').trimEnd()}…`), `the quote: ${quoteText}`);
  assert.ok(!quoteText.includes('turbulence before it happened'), 'the quote is cut');
  assert.match(
    await ana.locator(`#thread li[data-message-id="${second.message_id}"] .reply-quote`).innerText(),
    /in reply to a post Chorus does not have/,
  );

  // Long text does not break the layout: the quote stays inside its message, the thread does
  // not scroll sideways.
  const layout = await ana.evaluate((mid) => {
    const li = document.querySelector(`#thread li[data-message-id="${mid}"]`);
    const q = li.querySelector('.reply-quote').getBoundingClientRect();
    const box = li.getBoundingClientRect();
    const wrap = document.querySelector('.thread-wrap');
    return { inside: q.left >= box.left - 0.5 && q.right <= box.right + 0.5, sideways: wrap.scrollWidth > wrap.clientWidth };
  }, first.message_id);
  assert.deepEqual(layout, { inside: true, sideways: false });

  // The quote is a button: Enter on it opens Lena's conversation at her post.
  await quote.focus();
  await ana.keyboard.press('Enter');
  await ana.waitForFunction((cid) => document.querySelector('article.conv')?.dataset.conversationId === String(cid), lena.conversation_id, { timeout: 5000 });
  await ana.waitForFunction((mid) => document.activeElement?.dataset?.messageId === String(mid), lena.message_id, { timeout: 3000 });

  // Back in Omar's conversation, a quote of a message in the same thread moves focus to it.
  await ana.click(`${row(omarId)} .qopen`);
  const own = ana.locator(`#thread li[data-message-id="${third.message_id}"] .reply-quote`);
  await own.waitFor();
  assert.match(await own.innerText(), /in reply to Omar Haddad: /);
  await own.focus();
  await ana.keyboard.press('Enter');
  await ana.waitForFunction((mid) => document.activeElement?.dataset?.messageId === String(mid), first.message_id, { timeout: 3000 });
  assert.equal(await ana.getAttribute('article.conv', 'data-conversation-id'), String(omarId));
  await screenshot(ana, 'pane-reply-quotes');
});
