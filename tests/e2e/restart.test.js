// Losing the server: it is killed and started again on the same port and database file. The
// console and the wallboard must come back by themselves and miss nothing; and the protocol's
// own promise — subscribe again with `resume_from` and nothing is missed — is checked with a raw
// WebSocket, as any client following docs/protocol.md would use it.

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
  ingest,
  launchBrowser,
  loginToken,
  watchErrors,
} from './harness.js';

let srv;
let browser;
let admin;
const pages = [];

before(async () => {
  // A small resume window, so a test can open a gap the server cannot replay (resync).
  srv = new ChorusServer({ env: { CHORUS_LIVE__RESUME_WINDOW: '20' } });
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  await createAgent(srv.base, admin, { email: 'wall@skybridge.example', name: 'Floor display', roles: ['wallboard'] });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, 'restart-server.log'), srv.log);
    srv.cleanup();
  }
  // Failed resource loads while the server is down are expected; anything else is not.
  const errors = pages.flatMap((p) => p.errors).filter((e) => !/Failed to load resource|WebSocket connection/.test(e));
  assert.deepEqual(errors, [], 'pages logged errors');
});

const row = (id) => `#queue-list li[data-conversation-id="${id}"]`;

/**
 * A console page whose WebSockets all go through a proxy in the test, so the test can cut the
 * connection (a network drop the server does not see coming), hold the next connection's frames
 * back for a moment, and read every frame both ways.
 */
async function proxiedConsole(email) {
  const proxy = { connections: [], holdBack: false };
  const setup = (context) =>
    context.routeWebSocket(/\/ws\b/, (ws) => {
      const server = ws.connectToServer();
      // `whileHeld`: opened after the test started holding frames back (see reconnect()).
      const conn = { ws, server, fromPage: [], fromServer: [], held: [], whileHeld: proxy.holdBack };
      proxy.connections.push(conn);
      ws.onMessage((m) => {
        conn.fromPage.push(JSON.parse(m));
        server.send(m);
      });
      server.onMessage((m) => {
        const f = JSON.parse(m);
        conn.fromServer.push(...(f.type === 'batch' ? f.events : [f]));
        if (proxy.holdBack) conn.held.push(m);
        else ws.send(m);
      });
      conn.release = () => {
        for (const m of conn.held) {
          try {
            ws.send(m);
          } catch {
            // a connection that died meanwhile: the page opens another
          }
        }
        conn.held = [];
      };
    });
  const page = await consolePage(browser, srv.base, email, PASSWORD, { setup });
  pages.push(page);
  proxy.page = page;
  /** Cuts the current connection; the next one's frames wait until `reconnect()`. */
  proxy.drop = async () => {
    proxy.holdBack = true;
    const conn = proxy.connections.at(-1);
    await conn.ws.close({ code: 4001, reason: 'network drop (test)' });
    await conn.server.close();
    await page.waitForSelector('#conn:not([data-state="live"])', { timeout: 5000 });
    return conn;
  };
  /**
   * Waits for the page's own reconnection and lets its frames through. The page may have
   * reconnected already, while the test was still busy (its first retry comes after about half
   * a second): a connection opened since frames were held back counts, and it stays silent
   * until released here, so waiting for yet another one would wait for ever.
   */
  proxy.reconnect = async () => {
    const t = Date.now();
    const held = () => proxy.connections.filter((c) => c.whileHeld);
    // The page backs off up to 10 s (±20 %) between attempts while the server is away, so its
    // next attempt after the server is back may be that far off: wait a little longer than that.
    while (!held().length && Date.now() - t < 15000) await new Promise((r) => setTimeout(r, 50));
    assert.ok(held().length, 'the page reconnected by itself');
    proxy.holdBack = false;
    for (const c of held()) {
      c.release();
      c.whileHeld = false;
    }
    return proxy.connections.at(-1);
  };
  return proxy;
}

const lastSeqOf = (conn) => Math.max(...conn.fromServer.filter((f) => f.type === 'event').map((f) => f.seq));

