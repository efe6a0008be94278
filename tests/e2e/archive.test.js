// The archive and audit views in a real browser against the real server: search with filters,
// "load more" (the page size is the form's "Results per page" field, set to 2 here), exports
// downloaded as files, the audit trail of those exports, and who sees which view and button.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const convs = {};

// Text a careless view would turn into markup: it must show as text, and no <img> may appear.
const MARKUP = '<img src=x id=pwned> zeppelin tickets <b>bold</b>';

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  people.sue = await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor', 'agent'] });
  people.lee = await createAgent(srv.base, admin, { email: 'lee@skybridge.example', name: 'Lee Adams', roles: ['legal'] });
  people.ana = await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  // Oldest first: search answers newest first.
  convs.dana = (await ingest(srv.base, { customer: 'dana', name: 'Dana Whitfield', network: 'x', text: '@SkyBridgeCare my zeppelin luggage never arrived in Lisbon' })).conversation_id;
  convs.omar = (await ingest(srv.base, { customer: 'omar', name: 'Omar Haddad', network: 'facebook', text: 'The Zeppelin lounge in T2 was closed all morning' })).conversation_id;
  convs.raj = (await ingest(srv.base, { customer: 'raj', name: 'Raj Patel', network: 'x', text: 'Still waiting for the walrus refund, three weeks now' })).conversation_id;
  convs.lena = (await ingest(srv.base, { customer: 'lena', name: 'Lena Vogel', network: 'instagram', text: 'Lovely zeppelin crew on SB118 this morning' })).conversation_id;
  convs.ivy = (await ingest(srv.base, { customer: 'ivy', name: 'Ivy Moreau', network: 'x', text: MARKUP })).conversation_id;
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, 'archive-server.log'), srv.log);
    srv.cleanup();
  }
  const errors = Object.entries(pages).flatMap(([who, p]) => (p.errors || []).map((e) => `${who}: ${e}`));
  assert.deepEqual(errors, [], 'pages logged errors');
});

const navLabels = (page) => page.$$eval('#views-nav a', (as) => as.map((a) => a.textContent));
const hitConvs = (page) => page.$$eval('#archive-hits > li', (lis) => lis.map((li) => Number(li.dataset.conversationId)));
const hitIds = (page) => page.$$eval('#archive-hits > li', (lis) => lis.map((li) => Number(li.dataset.hitId)));

async function searchArchive(page, { q, network = '', limit = '50' }) {
  await page.fill('#archive-q', q);
  await page.selectOption('#archive-network', network);
  await page.fill('#archive-limit', limit);
  await page.click('#archive-form button[type="submit"]');
  await page.waitForFunction(() => /found/.test(document.querySelector('#archive-count').textContent));
}

