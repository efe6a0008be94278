// Keyboard first: "?" lists every shortcut, and a small shift is worked without touching the
// mouse — sign in, take the next conversation, reply, leave a note, resolve and take the next,
// release, claim, move through the queue, search it, escalate, switch to the dark theme.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ChorusServer,
  PASSWORD,
  api,
  createAgent,
  eventually,
  launchBrowser,
  loginToken,
  screenshot,
  teardown,
  watchErrors,
} from './harness.js';
import { ingestMany, listedIds, message } from './workspace-helpers.js';

let srv;
let browser;
let admin;
let ana;
let page;
const pages = {};

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz', capacity: 5 });
  await ingestMany(srv.base, [
    message({ customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare my flight SB212 was cancelled and nobody at the gate knows anything. What are my options?' }),
    message({ customer: 'omar', name: 'Omar Haddad', text: 'Still no refund for my cancelled trip after 3 weeks.', visibility: 'private' }),
    message({ customer: 'raj', name: 'Raj Patel', text: '@SkyBridgeCare is the lounge in T2 open today?' }),
    message({ customer: 'lena', name: 'Lena Vogel', text: '@SkyBridgeCare can I bring my guitar on board?' }),
    message({ customer: 'kim', name: 'Kim Tran', text: '@SkyBridgeCare my bag never arrived in Lisbon, where is it?' }),
  ]);
  // No mouse from here on: a page whose mouse use fails the test.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = pages.ana = await context.newPage();
  watchErrors(page);
  await page.exposeFunction('__mouseUsed', (what) => page.errors.push(`the mouse was used: ${what}`));
  await page.addInitScript(() => {
    for (const type of ['mousedown', 'click', 'wheel']) {
      // Clicks the keyboard makes (Enter on a button) have no pointer position and detail 0.
      window.addEventListener(type, (e) => { if (e.isTrusted && (e.detail > 0 || type !== 'click')) window.__mouseUsed(type); }, true);
    }
  });
});

after(() => teardown({ srv, browser, pages, name: 'workspace-keyboard' }));

const key = (k) => page.keyboard.press(k);
const type = (text) => page.keyboard.type(text, { delay: 5 });
const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.className || document.activeElement?.tagName);
const openId = async () => Number(await page.getAttribute('article.conv', 'data-conversation-id'));
const detail = (id) => api(srv.base, 'GET', `/api/v1/conversations/${id}`, { token: admin });

/** Waits until the pane shows a conversation other than `than`, loaded (title focused). */
async function opened(than = null) {
  await page.waitForFunction((prev) => {
    const a = document.querySelector('article.conv');
    return a && a.dataset.conversationId !== String(prev) && document.activeElement?.id === 'conv-title';
  }, than, { timeout: 5000 });
  return openId();
}

test('sign in with the keyboard, and "?" lists every shortcut', async () => {
  await page.goto(srv.base);
  await page.waitForFunction(() => document.activeElement?.id === 'login-email');
  await type('ana@skybridge.example');
  await key('Tab');
  await type(PASSWORD);
  await key('Enter');
  await page.waitForSelector('#conn[data-state="live"]');
  await page.waitForSelector('#queue-list li');

  await key('?');
  await page.waitForSelector('#shortcuts-dialog[open]');
  const listed = await page.$$eval('#shortcuts-list .shortcut', (xs) => xs.map((x) => [x.dataset.keys, x.querySelector('dd').textContent]));
  const keys = listed.map(([k]) => k);
  for (const k of ['n', 'j', 'k', 'q', '/', 'c', 'u', 'e', 'Shift+E', 'x', 'r', 'm', 'i', 'Ctrl+Enter', 'Escape', '?', 'g s or ,', 't', 'g q', 'g r']) {
    assert.ok(keys.includes(k), `"${k}" is listed (${keys.join(' | ')})`);
  }
  assert.match(listed.find(([k]) => k === 'Shift+E')[1], /Resolve and take the next/);
  await screenshot(page, 'workspace-shortcuts', { copyTo: 'docs/screenshots/shortcuts.png' });
  await key('Escape');
  await page.waitForFunction(() => !document.querySelector('#shortcuts-dialog').open);
});

