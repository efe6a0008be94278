// The forecast and staffing page (issue 27) against three weeks of history ingested through the
// API: a supervisor sees the forecast chart and the staffing chart, and a table of the staffing
// plan whose figures are the ones GET /api/v1/staffing gives for the same filters; the filters
// change what the page reads and what its CSV links download; an agent has no such page; the
// wallboard shows agents needed now against agents online now, red when fewer are on; and a
// burst of messages far above the forecast is shown as a warning on the page.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
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
  openWallboard,
  screenshot,
  teardown,
} from './harness.js';
import { axeBothThemes } from './floor-helpers.js';
import { axeViolations, ingestMany, message } from './workspace-helpers.js';

const HOUR = 3600 * 1000;
const HISTORY_DAYS = 21; // three weeks: enough for the daily and weekly seasons
// Customer messages per hour of the (UTC) day: quiet nights, a busy working day.
const PER_HOUR = [1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 2, 2, 2, 1, 1, 1];
const TEXTS = [
  'Can I add a checked bag to my booking?',
  'How do I change the date of my return flight?',
  'Is there a vegetarian meal on the morning flights?',
  'Where do I find my booking reference?',
  'Can my child travel with their own passport only?',
];
const FORECAST_CSV = 'hour,actual,forecast,lower,upper,day_ahead,holiday';
const STAFFING_CSV = 'hour,volume,load_erlangs,servers,agents_needed,service_level,asa_secs,occupancy,online,expected_online,status';
const STATUS_WORD = { under: 'Under-staffed', over: 'Over-staffed', ok: 'On target' };

let srv;
let browser;
let admin;
let billing;
let emptyDesk;
const tokens = {};
const pages = {};

/** Three weeks of customer messages, one new customer (so one new conversation) each, up to the hour before this one. */
function history() {
  const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
  const out = [];
  for (let back = 1; back <= HISTORY_DAYS * 24; back++) {
    const start = new Date(thisHour - back * HOUR);
    const weekend = start.getUTCDay() === 0 || start.getUTCDay() === 6;
    const n = weekend ? Math.ceil(PER_HOUR[start.getUTCHours()] / 2) : PER_HOUR[start.getUTCHours()];
    for (let k = 0; k < n; k++) {
      out.push(
        message({
          customer: `hist-${back}-${k}`,
          name: `Customer ${back}-${k}`,
          text: TEXTS[(back + k) % TEXTS.length],
          // One in three on Facebook (the Billing team's route), the rest on X.
          network: k % 3 === 0 ? 'facebook' : 'x',
          visibility: k % 2 ? 'private' : 'public',
          sentAt: new Date(start.getTime() + (k * 11 + 3) * 60 * 1000),
        }),
      );
    }
  }
  return out;
}

before(async () => {
  srv = new ChorusServer();
  await srv.start();
  browser = await launchBrowser();
  admin = await loginToken(srv.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  billing = await api(srv.base, 'POST', '/api/v1/teams', { token: admin, body: { name: 'Billing', routes: ['network:facebook'], auto_assign: false } });
  // A team nothing is routed to: no history of its own.
  emptyDesk = await api(srv.base, 'POST', '/api/v1/teams', { token: admin, body: { name: 'Empty desk', routes: [], auto_assign: false } });
  await createAgent(srv.base, admin, { email: 'sue@skybridge.example', name: 'Sue Park', roles: ['supervisor', 'agent'], capacity: 8 });
  await createAgent(srv.base, admin, { email: 'ana@skybridge.example', name: 'Ana Ruiz' });
  await createAgent(srv.base, admin, { email: 'wall@skybridge.example', name: 'Floor display', roles: ['wallboard'] });
  for (const who of ['sue', 'ana', 'wall']) tokens[who] = await loginToken(srv.base, `${who}@skybridge.example`, PASSWORD);
  const seeded = await ingestMany(srv.base, history());
  console.log(`history: ${seeded.length} conversations over ${HISTORY_DAYS} days`);
});

after(() => teardown({ srv, browser, pages, name: 'forecast' }));

// ---------------------------------------------------------------- helpers

const get = (path, token = tokens.sue) => api(srv.base, 'GET', path, { token });

/** Waits for the page's current read to end, and says why when it failed. */
async function settled(page) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#view-forecast').dataset.state), null, { timeout: 30000 });
  const [state, error] = await page.evaluate(() => [document.querySelector('#view-forecast').dataset.state, document.querySelector('#fc-error').textContent]);
  assert.equal(state, 'ready', `the page read the forecast and the staffing plan (${error})`);
}