test('a supervisor searches the archive, filters by network, loads more and opens a conversation', async () => {
  const sue = (pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#archive' }));
  assert.deepEqual(await navLabels(sue), ['Queue', 'Supervisor', 'Forecast', 'Approvals', 'Escalations', 'Crisis', 'Archive', 'Admin'], 'Archive, no Audit');
  assert.equal(await sue.isVisible('#view-archive'), true);
  assert.equal(await sue.isVisible('#archive-export-csv'), true, 'supervisors may export');

  // Every word must match, in any case; the walrus message does not.
  await searchArchive(sue, { q: 'ZEPPELIN' });
  assert.equal(await sue.textContent('#archive-count'), '4 messages found.');
  assert.deepEqual(new Set(await hitConvs(sue)), new Set([convs.dana, convs.omar, convs.lena, convs.ivy]));
  assert.ok(!(await hitConvs(sue)).includes(convs.raj), 'the non-matching message is not a hit');
  const ids = await hitIds(sue);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  // The count is in a polite live region.
  assert.equal(await sue.getAttribute('#archive-count', 'aria-live'), 'polite');

  // Text stays text.
  const ivy = sue.locator(`#archive-hits > li[data-conversation-id="${convs.ivy}"] .text`);
  assert.equal(await ivy.textContent(), MARKUP);
  assert.equal(await sue.locator('#archive-hits img, #pwned').count(), 0, 'no markup was made from a message');
  const dana = await sue.locator(`#archive-hits > li[data-conversation-id="${convs.dana}"]`).innerText();
  assert.match(dana, /Dana Whitfield/);
  assert.match(dana, /inbound · public/);

  // Two words: both must appear.
  await searchArchive(sue, { q: 'zeppelin lounge' });
  assert.deepEqual(await hitConvs(sue), [convs.omar]);

  // Network filter.
  await searchArchive(sue, { q: 'zeppelin', network: 'facebook' });
  assert.deepEqual(await hitConvs(sue), [convs.omar]);
  assert.equal(await sue.textContent('#archive-count'), '1 message found.');
  assert.equal(await sue.isVisible('#archive-more'), false);

  // Two per page: two pages, then no more.
  await searchArchive(sue, { q: 'zeppelin', limit: '2' });
  assert.equal(await sue.textContent('#archive-count'), '2 messages found, more to load.');
  const first = await hitIds(sue);
  assert.equal(first.length, 2);
  await sue.focus('#archive-more');
  await sue.keyboard.press('Enter');
  await sue.waitForFunction(() => document.querySelectorAll('#archive-hits > li').length === 4);
  assert.equal(await sue.textContent('#archive-count'), '4 messages found.');
  assert.equal(await sue.isVisible('#archive-more'), false, 'no third page');
  const all = await hitIds(sue);
  assert.deepEqual(all.slice(0, 2), first, 'the second page is appended');
  assert.deepEqual(all, [...all].sort((a, b) => b - a), 'still newest first');
  assert.deepEqual(new Set(await hitConvs(sue)), new Set([convs.dana, convs.omar, convs.lena, convs.ivy]));
  // Focus went to the first new hit.
  assert.equal(await sue.evaluate(() => document.activeElement?.dataset.hitId), String(all[2]));
  await screenshot(sue, 'archive');

  // The server's validation message is shown in the alert.
  await sue.fill('#archive-q', '!!!');
  await sue.click('#archive-form button[type="submit"]');
  await sue.waitForFunction(() => /at least one word/.test(document.querySelector('#archive-error').textContent));
  assert.equal(await sue.getAttribute('#archive-error', 'role'), 'alert');
  // Chromium logs the refused request; that one is expected (any other error still fails).
  const refused = sue.errors.findIndex((e) => /status of 400/.test(e));
  assert.notEqual(refused, -1, 'the 400 was seen');
  sue.errors.splice(refused, 1);
  // And an empty search is refused before it is sent.
  await sue.fill('#archive-q', '');
  await sue.click('#archive-form button[type="submit"]');
  await sue.waitForFunction(() => /words to search/.test(document.querySelector('#archive-error').textContent));
  assert.equal(await sue.evaluate(() => document.activeElement?.id), 'archive-q');

  // A hit opens its conversation in the queue view.
  await searchArchive(sue, { q: 'lounge' });
  await sue.click(`#archive-hits > li[data-conversation-id="${convs.omar}"] .open-conv`);
  await sue.waitForSelector(`article.conv[data-conversation-id="${convs.omar}"]`);
  assert.equal(await sue.evaluate(() => location.hash), '#agent');
  assert.equal(await sue.isVisible('#view-archive'), false);
});

test('a supervisor exports the search as CSV and NDJSON files', async () => {
  const sue = pages.sue;
  await sue.goto(`${srv.base}/#archive`);
  await sue.waitForSelector('#conn[data-state="live"]');
  await sue.fill('#archive-q', 'zeppelin');
  await sue.selectOption('#archive-network', 'x');

  const [csvDownload] = await Promise.all([sue.waitForEvent('download'), sue.click('#archive-export-csv')]);
  assert.equal(csvDownload.suggestedFilename(), 'archive.csv');
  const csv = readFileSync(await csvDownload.path(), 'utf8');
  const lines = csv.trim().split('\n');
  assert.match(lines[0], /^kind,id,conversation_id,customer_id,network,direction,visibility,agent_id,author_name,text,at/);
  assert.equal(lines.length, 3, `header and the two zeppelin messages on X:\n${csv}`);
  assert.match(csv, /zeppelin luggage never arrived/);
  assert.match(csv, /zeppelin tickets/);
  assert.doesNotMatch(csv, /walrus|lounge|Lovely/);

  const [ndDownload] = await Promise.all([sue.waitForEvent('download'), sue.click('#archive-export-ndjson')]);
  assert.equal(ndDownload.suggestedFilename(), 'archive.ndjson');
  const rows = readFileSync(await ndDownload.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => r.conversation_id), [convs.dana, convs.ivy], 'oldest first');
  assert.ok(rows.every((r) => r.network === 'x'));
  assert.equal(await sue.textContent('#archive-error'), '');
});