test('a small shift from the keyboard: take next, reply, note, resolve and take next, release, claim, next and previous, search, escalate', async () => {
  // Take next: the best conversation, claimed and open, the keyboard in its title.
  await key('n');
  const first = await opened();
  await page.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  assert.equal((await detail(first)).conversation.assignee_id, ana.id);

  // Reply in public: r, type, Ctrl+Enter; Esc leaves the box.
  await key('r');
  assert.equal(await focused(), 'reply-text');
  assert.equal(await page.isChecked('#mode-public'), true);
  await type('So sorry about this, we are on it now.');
  await key('Control+Enter');
  await page.waitForSelector('#reply-status[data-status="sent"], #reply-status[data-status="queued"]', { timeout: 10000 });
  // Sent: the keyboard leaves the emptied box for the conversation (Esc would too).
  await page.waitForFunction(() => document.activeElement?.id === 'conv-title');
  assert.equal(await page.inputValue('#reply-text'), '');
  // Single keys are text while typing: "n" in the box did not take another conversation.
  assert.equal(await openId(), first);

  // An internal note: i, type, Ctrl+Enter.
  await key('i');
  assert.equal(await focused(), 'reply-text');
  assert.equal(await page.isChecked('#mode-note'), true);
  await type('Checked the booking: rebooked on SB214 tomorrow.');
  await key('Control+Enter');
  await page.waitForFunction(() => /rebooked on SB214/.test(document.querySelector('#thread').textContent));
  await page.waitForFunction(() => document.activeElement?.id === 'conv-title');
  // m switches to a private message; Esc leaves the box without sending.
  await key('m');
  assert.equal(await page.isChecked('#mode-private'), true);
  assert.equal(await focused(), 'reply-text');
  await key('Escape');
  assert.equal(await focused(), 'conv-title');

  // Resolve and take next (Shift+E): resolved, and the next one is open and held.
  await key('Shift+E');
  const second = await opened(first);
  assert.equal((await detail(first)).conversation.status, 'resolved');
  await page.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  assert.equal((await detail(second)).conversation.assignee_id, ana.id);

  // Release (u) and claim again (c).
  await key('u');
  await eventually(async () => (await detail(second)).conversation.assignee_id === null, { what: 'released' });
  await page.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Unassigned');
  await key('c');
  await eventually(async () => (await detail(second)).conversation.assignee_id === ana.id, { what: 'claimed again' });
  await page.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');

  // j and k: the next and the previous conversation in the list.
  const ids = await listedIds(page);
  const at = ids.indexOf(second);
  await key('j');
  const down = await opened(second);
  assert.equal(down, ids[at + 1], 'j opens the next one in the list');
  await key('k');
  assert.equal(await opened(down), second, 'k goes back');

  // Search with "/", Esc to the list, arrows and Enter to open.
  await key('/');
  assert.equal(await focused(), 'queue-search');
  await type('guitar');
  await page.waitForFunction(() => document.querySelectorAll('#queue-list > li').length === 1);
  await key('Enter'); // into the results
  await page.waitForFunction(() => document.activeElement?.classList.contains('qopen'));
  await key('Enter');
  const lena = await opened(second);
  assert.match(await page.textContent('#conv-title'), /Lena Vogel/);
  await key('/');
  await key('Escape'); // clears the search
  await page.waitForFunction(() => document.querySelectorAll('#queue-list > li').length > 1);
  await key('Escape'); // and goes to the list
  await page.waitForFunction(() => document.activeElement?.classList.contains('qopen'));
  await key('End');
  const last = (await listedIds(page)).at(-1);
  await page.waitForFunction((id) => document.activeElement?.closest('li')?.dataset.conversationId === String(id), last);
  await key('Home');
  await key('ArrowDown');
  const secondRow = (await listedIds(page))[1];
  await page.waitForFunction((id) => document.activeElement?.closest('li')?.dataset.conversationId === String(id), secondRow);

  // Escalate (x) from a conversation Ana holds: the reason field, Enter sends it.
  await key('k'); // back into a conversation: the one before Lena's… whichever, then claim it
  const target = await opened(lena);
  await key('c');
  await page.waitForFunction(() => document.querySelector('#conv-holder')?.textContent === 'Held by you');
  await key('x');
  assert.equal(await focused(), 'esc-reason');
  await type('Asks about compensation above my limit');
  await key('Enter');
  await eventually(async () => (await detail(target)).conversation.escalated_to === 'team_lead', { what: 'escalated' });
  await key('Escape');

  // Keys that cannot do anything now say why, in words.
  await page.focus('#conv-title');
  await key('e');
  await page.waitForFunction(() => /Claim this conversation to resolve it/.test(document.querySelector('#conv-alert').textContent));
});

test('settings from the keyboard: "," opens them, the dark theme is chosen and kept on the server', async () => {
  await key(',');
  await page.waitForSelector('#settings-dialog[open]');
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'theme', 'the theme choice has the focus');
  // System → Light → Dark with the arrow keys, then Tab to Save.
  await key('ArrowDown');
  await key('ArrowDown');
  assert.equal(await page.evaluate(() => document.querySelector('input[name="theme"]:checked').value), 'dark');
  for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.textContent)) !== 'Save'; i++) await key('Tab');
  await key('Enter');
  await page.waitForFunction(() => !document.querySelector('#settings-dialog').open);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const token = await loginToken(srv.base, 'ana@skybridge.example', PASSWORD);
  assert.equal((await api(srv.base, 'GET', '/api/v1/me/settings', { token })).theme, 'dark');
  await screenshot(page, 'workspace-dark');
  // "g s" opens them too; Esc closes without saving.
  await key('g');
  await key('s');
  await page.waitForSelector('#settings-dialog[open]');
  await key('Escape');
  await page.waitForFunction(() => !document.querySelector('#settings-dialog').open);
  assert.deepEqual(page.errors, [], 'no page errors, no mouse');
});