/** Presses "Refresh now" and waits for the read. */
async function refresh(page) {
  await page.click('#fc-filters button[type="submit"]');
  await settled(page);
}

/** Changes a filter and waits for the read it starts. */
async function choose(page, selector, value) {
  await page.selectOption(selector, value);
  await settled(page);
}

const dash = (v) => (v == null ? '—' : String(v));
// Agents online: a count now, an average over an hour gone by (one decimal).
const agentsCount = (v) => (v == null ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(1));
const round6 = (v) => (v == null ? null : Math.round(v * 1e6) / 1e6);

/** The staffing table as the page shows it. */
function staffingTable(page) {
  return page.$$eval('#fc-staffing-rows tr', (trs) =>
    trs.map((tr) => ({
      hour: tr.dataset.hour,
      volume: tr.querySelector('.s-volume').textContent,
      needed: tr.querySelector('.s-needed').textContent,
      online: tr.querySelector('.s-online').textContent,
      expected: tr.querySelector('.s-expected').textContent,
      status: tr.dataset.status,
      words: tr.querySelector('.s-status').textContent.split(':')[0],
    })),
  );
}

/** The same table made from an answer of GET /api/v1/staffing. */
function tableOf(st) {
  return st.intervals.map((i) => ({
    hour: i.hour,
    volume: i.volume == null ? '—' : i.volume.toFixed(1),
    needed: dash(i.agents_needed),
    online: agentsCount(i.online),
    expected: agentsCount(i.expected_online),
    status: i.status ?? 'none',
    words: STATUS_WORD[i.status] ?? '—',
  }));
}

/** The data of a chart on the page (uPlot's: x in seconds, then each series). */
function chartData(page, selector) {
  return page.evaluate((sel) => {
    const chart = document.querySelector(sel).chart;
    return chart ? chart.data.map((series) => Array.from(series, (v) => (v == null ? null : Math.round(v * 1e6) / 1e6))) : null;
  }, selector);
}

function forecastSeries(fc) {
  const rows = fc.hours;
  return [
    rows.map((r) => Math.floor(Date.parse(r.hour) / 1000)),
    ...['actual', 'forecast', 'lower', 'upper', 'day_ahead'].map((k) => rows.map((r) => round6(r[k]))),
  ];
}

function staffingSeries(st) {
  const rows = st.intervals;
  return [rows.map((r) => Math.floor(Date.parse(r.hour) / 1000)), ...['agents_needed', 'online', 'expected_online'].map((k) => rows.map((r) => round6(r[k])))];
}

/**
 * What the page shows (`read()`) against what the API answers now (`expected()`), the same or
 * the test fails. An hour may turn between the page's read and the test's: then both read again.
 */
async function agrees(page, read, expected, what) {
  let shown;
  let wanted;
  for (let attempt = 0; attempt < 3; attempt++) {
    wanted = await expected();
    shown = await read();
    if (isDeepStrictEqual(shown, wanted)) return wanted;
    await refresh(page);
  }
  assert.deepEqual(shown, wanted, what);
  return wanted;
}

/** The last forecast and staffing requests the page made. */
function lastReads(seen) {
  const last = (path) => [...seen].reverse().find((u) => u.pathname === path);
  return { forecast: last('/api/v1/forecast'), staffing: last('/api/v1/staffing') };
}

const params = (url) => Object.fromEntries(url.searchParams);

// ---------------------------------------------------------------- tests