test('after a network drop the console resumes with resume_from: what it missed is replayed, nothing is reloaded', async () => {
  const proxy = await proxiedConsole('ana@skybridge.example');
  const { page } = proxy;
  const first = await ingest(srv.base, { customer: 'kim', name: 'Kim Tran', text: '@SkyBridgeCare my bag never arrived, where is it?' });
  await page.locator(row(first.conversation_id)).waitFor();
  await page.evaluate(() => (window.__noReload = true));
  let queueReads = 0;
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/conversations?')) queueReads += 1;
  });

  const dropped = await proxy.drop();
  const missed = await ingest(srv.base, { customer: 'ivy', name: 'Ivy Moreau', text: '@SkyBridgeCare 9 hours late into Paris, I missed my connection' });
  const back = await proxy.reconnect();

  await page.locator(row(missed.conversation_id)).waitFor({ timeout: 5000 });
  const resume = back.fromPage.find((f) => f.type === 'subscribe');
  assert.equal(resume.resume_from, lastSeqOf(dropped), 'it subscribed again from the last seq it had applied');
  assert.ok(resume.topics.includes('queue'));
  const ack = back.fromServer.find((f) => f.type === 'ack' && f.id === resume.id);
  assert.ok(ack.replayed >= 1, `the server replayed the missed events (ack: ${JSON.stringify(ack)})`);
  assert.equal(back.fromServer.some((f) => f.type === 'resync'), false);
  assert.equal(queueReads, 0, 'the queue came from the replay, not from reloading it');
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
});

test('a gap longer than the resume window: resync and snapshot, and the page rebuilds its queue from it', async () => {
  const proxy = await proxiedConsole('ana@skybridge.example');
  const { page } = proxy;
  await page.evaluate(() => (window.__noReload = true));
  await proxy.drop();
  // More events than the server keeps for resuming (CHORUS_LIVE__RESUME_WINDOW, see before()).
  const burst = [];
  for (let i = 0; i < 15; i++) burst.push(await ingest(srv.base, { customer: `burst${i}`, name: `Burst Customer ${i}`, text: `@SkyBridgeCare is flight SB${300 + i} on time?` }));
  const back = await proxy.reconnect();
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 10000 });
  for (const b of burst) await page.locator(row(b.conversation_id)).waitFor({ timeout: 5000 });
  assert.ok(back.fromServer.some((f) => f.type === 'resync'), 'the server said resync');
  const snapshot = back.fromServer.find((f) => f.type === 'snapshot');
  assert.ok(snapshot && snapshot.queue, 'a snapshot with the queue followed');
  const server = (await api(srv.base, 'GET', '/api/v1/conversations?view=queue', { token: admin })).items.map((x) => x.id).sort((a, b) => a - b);
  const shown = (await page.$$eval('#queue-list > li', (lis) => lis.map((li) => Number(li.dataset.conversationId)))).sort((a, b) => a - b);
  assert.deepEqual(shown, server);
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
});

async function restart() {
  await srv.kill();
  await srv.start();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
}

test('the console and the wallboard recover by themselves after a server restart, with no message missed', async () => {
  const proxy = await proxiedConsole('ana@skybridge.example');
  const { page } = proxy;
  const wallToken = await loginToken(srv.base, 'wall@skybridge.example', PASSWORD);
  const wall = await (await browser.newContext()).newPage();
  watchErrors(wall);
  pages.push(wall);
  await wall.goto(`${srv.base}/wallboard?token=${encodeURIComponent(wallToken)}`);
  await wall.waitForSelector('#wb-conn[data-state="live"]');

  const first = await ingest(srv.base, { customer: 'dana', name: 'Dana Whitfield', text: '@SkyBridgeCare my flight was cancelled, what now?' });
  await page.locator(row(first.conversation_id)).waitFor();
  const queued = async () => (await api(srv.base, 'GET', '/api/v1/conversations?view=queue', { token: admin })).items.map((s) => s.id).sort((a, b) => a - b);
  const depth = (await queued()).length;
  await wall.waitForFunction((n) => document.querySelector('#wb-depth').textContent === String(n), depth);
  await page.evaluate(() => (window.__noReload = true));
  await wall.evaluate(() => (window.__noReload = true));

  // The console's next connection is held back until the message below is stored, so it is
  // surely one the page could not have seen live.
  proxy.holdBack = true;
  await srv.kill();
  await page.waitForSelector('#conn:not([data-state="live"])', { timeout: 5000 });
  await srv.start();
  const during = await ingest(srv.base, { customer: 'omar', name: 'Omar Haddad', text: 'Where is my refund? Three weeks now.', visibility: 'private' });
  const t0 = Date.now();
  await proxy.reconnect();
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 20000 });
  await page.locator(row(during.conversation_id)).waitFor({ timeout: 5000 });
  console.log(`console back and showing the message stored while it was away ${Date.now() - t0} ms after the restart`);

  // Stored after it is back.
  const afterwards = await ingest(srv.base, { customer: 'raj', name: 'Raj Patel', text: '@SkyBridgeCare is the T2 lounge open?' });
  await page.locator(row(afterwards.conversation_id)).waitFor({ timeout: 5000 });

  // None missed: the page shows exactly the server's queue, and it was never reloaded.
  const server = await queued();
  const shown = (await page.$$eval('#queue-list > li', (lis) => lis.map((li) => Number(li.dataset.conversationId)))).sort((a, b) => a - b);
  assert.deepEqual(shown, server);
  assert.equal(server.length, depth + 2);
  for (const m of [first, during, afterwards]) assert.ok(server.includes(m.conversation_id));
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the console was not reloaded');

  // The wallboard too.
  await wall.waitForSelector('#wb-conn[data-state="live"]', { timeout: 20000 });
  await wall.waitForFunction((n) => document.querySelector('#wb-depth').textContent === String(n), server.length, { timeout: 5000 });
  assert.equal(await wall.evaluate(() => window.__noReload), true, 'the wallboard was not reloaded');
});

