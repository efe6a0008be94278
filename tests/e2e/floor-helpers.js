// Helpers for the floor, approvals and alerts tests (issue 25): an agent signed in over the
// WebSocket alone (no console: a bare page at the server's origin holding one live session), to
// script a shift — claim, reply, resolve, go away — as an agent's console would, cheaply.

import { watchErrors } from './harness.js';

/**
 * An agent's live session: `send(command)` resolves with the ack (or rejects with the error
 * frame), `frames` lists every frame received, `close()` ends the session.
 */
export async function wsAgent(browser, base, token) {
  const context = await browser.newContext();
  const page = await context.newPage();
  watchErrors(page);
  await page.goto(`${base}/healthz`);
  await page.evaluate(
    (url) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        window.__ws = ws;
        window.__frames = [];
        window.__waiting = new Map();
        let n = 0;
        window.__send = (command) =>
          new Promise((res, rej) => {
            const id = `t${++n}`;
            window.__waiting.set(id, { res, rej });
            ws.send(JSON.stringify({ ...command, id }));
          });
        ws.onmessage = (m) => {
          const f = JSON.parse(m.data);
          for (const e of f.type === 'batch' ? f.events : [f]) {
            window.__frames.push(e);
            const w = window.__waiting.get(e.id);
            if (w && (e.type === 'ack' || e.type === 'error')) {
              window.__waiting.delete(e.id);
              if (e.type === 'ack') w.res(e);
              else w.rej(new Error(`${e.code}: ${e.message}`));
            }
            if (e.type === 'hello') resolve();
          }
        };
        ws.onerror = () => reject(new Error('websocket error'));
      }),
    `${base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`,
  );
  return {
    page,
    send: (command) => page.evaluate((c) => window.__send(c), command),
    frames: () => page.evaluate(() => window.__frames),
    close: () => context.close(),
  };
}

/** Claims conversation `id` for the agent; resolves with the fence token. */
export async function claim(agent, id) {
  const ack = await agent.send({ type: 'claim', conversation_id: id });
  return ack.claim.fence_token;
}

/** Sends a public reply on `id` (held by the agent with `fence`); resolves with the Reply. */
export async function reply(agent, id, fence, text, visibility = 'public') {
  const ack = await agent.send({ type: 'reply', conversation_id: id, fence_token: fence, text, visibility, idempotency_key: `${id}-${fence}-${text.length}-${Math.random()}` });
  return ack.reply;
}

export async function resolve(agent, id, fence) {
  return agent.send({ type: 'resolve', conversation_id: id, fence_token: fence });
}

/** The text of every cell of an agent's row on the floor, by its class (f-held, f-replies…). */
export function agentCells(page, agentId) {
  return page.evaluate((id) => {
    const tr = document.querySelector(`#agents-rows tr[data-agent-id="${id}"]`);
    if (!tr) return null;
    const out = { status: tr.dataset.status };
    for (const cell of tr.querySelectorAll('td, th')) {
      const cls = [...cell.classList].find((c) => c.startsWith('f-'));
      if (cls) out[cls.slice(2)] = cell.querySelector('.status-text')?.textContent ?? cell.textContent.trim();
    }
    out.timeline = tr.querySelector('.timeline')?.getAttribute('aria-label') ?? null;
    return out;
  }, agentId);
}

/**
 * axe-core's serious and critical violations on the page as it is, in the light and then the
 * dark theme (the context needs `bypassCSP: true`); the page's own theme is put back after.
 */
export async function axeBothThemes(page, axeViolations) {
  const found = [];
  const was = await page.evaluate(() => document.documentElement.dataset.theme ?? null);
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    for (const v of await axeViolations(page)) found.push({ theme, ...v });
  }
  await page.evaluate((t) => {
    if (t == null) delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = t;
  }, was);
  return found;
}