test('legal sees both exports in the audit trail, filters by action and exports it', async () => {
  const lee = (pages.lee = await consolePage(browser, srv.base, 'lee@skybridge.example', undefined, { hash: '#audit' }));
  assert.deepEqual(await navLabels(lee), ['Queue', 'Approvals', 'Escalations', 'Crisis', 'Archive', 'Audit', 'Admin']);
  // The newest entries come on first sight of the view.
  await lee.waitForFunction(() => /found/.test(document.querySelector('#audit-count').textContent));
  const exportRow = lee.locator('#audit-rows tr[data-action="archive.export"]').first();
  await exportRow.waitFor();
  assert.match(await exportRow.innerText(), new RegExp(`agent:${people.sue.id} \\(Sue Park\\)`));

  // Exact action.
  await lee.fill('#audit-action', 'archive.export');
  await lee.click('#audit-form button[type="submit"]');
  await lee.waitForFunction(() => document.querySelector('#audit-count').textContent === '2 entries found.');
  assert.deepEqual(await lee.$$eval('#audit-rows tr', (trs) => trs.map((tr) => tr.dataset.action)), ['archive.export', 'archive.export']);
  // The newest is the NDJSON export; its filters are in "After", pretty-printed as text.
  const newest = lee.locator('#audit-rows tr').first();
  assert.equal(await newest.locator('details').count(), 1, 'no "before" for an export');
  await newest.locator('summary').click();
  const after = await newest.locator('pre.json').textContent();
  assert.match(after, /\n {2}"format": "ndjson",\n/);
  assert.match(after, /"q": "zeppelin"/);
  assert.match(after, /"network": "x"/);

  // A family, and a family that matches nothing.
  await lee.fill('#audit-action', 'agent.*');
  await lee.click('#audit-form button[type="submit"]');
  await lee.waitForFunction(() => /entr(y|ies) found/.test(document.querySelector('#audit-count').textContent));
  const actions = await lee.$$eval('#audit-rows tr', (trs) => trs.map((tr) => tr.dataset.action));
  assert.ok(actions.length >= 3 && actions.every((a) => a.startsWith('agent.')), `agent.* only: ${actions}`);
  await lee.fill('#audit-action', 'nothing.*');
  await lee.click('#audit-form button[type="submit"]');
  await lee.waitForFunction(() => document.querySelector('#audit-count').textContent === 'No entries found.');

  // Page size 1: load more, from the keyboard.
  await lee.fill('#audit-action', 'archive.*');
  await lee.fill('#audit-limit', '1');
  await lee.click('#audit-form button[type="submit"]');
  await lee.waitForFunction(() => document.querySelector('#audit-count').textContent === '1 entry found, more to load.');
  await lee.focus('#audit-more');
  await lee.keyboard.press('Enter');
  await lee.waitForFunction(() => document.querySelector('#audit-count').textContent === '2 entries found.');
  assert.equal(await lee.isVisible('#audit-more'), false);

  // Export the filtered trail.
  await lee.fill('#audit-action', 'archive.export');
  const [download] = await Promise.all([lee.waitForEvent('download'), lee.click('#audit-export-csv')]);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split('\n');
  assert.equal(lines.length, 3, `header and two entries:\n${csv}`);
  assert.ok(lines.slice(1).every((l) => l.includes('archive.export')));
  assert.equal(await lee.textContent('#audit-error'), '');
  // That export is audited too.
  const trail = await api(srv.base, 'GET', '/api/v1/audit?action=audit.export', { token: admin });
  assert.equal(trail.entries.length, 1);

  await lee.fill('#audit-action', '');
  await lee.fill('#audit-limit', '100');
  await lee.click('#audit-form button[type="submit"]');
  await lee.waitForFunction(() => /entries found/.test(document.querySelector('#audit-count').textContent));
  await lee.locator('#audit-rows tr[data-action="archive.export"] summary').first().click();
  await screenshot(lee, 'audit');
});

test('a plain agent has the archive but neither the audit view nor the export buttons', async () => {
  const ana = (pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example', undefined, { hash: '#archive' }));
  assert.deepEqual(await navLabels(ana), ['Queue', 'Archive']);
  assert.equal(await ana.locator('#nav-audit').count(), 0);
  assert.equal(await ana.isVisible('#archive-export-csv'), false);
  assert.equal(await ana.isVisible('#archive-export-ndjson'), false);
  await searchArchive(ana, { q: 'walrus' });
  assert.deepEqual(await hitConvs(ana), [convs.raj]);
  await screenshot(ana, 'archive-agent');
  // Asking for the audit view by address shows the first view instead.
  await ana.evaluate(() => (location.hash = '#audit'));
  await ana.waitForFunction(() => !document.querySelector('#view-agent').hidden);
  assert.equal(await ana.isVisible('#view-audit'), false);
  assert.equal(await ana.locator('#audit-rows tr').count(), 0, 'nothing of the trail was loaded');
});