test('a supervisor sees the forecast and the staffing plan, with the figures the API gives', { timeout: 120000 }, async () => {
  const sue = (pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#forecast' }));
  assert.equal(await sue.getAttribute('#nav-forecast', 'aria-current'), 'page', 'the Forecast view is the one shown');
  assert.equal(await sue.isVisible('#view-forecast'), true);
  await settled(sue);

  // The forecast chart: a canvas, its legend, and the forecast's own figures.
  const fc = await agrees(sue, () => chartData(sue, '#fc-forecast-chart'), async () => forecastSeries(await get('/api/v1/forecast?days=7&level=0.8')), 'the forecast chart draws the API’s hours and figures');
  const full = await get('/api/v1/forecast?days=7&level=0.8');
  assert.notEqual(full.model, 'none', 'three weeks of history make a forecast');
  assert.equal(fc[0].length, 7 * 24, 'a week of hours from the start of today');
  assert.ok(fc[1].some((v) => v != null), 'today’s hours so far have actual counts');
  assert.ok(fc[2].every((v, i) => v != null || fc[1][i] != null), 'every hour not yet begun has a forecast');
  // The staffing chart: agents needed against online, per hour.
  await agrees(sue, () => chartData(sue, '#fc-staffing-chart'), async () => staffingSeries(await get('/api/v1/staffing?days=7')), 'the staffing chart draws the API’s intervals');
  const charts = await sue.evaluate(() =>
    ['#fc-forecast-chart', '#fc-staffing-chart'].map((sel) => {
      const el = document.querySelector(sel);
      const canvas = el.querySelector('canvas');
      return { drawn: !!canvas && canvas.width > 100 && canvas.height > 100 && canvas.getBoundingClientRect().width > 100, legend: [...el.querySelectorAll('.u-legend .u-label')].map((l) => l.textContent) };
    }),
  );
  assert.deepEqual(charts[0], { drawn: true, legend: ['Hour', 'Actual', 'Forecast', 'Low (80%)', 'High (80%)', 'Day-ahead forecast'] });
  assert.deepEqual(charts[1], { drawn: true, legend: ['Hour', 'Agents needed', 'Online', 'Expected online'] });

  // The staffing table: one row per interval, the API's figures in every row.
  const st = await agrees(sue, () => staffingTable(sue), async () => tableOf(await get('/api/v1/staffing?days=7')), 'the staffing table shows the API’s intervals');
  assert.ok(st.length > 0, 'a week has hours to plan');
  assert.equal(await sue.locator('#fc-staffing-rows th[scope="row"]').count(), st.length, 'each row is headed by its hour');
  assert.equal(await sue.locator('.fc-staffing-table thead th[scope="col"]').count(), 11);

  // The inputs in words, and needed now against online now.
  const plan = await get('/api/v1/staffing?days=7');
  const inputs = await sue.innerText('#fc-inputs');
  assert.match(inputs, new RegExp(`${Math.round(plan.target_share * 100)}% of first responses within`));
  assert.match(inputs, { measured: /measured from the agents/, default: /a default/, given: /as given/ }[plan.aht_source] ?? /^$/);
  assert.match(inputs, new RegExp(`${plan.concurrency} conversations at once per agent`));
  if (plan.policy) assert.ok(inputs.includes(plan.policy.name), `the policy's name (${plan.policy.name}) in: ${inputs}`);
  else assert.match(inputs, /none applies/);
  assert.ok(inputs.includes(full.model), `the model (${full.model}) in: ${inputs}`);
  assert.ok((await sue.textContent('#fc-model')).includes(full.model));
  if (plan.now) {
    const now = await sue.textContent('#fc-now');
    assert.match(now, new RegExp(`${plan.now.needed} agents? needed, ${plan.now.online ?? '—'} online`));
  }
  assert.equal(await sue.isVisible('#fc-empty'), false, 'no "not enough history" note with three weeks of history');

  // The CSV links: the same endpoints and filters, as CSV.
  const forecastCsv = new URL(await sue.getAttribute('#fc-csv-forecast', 'href'), srv.base);
  const staffingCsv = new URL(await sue.getAttribute('#fc-csv-staffing', 'href'), srv.base);
  assert.equal(forecastCsv.pathname, '/api/v1/forecast');
  assert.deepEqual(params(forecastCsv), { days: '7', level: '0.8', format: 'csv' });
  assert.equal(staffingCsv.pathname, '/api/v1/staffing');
  assert.deepEqual(params(staffingCsv), { days: '7', format: 'csv' });

  // The warning shows exactly when the API reports an hour outside its interval.
  await agrees(
    sue,
    async () => ({ warning: await sue.isVisible('#fc-outside') }),
    async () => ({ warning: (await get('/api/v1/forecast?days=7&level=0.8')).outside != null }),
    'the warning shows exactly when the API has one',
  );
  await screenshot(sue, 'forecast', { copyTo: 'docs/screenshots/forecast.png' });
});

test('the filters change what the page reads, and the CSV links download that', { timeout: 120000 }, async () => {
  const sue = pages.sue;
  const seen = [];
  sue.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/forecast' || u.pathname === '/api/v1/staffing') seen.push(u);
  });

  await choose(sue, '#fc-network', 'facebook');
  let reads = lastReads(seen);
  assert.deepEqual(params(reads.forecast), { network: 'facebook', days: '7', level: '0.8' });
  assert.deepEqual(params(reads.staffing), { network: 'facebook', days: '7' });
  await agrees(sue, () => staffingTable(sue), async () => tableOf(await get('/api/v1/staffing?network=facebook&days=7')), 'Facebook’s staffing plan');

  await choose(sue, '#fc-team', String(billing.id));
  await choose(sue, '#fc-days', '2');
  await choose(sue, '#fc-level', '0.95');
  reads = lastReads(seen);
  const team = String(billing.id);
  assert.deepEqual(params(reads.forecast), { team_id: team, network: 'facebook', days: '2', level: '0.95' });
  assert.deepEqual(params(reads.staffing), { team_id: team, network: 'facebook', days: '2' }, 'the staffing plan takes no level');
  const rows = await agrees(sue, () => staffingTable(sue), async () => tableOf(await get(`/api/v1/staffing?team_id=${team}&network=facebook&days=2`)), 'Billing’s staffing plan on Facebook for two days');
  assert.ok(rows.length > 0);
  await agrees(
    sue,
    () => chartData(sue, '#fc-forecast-chart'),
    async () => forecastSeries(await get(`/api/v1/forecast?team_id=${team}&network=facebook&days=2&level=0.95`)),
    'the forecast chart of those filters',
  );
  assert.ok((await sue.$$eval('#fc-forecast-chart .u-legend .u-label', (ls) => ls.map((l) => l.textContent))).includes('High (95%)'));

  // The CSV links follow the filters, and download (with the session's token) what the API gives.
  const forecastCsv = new URL(await sue.getAttribute('#fc-csv-forecast', 'href'), srv.base);
  const staffingCsv = new URL(await sue.getAttribute('#fc-csv-staffing', 'href'), srv.base);
  assert.deepEqual(params(forecastCsv), { team_id: team, network: 'facebook', days: '2', level: '0.95', format: 'csv' });
  assert.deepEqual(params(staffingCsv), { team_id: team, network: 'facebook', days: '2', format: 'csv' });
  for (const [link, header, path, key] of [
    ['#fc-csv-forecast', FORECAST_CSV, `/api/v1/forecast?team_id=${team}&network=facebook&days=2&level=0.95`, 'hours'],
    ['#fc-csv-staffing', STAFFING_CSV, `/api/v1/staffing?team_id=${team}&network=facebook&days=2`, 'intervals'],
  ]) {
    const [download] = await Promise.all([sue.waitForEvent('download'), sue.click(link)]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const lines = readFileSync(await download.path(), 'utf8').trim().split('\n');
    assert.equal(lines[0].replace(/^\uFEFF/, '').trim(), header);
    assert.equal(lines.length - 1, (await get(path))[key].length, `one CSV line per ${key === 'hours' ? 'hour' : 'interval'}`);
  }
  assert.equal(await sue.textContent('#fc-error'), '');

  // "Only under- or over-staffed hours" keeps those.
  await sue.check('#fc-flagged');
  const flagged = await staffingTable(sue);
  assert.deepEqual(flagged, rows.filter((r) => r.status === 'under' || r.status === 'over'));
  await sue.uncheck('#fc-flagged');
  assert.equal((await staffingTable(sue)).length, rows.length);

  // A team with no history of its own: the page says so when the API has no model for it.
  await choose(sue, '#fc-network', '');
  await choose(sue, '#fc-team', String(emptyDesk.id));
  const none = await get(`/api/v1/forecast?team_id=${emptyDesk.id}&days=2&level=0.95`);
  if (none.model === 'none') {
    assert.equal(await sue.isVisible('#fc-empty'), true);
    assert.match(await sue.textContent('#fc-empty'), /Not enough history to forecast yet/);
  } else {
    assert.equal(await sue.isVisible('#fc-empty'), false, `model ${none.model}: no "not enough history" note`);
  }
  await agrees(sue, () => staffingTable(sue), async () => tableOf(await get(`/api/v1/staffing?team_id=${emptyDesk.id}&days=2`)), 'the empty team’s staffing plan');

  await choose(sue, '#fc-team', '');
  await choose(sue, '#fc-days', '7');
  await choose(sue, '#fc-level', '0.8');
});