test('protocol: a client that resumes with resume_from after a restart receives the events that follow', async () => {
  const token = await loginToken(srv.base, 'ana@skybridge.example', PASSWORD);
  const page = await (await browser.newContext()).newPage();
  pages.push(Object.assign(page, { errors: [] }));
  await page.goto(`${srv.base}/healthz`); // any page of the server's origin

  // A raw client in the page: connect, subscribe, remember the last seq applied.
  await page.evaluate(() => {
    window.raw = {
      frames: [],
      lastSeq: 0,
      connect(token) {
        return new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
          this.ws = ws;
          ws.onerror = () => reject(new Error('websocket error'));
          ws.onmessage = (m) => {
            const f = JSON.parse(m.data);
            const events = f.type === 'batch' ? f.events : [f];
            for (const e of events) {
              this.frames.push(e);
              if (e.type === 'hello') resolve(e.seq);
              if (e.type === 'event' && e.seq > this.lastSeq) this.lastSeq = e.seq;
            }
          };
        });
      },
      send(cmd) {
        return new Promise((resolve) => {
          const id = `t${Math.random()}`;
          const check = setInterval(() => {
            const ack = this.frames.find((f) => f.id === id);
            if (ack) {
              clearInterval(check);
              resolve(ack);
            }
          }, 10);
          this.ws.send(JSON.stringify({ ...cmd, id }));
        });
      },
      upsertFor(conversationId) {
        return this.frames.find((f) => f.type === 'event' && f.event === 'queue.upsert' && f.data.id === conversationId);
      },
    };
  });
  await page.evaluate((t) => window.raw.connect(t), token);
  await page.evaluate(() => window.raw.send({ type: 'subscribe', topics: ['queue'] }));
  const before = await ingest(srv.base, { customer: 'lena', name: 'Lena Vogel', text: 'Lovely crew today @SkyBridgeCare' });
  await page.waitForFunction((id) => window.raw.upsertFor(id), before.conversation_id);
  const lastSeq = await page.evaluate(() => window.raw.lastSeq);

  await restart();
  await page.evaluate(() => window.raw.ws.close());
  const helloSeq = await page.evaluate((t) => window.raw.connect(t), token);
  const ack = await page.evaluate((from) => window.raw.send({ type: 'subscribe', topics: ['queue'], resume_from: from }), lastSeq);
  const next = await ingest(srv.base, { customer: 'nia', name: 'Nia Brooks', text: '@SkyBridgeCare the app will not let me check in, help' });
  const got = await page
    .waitForFunction((id) => Boolean(window.raw.upsertFor(id)), next.conversation_id, { timeout: 5000 })
    .then(() => true, () => false);
  const resync = await page.evaluate(() => window.raw.frames.some((f) => f.type === 'resync'));
  assert.ok(
    got,
    `after the restart the server said hello with seq ${helloSeq} (the client had applied up to ${lastSeq}); ` +
      `subscribe with resume_from ${lastSeq} was acked with ${JSON.stringify(ack)}${resync ? ' and a resync' : ', no resync'}; ` +
      `the queue.upsert for conversation ${next.conversation_id}, stored after that, never arrived within 5 s`,
  );
});
