// Test harness: the real `chorus serve` binary on a free port with a fresh SQLite file, REST
// helpers to set the scene (agents, customer messages, rules), and Debian's Chromium through
// playwright-core.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const BIN = process.env.CHORUS_BIN || path.join(repoRoot, 'target/debug/chorus');
export const SHOTS = path.join(repoRoot, 'target/e2e');
export const ADMIN_EMAIL = 'admin@localhost';
export const ADMIN_PASSWORD = 'admin-password-e2e';
export const INGEST_KEY = 'ingest-key-e2e';
export const PASSWORD = 'agent-password-e2e';

/** A port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One `chorus serve` process. `start()` resolves once it logs that it listens, and throws with
 * the whole log if it exits or stays silent; `kill()` and `stop()` end it.
 */
export class ChorusServer {
  constructor({ dir = mkdtempSync(path.join(os.tmpdir(), 'chorus-e2e-')), port = 0, env = {} } = {}) {
    this.dir = dir;
    this.port = port;
    this.env = env;
    this.log = '';
    this.proc = null;
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  get dbPath() {
    return path.join(this.dir, 'chorus.db');
  }

  /** Starts the server; again after `kill()`/`stop()`, on the same port and database file. */
  async start(timeoutMs = 60000) {
    if (this.log) this.log += '\n--- restarted ---\n';
    const logStart = this.log.length;
    // CHORUS_BIN names the binary for the tests; the server refuses CHORUS_* keys it does not know.
    const { CHORUS_BIN: _bin, ...parentEnv } = process.env;
    const env = {
      ...parentEnv,
      DATABASE_URL: `sqlite://${this.dbPath}?mode=rwc`,
      CHORUS_BIND: `127.0.0.1:${this.port}`,
      CHORUS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CHORUS_INGEST_API_KEY: INGEST_KEY,
      CHORUS_LOG_FORMAT: 'text',
      NO_COLOR: '1',
      ...this.env,
    };
    const proc = spawn(BIN, ['serve'], { env, cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    const listening = new Promise((resolve, reject) => {
      const onData = (chunk) => {
        this.log += chunk.toString();
        // Strip colour codes before looking for the line.
        const m = this.log.slice(logStart).replace(/\x1b\[[0-9;]*m/g, '').match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
        if (m) resolve(Number(m[1]));
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('error', (e) => reject(new Error(`cannot run ${BIN}: ${e.message}`)));
      this.exited.then(({ code, signal }) => reject(new Error(`chorus exited (code ${code}, signal ${signal}) before listening`)));
      setTimeout(() => reject(new Error(`chorus did not say it listens within ${timeoutMs} ms`)), timeoutMs).unref();
    });
    try {
      this.port = await listening;
    } catch (e) {
      proc.kill('SIGKILL');
      throw new Error(`${e.message}\n--- server log (${BIN}) ---\n${this.log}\n--- end of server log ---`);
    }
    return this;
  }

  /** SIGKILL: a crash, nothing said to the sessions. */
  async kill() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: an orderly stop (sessions get `shutdown`). */
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    await this.exited;
    clearTimeout(t);
  }

  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** REST call; throws with the status and body on anything but 2xx. */
export async function api(base, method, pathname, { token, body, apiKey } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (apiKey) headers['X-Api-Key'] = apiKey;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + pathname, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const e = new Error(`${method} ${pathname} → ${res.status} ${text}`);
    e.status = res.status;
    e.body = data;
    throw e;
  }
  return data;
}

export async function loginToken(base, email, password) {
  return (await api(base, 'POST', '/api/v1/auth/login', { body: { email, password } })).token;
}

/** Creates an agent (as the admin) and returns it. */
export async function createAgent(base, adminToken, { email, name, roles = ['agent'], capacity = 5 }) {
  return api(base, 'POST', '/api/v1/agents', { token: adminToken, body: { email, name, password: PASSWORD, roles, capacity } });
}

let messageCounter = 0;
/**
 * Ingests one customer message, sent now unless `sentAt` (a Date) says otherwise, to the
 * SkyBridge Care account on X unless `brand` ({id, name}) and `network` say otherwise;
 * `inReplyTo` is the network's id of the message it answers. Returns {message_id,
 * conversation_id, platform_message_id}.
 */
export async function ingest(base, { customer, text, network = 'x', visibility = 'public', name, sentAt, brand, inReplyTo }) {
  messageCounter += 1;
  const msg = {
    network,
    brand_account: brand || { id: 'brand-1', name: 'SkyBridge Care' },
    customer: { id: customer, handle: `@${customer}`, name: name || customer },
    direction: 'inbound',
    visibility,
    platform_message_id: `e2e-${process.pid}-${Date.now()}-${messageCounter}`,
    text,
    sent_at: (sentAt || new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  if (inReplyTo !== undefined) msg.in_reply_to = inReplyTo;
  const res = await api(base, 'POST', '/api/v1/ingest/messages', { apiKey: INGEST_KEY, body: [msg] });
  const r = res.results[0];
  if (r.status !== 'stored') throw new Error(`ingest: ${JSON.stringify(r)}`);
  return { ...r, platform_message_id: msg.platform_message_id };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A fresh browser context signed in to the console as `email`; page errors are collected in
 * `page.errors` so a test can assert the page never threw. `contextOptions` go to the browser
 * context (e.g. `bypassCSP` to inject axe, `permissions`).
 */
export async function consolePage(browser, base, email, password = PASSWORD, { hash = '', viewport = { width: 1440, height: 900 }, setup = null, contextOptions = {} } = {}) {
  const context = await browser.newContext({ viewport, ...contextOptions });
  const page = await context.newPage();
  watchErrors(page);
  if (setup) await setup(context, page);
  await page.goto(`${base}/${hash}`);
  await page.fill('#login-email', email);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 15000 });
  return page;
}

/**
 * Keeps every frame the page's WebSockets receive (batches unpacked) in `page.liveFrames`, so a
 * test can check what the server said. Call it before the page connects (consolePage's `setup`).
 */
export function recordLiveFrames(page) {
  page.liveFrames = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      let f;
      try {
        f = JSON.parse(payload);
      } catch {
        return;
      }
      for (const e of f.type === 'batch' ? f.events : [f]) page.liveFrames.push(e);
    }),
  );
}

/** A wallboard page signed in with a token in its URL; `query` adds parameters (e.g. brand_account_id). */
export async function openWallboard(browser, base, token, { query = {}, viewport = { width: 1920, height: 1080 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  watchErrors(page);
  const params = new URLSearchParams({ token, ...query });
  await page.goto(`${base}/wallboard?${params}`);
  await page.waitForSelector('#wb-conn[data-state="live"]', { timeout: 15000 });
  return page;
}

export function watchErrors(page) {
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
}

/**
 * Saves a screenshot under target/e2e/, prints its path, and returns it. With
 * CHORUS_E2E_UPDATE_DOCS=1 it also refreshes the README's copy (`copyTo`), so ordinary runs leave
 * the working tree untouched.
 */
export async function screenshot(page, name, { copyTo } = {}) {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  console.log(`screenshot: ${file}`);
  if (copyTo && process.env.CHORUS_E2E_UPDATE_DOCS === '1') {
    const dest = path.join(repoRoot, copyTo);
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(file, dest);
    console.log(`copied to: ${dest}`);
  }
  return file;
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually(fn, { timeoutMs = 5000, everyMs = 50, what = 'condition' } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Ends a test file: closes the browser, stops the server (its log saved as
 * `target/e2e/<name>-server.log`) and fails if any page logged an error (but those `ignore`
 * matches: e.g. the browser's own line for a refusal the test provoked on purpose).
 */
export async function teardown({ srv, browser, pages, name, ignore = null }) {
  await browser?.close();
  await srv?.stop();
  if (srv) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, `${name}-server.log`), srv.log);
    srv.cleanup();
  }
  const errors = Object.entries(pages)
    .flatMap(([who, p]) => (p.errors || []).map((e) => `${who}: ${e}`))
    .filter((e) => !ignore || !ignore.test(e));
  if (errors.length) throw new Error(`pages logged errors:\n${errors.join('\n')}`);
}