/** axe in both themes (the forecast table open too), the legend by keyboard, and "g f". */
async function a11yAndKeyboard(page) {
  await settled(page);
  await page.click('.fc-details summary');
  assert.deepEqual(await axeBothThemes(page, axeViolations), [], 'no serious or critical axe violation');
  // Hiding the forecast line with the keyboard, as a click on its name would.
  const label = page.locator('#fc-forecast-chart .u-legend tr.u-series').nth(2).locator('.u-label');
  assert.equal(await label.textContent(), 'Forecast');
  assert.equal(await label.getAttribute('aria-pressed'), 'true');
  await label.focus();
  await page.keyboard.press('Enter');
  assert.equal(await label.getAttribute('aria-pressed'), 'false');
  assert.equal(await page.evaluate(() => document.querySelector('#fc-forecast-chart').chart.series[2].show), false);
  // "g f" goes to the page from elsewhere.
  await page.click('#nav-supervisor');
  await page.locator('#main').focus();
  await page.keyboard.press('g');
  await page.keyboard.press('f');
  await page.waitForFunction(() => location.hash === '#forecast' && !document.querySelector('#view-forecast').hidden);
}

test('the page has no serious accessibility fault, and its legend works from the keyboard', { timeout: 120000 }, async () => {
  const page = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#forecast', contextOptions: { bypassCSP: true } });
  pages.sueA11y = page;
  try {
    await a11yAndKeyboard(page);
  } finally {
    // Signed out again: the wallboard test counts who is online.
    await page.context().close();
  }
});

