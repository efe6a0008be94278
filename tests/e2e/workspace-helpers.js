// Helpers for the agent workspace tests: many customer messages in one ingest request, the queue
// rows in view, axe-core (accessibility) and long tasks in the page.

import { createRequire } from 'node:module';
import { INGEST_KEY, api } from './harness.js';

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');

let counter = 0;

/** One normalized customer message (docs/protocol.md), sent now unless `sentAt` says otherwise. */
export function message({ customer, name, text, network = 'x', visibility = 'public', sentAt, language, handle, brand }) {
  counter += 1;
  const m = {
    network,
    brand_account: brand || { id: 'brand-1', name: 'SkyBridge Care' },
    customer: { id: customer, handle: handle ?? `@${customer}`, name: name || customer },
    direction: 'inbound',
    visibility,
    platform_message_id: `ws-${process.pid}-${Date.now()}-${counter}`,
    text,
    sent_at: (sentAt || new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  if (language) m.language = language;
  return m;
}

/** Ingests `messages` in requests of at most 1,000; returns every result, in order. */
export async function ingestMany(base, messages) {
  const results = [];
  for (let i = 0; i < messages.length; i += 1000) {
    const res = await api(base, 'POST', '/api/v1/ingest/messages', { apiKey: INGEST_KEY, body: messages.slice(i, i + 1000) });
    for (const r of res.results) {
      if (r.status !== 'stored') throw new Error(`ingest: ${JSON.stringify(r)}`);
      results.push(r);
    }
  }
  return results;
}

/** The queue rows wholly in view, in list order: [conversation id…] (once the frames in flight are drawn). */
export async function rowsInView(page) {
  await frames(page);
  await frames(page);
  return page.evaluate(() => {
    const box = document.querySelector('#queue-scroll').getBoundingClientRect();
    return [...document.querySelectorAll('#queue-list > li')]
      .map((li) => ({ li, r: li.getBoundingClientRect() }))
      .filter(({ r }) => r.height > 0 && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5)
      .sort((a, b) => a.r.top - b.r.top)
      .map(({ li }) => Number(li.dataset.conversationId));
  });
}

/** Every queue row in the page, in list order (for short queues: all of them). */
export function listedIds(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#queue-list > li')]
      .sort((a, b) => Number(a.getAttribute('aria-posinset')) - Number(b.getAttribute('aria-posinset')))
      .map((li) => Number(li.dataset.conversationId)),
  );
}

/**
 * Runs axe-core on the page (the context needs `bypassCSP: true`, the console's CSP allows no
 * injected script) and returns the serious and critical violations, each with where it is.
 */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Starts recording long tasks (over 50 ms) in the page: read them with longTasks(page). */
export async function watchLongTasks(page) {
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: Math.round(e.startTime), duration: Math.round(e.duration) });
    }).observe({ type: 'longtask', buffered: false });
  });
}

export function longTasks(page) {
  return page.evaluate(() => window.__longTasks || []);
}

/** Waits for the next two animation frames (what a scroll or a key press drew is on screen). */
export function frames(page) {
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}