test('the page reads the figures again every five minutes', { timeout: 120000 }, async () => {
  const page = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#forecast', setup: (_, p) => p.clock.install() });
  pages.sueClock = page;
  try {
    await settled(page);
    const reads = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/forecast' || u.pathname === '/api/v1/staffing') reads.push(u.pathname);
    });
    await page.clock.fastForward('04:50');
    await page.waitForTimeout(500);
    assert.deepEqual(reads, [], 'not before five minutes');
    await page.clock.fastForward('00:15');
    await eventually(() => reads.includes('/api/v1/forecast') && reads.includes('/api/v1/staffing'), { what: 'the five-minute read' });
    await settled(page);
  } finally {
    // Signed out again: the wallboard test counts who is online.
    await page.context().close();
  }
});

test('an agent has no Forecast view, and the API refuses them the figures', async () => {
  const ana = (pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example', undefined, { hash: '#forecast' }));
  assert.equal(await ana.locator('#nav-forecast').count(), 0, 'no Forecast entry in the views');
  assert.equal(await ana.isVisible('#view-forecast'), false, 'asking for it by address shows the queue instead');
  assert.equal(await ana.isVisible('#view-agent'), true);
  await assert.rejects(get('/api/v1/forecast', tokens.ana), (e) => e.status === 403);
  await assert.rejects(get('/api/v1/staffing', tokens.ana), (e) => e.status === 403);
});

/** The wallboard's tile and the live figures agree (ticks may come at any time: read both until they do). */
async function tileMatches(wb, { online } = {}) {
  let figures;
  let tile;
  try {
    await eventually(
      async () => {
        figures = await get('/api/v1/metrics/live', tokens.wall);
        tile = await wb.evaluate(() => {
          const t = document.querySelector('#wb-staffing-tile');
          return { hidden: t.hidden, text: t.querySelector('.value').textContent, bad: t.classList.contains('bad') };
        });
        const s = figures.staffing;
        if (!s || (online !== undefined && s.online !== online)) return false;
        return isDeepStrictEqual(tile, { hidden: false, text: `${s.needed} / ${s.online}`, bad: s.online < s.needed });
      },
      // A minute at most: the figures may be worked out once a minute.
      { timeoutMs: 65000, everyMs: 250, what: `the wallboard's needed/online tile to show the live figures${online === undefined ? '' : ` with ${online} online`}` },
    );
  } catch (e) {
    throw new Error(`${e.message}; live figures' staffing ${JSON.stringify(figures?.staffing)}, agents ${JSON.stringify(figures?.agents)}; tile ${JSON.stringify(tile)}`);
  }
  return figures.staffing;
}

test('the wallboard shows agents needed now against agents online now, red when fewer are on', { timeout: 240000 }, async () => {
  const first = await get('/api/v1/metrics/live', tokens.wall);
  assert.ok(first.staffing, 'with three weeks of history the live figures carry a staffing figure');
  pages.wall = await openWallboard(browser, srv.base, tokens.wall);
  const start = await tileMatches(pages.wall);
  console.log(`needed now ${start.needed}, online now ${start.online}`);
  assert.ok(start.needed > 0, 'this hour has work forecast, so someone is needed');

  // Everyone signs out: nobody is online, fewer than needed — the tile turns red.
  pages.sueEarlier = pages.sue;
  pages.anaEarlier = pages.ana;
  await pages.sue.context().close();
  await pages.ana.context().close();
  const nobody = await tileMatches(pages.wall, { online: 0 });
  assert.equal(await pages.wall.evaluate(() => document.querySelector('#wb-staffing-tile').classList.contains('bad')), nobody.online < nobody.needed);
  assert.equal(nobody.online < nobody.needed, true);
  assert.match(await pages.wall.getAttribute('#wb-staffing-tile', 'title'), new RegExp(`${nobody.needed} agents? needed now, 0 online`));

  // An agent signs in: the tile follows without a reload.
  await pages.wall.evaluate(() => (window.__noReload = true));
  pages.ana = await consolePage(browser, srv.base, 'ana@skybridge.example');
  await tileMatches(pages.wall, { online: 1 });
  assert.equal(await pages.wall.evaluate(() => window.__noReload), true, 'the wallboard was not reloaded');
  await screenshot(pages.wall, 'forecast-wallboard');
});

test('a burst far above the forecast shows as a warning on the page', { timeout: 120000 }, async () => {
  const sue = (pages.sue = await consolePage(browser, srv.base, 'sue@skybridge.example', undefined, { hash: '#forecast' }));
  await settled(sue);
  // Sixty new customers in minutes, where the history has at most four an hour.
  const now = Date.now();
  await ingestMany(
    srv.base,
    Array.from({ length: 60 }, (_, i) =>
      message({ customer: `burst-${i}`, name: `Burst ${i}`, text: `${TEXTS[i % TEXTS.length]} (${i})`, sentAt: new Date(Math.max(Math.floor(now / HOUR) * HOUR, now - (60 - i) * 1000)) }),
    ),
  );
  const fc = await eventually(
    async () => {
      const f = await get('/api/v1/forecast?days=7&level=0.8');
      // (The hour before may be outside too, below: the burst is above, in this hour.)
      return f.outside?.direction === 'above' && f.outside.actual >= 60 ? f : null;
    },
    { timeoutMs: 30000, everyMs: 500, what: 'the API to report the hour outside its prediction interval' },
  );
  assert.equal(fc.outside.direction, 'above');
  assert.ok(fc.outside.actual > fc.outside.upper);
  // The page shows it (at once when the alert comes; "Refresh now" does not wait for it).
  if (!(await sue.isVisible('#fc-outside'))) await refresh(sue);
  await agrees(
    sue,
    () =>
      sue.evaluate(() => {
        const box = document.querySelector('#fc-outside');
        const m = /^Volume (above|below) its forecast\. (\d+) /.exec(box.textContent);
        return { shown: !box.hidden, direction: m?.[1] ?? null, actual: m ? Number(m[2]) : null };
      }),
    async () => {
      const o = (await get('/api/v1/forecast?days=7&level=0.8')).outside;
      return { shown: true, direction: o?.direction ?? null, actual: o?.actual ?? null };
    },
    'the warning gives the API’s count for the hour outside its interval',
  );
  assert.equal(await sue.getAttribute('#fc-outside', 'role'), 'alert');
  await screenshot(sue, 'forecast-outside');
});
