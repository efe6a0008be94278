// The supervisor's forecast page (issue 27): the inbound work forecast hour by hour with its
// prediction interval and the actuals against it (GET /api/v1/forecast), and the staffing plan —
// the agents each hour needs to meet the SLA target with that volume, against the agents online
// or expected online, under- and over-staffed hours flagged (GET /api/v1/staffing) — for one
// team and network or all of them, some days ahead. Both are read when the page is shown, every
// five minutes while it is, at once when a filter changes, and when a `volume_off_forecast`
// alert arrives. Both can be downloaded as CSV with the same filters.
//
// The charts are forecast-charts.js; the figures, the tables and the filters are here.

import { query } from './api.js';
import { exportFile } from './archive.js';
import { plainError } from './errors.js';
import { chartFailed, clearChart, drawForecast, drawStaffing, hourLabel } from './forecast-charts.js';
import { $, h, percent, reconcile, replaceChildren, setText, when } from './util.js';

let ctx;
const READ_EVERY_MS = 5 * 60 * 1000;
let ready = false; // the console's shared lists are loaded: the page may read
let stale = true; // something is to be read the next time the page is shown
let generation = 0; // the newest read: an older answer that comes later is dropped
let readAt = 0;
let answers = { forecast: null, staffing: null }; // what the page shows
let chartsDue = false; // answers came while the page was hidden: draw when it shows

const STATUS = { under: 'Under-staffed', over: 'Over-staffed', ok: 'On target' };
const AHT_SOURCE = {
  measured: 'measured from the agents’ handling',
  default: 'a default (not enough handling measured yet)',
  given: 'as given',
};

export function init(c) {
  ctx = c;
  const section = $('#view-forecast');
  for (const id of ['#fc-team', '#fc-network', '#fc-days', '#fc-level']) {
    $(id).addEventListener('change', () => {
      updateLinks();
      if (shown()) refresh();
      else stale = true;
    });
  }
  $('#fc-filters').addEventListener('submit', (e) => {
    e.preventDefault();
    refresh();
  });
  $('#fc-flagged').addEventListener('change', () => renderStaffingRows());
  for (const [id, name] of [
    ['#fc-csv-forecast', 'forecast.csv'],
    ['#fc-csv-staffing', 'staffing.csv'],
  ]) {
    const link = $(id);
    // The API wants the bearer token: the file is fetched here and handed to the browser.
    link.addEventListener('click', (e) => {
      e.preventDefault();
      exportFile(link.getAttribute('href'), name, link, $('#fc-error')).then((file) => file && ctx.announce(`Downloaded ${file}.`));
    });
  }
  updateLinks();

  // Shown: read if something changed meanwhile or the figures are old; draw what came while hidden.
  new MutationObserver(() => {
    if (section.hidden) return;
    if (ready && (stale || Date.now() - readAt > READ_EVERY_MS)) refresh();
    else if (chartsDue) drawCharts();
  }).observe(section, { attributes: true, attributeFilter: ['hidden'] });
  // The charts take the theme's colours.
  new MutationObserver(() => {
    if (shown()) drawCharts();
    else chartsDue = true;
  }).observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  setInterval(() => {
    if (shown()) refresh();
    else stale = true;
  }, READ_EVERY_MS);
  document.addEventListener('visibilitychange', () => {
    if (shown() && ready && Date.now() - readAt > READ_EVERY_MS) refresh();
  });
  // Actual volume left its forecast: the page says so at once.
  ctx.live.on('alert.raised', (a) => {
    if (a.kind !== 'volume_off_forecast') return;
    if (shown()) refresh();
    else stale = true;
  });
  // On every (re)connection, after the teams are read: the filter lists them, and the figures
  // are read again (the page may have missed an hour's worth of change).
  ctx.loaders.push(async () => {
    ready = true;
    fillTeams();
    if (shown()) refresh();
    else stale = true;
  });
}

function shown() {
  return !$('#view-forecast').hidden && document.visibilityState === 'visible';
}

// ---------------------------------------------------------------- filters and reading

function fillTeams() {
  const select = $('#fc-team');
  const teams = [...ctx.teams.values()].sort((a, b) => a.name.localeCompare(b.name));
  const wanted = ['', ...teams.map((t) => String(t.id))].join('|');
  if ([...select.options].map((o) => o.value).join('|') === wanted) return;
  const keep = select.value;
  replaceChildren(select, h('option', { value: '' }, 'Every team'), teams.map((t) => h('option', { value: t.id }, t.name)));
  select.value = teams.some((t) => String(t.id) === keep) ? keep : '';
}

/** The filters both endpoints take. */
function filters() {
  return { team_id: $('#fc-team').value, network: $('#fc-network').value, days: $('#fc-days').value };
}

function forecastPath(format) {
  return `/api/v1/forecast${query({ ...filters(), level: $('#fc-level').value, format })}`;
}

function staffingPath(format) {
  return `/api/v1/staffing${query({ ...filters(), format })}`;
}

/** The CSV links say the filters on screen. */
function updateLinks() {
  $('#fc-csv-forecast').setAttribute('href', forecastPath('csv'));
  $('#fc-csv-staffing').setAttribute('href', staffingPath('csv'));
}

/** Reads both figures for the filters on screen; the newest read wins. */
async function refresh() {
  const mine = ++generation;
  stale = false;
  const section = $('#view-forecast');
  const paths = { forecast: forecastPath(), staffing: staffingPath() };
  section.dataset.state = 'loading';
  section.setAttribute('aria-busy', 'true');
  setText($('#fc-updated'), 'Reading the forecast…');
  const [fc, st] = await Promise.allSettled([ctx.api.get(paths.forecast), ctx.api.get(paths.staffing)]);
  if (mine !== generation) return;
  readAt = Date.now();
  section.removeAttribute('aria-busy');
  answers = { forecast: fc.status === 'fulfilled' ? fc.value : null, staffing: st.status === 'fulfilled' ? st.value : null };
  const failed = [fc.status === 'rejected' && ['forecast', fc.reason], st.status === 'rejected' && ['staffing plan', st.reason]].filter(Boolean);
  setText($('#fc-error'), failed.map(([what, e]) => `The ${what} could not be read: ${failureText(e)}`).join(' '));
  renderForecast();
  renderStaffing();
  renderUpdated(failed.length === 2);
  section.dataset.forecastPath = paths.forecast;
  section.dataset.staffingPath = paths.staffing;
  if (shown()) await drawCharts();
  else chartsDue = true;
  if (mine === generation) section.dataset.state = failed.length ? 'error' : 'ready';
}

function failureText(e) {
  if (e?.status === 404 && e.code !== 'not_found') return 'this server has no forecast yet (it needs a newer Chorus).';
  return plainError(e, ctx.agentName);
}

function renderUpdated(nothing) {
  const fc = answers.forecast;
  const at = fc?.generated_at || answers.staffing?.generated_at;
  setText($('#fc-updated'), nothing || !at ? '' : `Made at ${when(at)}; read again every 5 minutes and when a filter changes.`);
}

// ---------------------------------------------------------------- the forecast

/** A model's name in words: "mstl(24,168)+ets" is MSTL with daily and weekly seasons. */
export function modelWords(model) {
  if (!model) return 'unknown';
  if (model === 'none') return 'none yet (not enough history)';
  if (model === 'seasonal_naive') return 'seasonal naive: each hour as the same hour the day before';
  if (model === 'seasonal_naive(168)') return 'seasonal naive: each hour as the same hour a week before';
  const m = /^mstl\(([\d,\s]+)\)\+ets$/.exec(model);
  if (m) {
    const seasons = m[1].split(',').map((p) => ({ 24: 'daily', 168: 'weekly' })[p.trim()] ?? `${p.trim()}-hour`);
    return `MSTL with ${seasons.join(' and ')} seasons and an ETS trend`;
  }
  return model;
}

/** The model in words with its own name after it, as the API and the CSV say it. */
function modelName(model) {
  return model && model !== 'none' && modelWords(model) !== model ? `${modelWords(model)} (${model})` : modelWords(model);
}

const oneDecimal = (v) => (v == null ? '—' : v.toFixed(1));
const whole = (v) => (v == null ? '—' : String(v));
/** Agents online: a count now, an average over an hour gone by ("1.5"). */
const agentsCount = (v) => (v == null ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(1));
const sum = (values) => values.reduce((a, v) => a + (v ?? 0), 0);

function renderForecast() {
  const fc = answers.forecast;
  const measure = fc?.measure || 'conversations';
  const level = percent(fc?.level);
  // Volume outside the prediction interval: the early sign of a crisis.
  const box = $('#fc-outside');
  const o = fc?.outside;
  box.hidden = !o;
  if (o) {
    replaceChildren(
      box,
      h('strong', {}, `Volume ${o.direction === 'below' ? 'below' : 'above'} its forecast. `),
      `${whole(o.actual)} ${o.actual === 1 ? measure.replace(/s$/, '') : measure} in the hour from ${hourLabel(o.hour)}, outside the ${level} prediction interval (${oneDecimal(o.lower)} to ${oneDecimal(o.upper)}). `,
      o.direction === 'below'
        ? 'Check that every channel is still coming in.'
        : 'This can be the start of a spike: check the alerts, and move people to the queue if it keeps growing.',
    );
  } else box.replaceChildren();

  const none = !fc || fc.model === 'none';
  const empty = $('#fc-empty');
  empty.hidden = !fc || !none;
  if (fc && none) {
    setText(empty, `Not enough history to forecast yet: a forecast needs at least a day of hourly history for this team and network (there ${fc.history_hours === 1 ? 'is 1 hour' : `are ${fc.history_hours ?? 0} hours`}). Actual counts show as they come in.`);
  }
  const history = `${plural(fc?.history_hours ?? 0, 'hour')} of history${(fc?.history_hours ?? 0) >= 48 ? ` (${Math.floor(fc.history_hours / 24)} days)` : ''}`;
  setText(
    $('#fc-model'),
    !fc ? '' : none ? `No model yet: ${history}.` : `Model: ${modelName(fc.model)}, from ${history}. The band is the ${level} prediction interval; shaded hours are holidays.`,
  );
  setText($('#fc-forecast-summary'), fc ? forecastSummary(fc) : '');
  renderForecastRows();
}

/** The forecast chart in words (its caption, and what a screen reader hears for it). */
function forecastSummary(fc) {
  const rows = fc.hours || [];
  const measure = fc.measure || 'conversations';
  if (!rows.length) return 'No hours to show.';
  const today = rows.slice(0, 24);
  const soFar = today.filter((r) => r.actual != null);
  const parts = [`Today (UTC) so far: ${sum(soFar.map((r) => r.actual))} ${measure}`];
  if (fc.model !== 'none') {
    parts[0] += ` against ${oneDecimal(sum(soFar.map((r) => r.forecast)))} forecast for the same hours`;
    parts.push(`the whole day is forecast at ${oneDecimal(sum(today.map((r) => r.forecast)))}${today.some((r) => r.day_ahead != null) ? ` (${oneDecimal(sum(today.map((r) => r.day_ahead)))} in the day-ahead forecast)` : ''}`);
    const ahead = rows.filter((r) => r.actual == null && r.forecast != null);
    const peak = ahead.reduce((best, r) => (best == null || r.forecast > best.forecast ? r : best), null);
    if (peak) parts.push(`the busiest hour ahead is ${hourLabel(peak.hour)}, at ${oneDecimal(peak.forecast)} (${oneDecimal(peak.lower)} to ${oneDecimal(peak.upper)})`);
  }
  return `${parts.join('; ')}.`;
}

function renderForecastRows() {
  const rows = answers.forecast?.hours || [];
  reconcile(
    $('#fc-forecast-rows'),
    rows,
    (r) => r.hour,
    () => {
      const tr = h('tr');
      tr.refs = {
        hour: h('th', { scope: 'row', class: 'nowrap' }),
        actual: h('td', { class: 'f-actual num' }),
        forecast: h('td', { class: 'f-forecast num' }),
        range: h('td', { class: 'f-range num' }),
        dayAhead: h('td', { class: 'f-day-ahead num' }),
        holiday: h('td', { class: 'f-holiday' }),
      };
      tr.append(...Object.values(tr.refs));
      return tr;
    },
    (tr, r) => {
      tr.dataset.hour = r.hour;
      setText(tr.refs.hour, hourLabel(r.hour));
      setText(tr.refs.actual, whole(r.actual));
      setText(tr.refs.forecast, oneDecimal(r.forecast));
      setText(tr.refs.range, r.lower == null ? '—' : `${oneDecimal(r.lower)} to ${oneDecimal(r.upper)}`);
      setText(tr.refs.dayAhead, oneDecimal(r.day_ahead));
      setText(tr.refs.holiday, r.holiday ? 'Holiday' : '');
      // Outside its interval: said in words as well as in colour.
      const outside = r.actual != null && r.lower != null && (r.actual > r.upper || r.actual < r.lower);
      tr.classList.toggle('outside', outside);
      tr.refs.actual.title = outside ? 'Outside the prediction interval' : '';
    },
  );
}

// ---------------------------------------------------------------- the staffing plan

/** "20 s", "5 min", "1 h", "1 h 30 min". */
function span(secs) {
  if (secs == null || Number.isNaN(secs)) return '—';
  const s = Math.round(secs);
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const m = Math.floor((s % 3600) / 60);
  return m ? `${Math.floor(s / 3600)} h ${m} min` : `${Math.floor(s / 3600)} h`;
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** An interval's status in words: "Under-staffed: 2 short". */
function statusText(i) {
  if (!i.status) return '—';
  const have = i.online ?? i.expected_online;
  const diff = have == null || i.agents_needed == null ? null : have - i.agents_needed;
  if (i.status === 'under') return `${STATUS.under}${diff != null && diff < 0 ? `: ${-diff} short` : ''}`;
  if (i.status === 'over') return `${STATUS.over}${diff != null && diff > 0 ? `: ${diff} spare` : ''}`;
  return STATUS[i.status] ?? i.status;
}

function renderStaffing() {
  const st = answers.staffing;
  const fc = answers.forecast;
  // Needed now against online now.
  const now = $('#fc-now');
  const n = st?.now;
  now.dataset.state = n && n.online != null && n.needed != null ? (n.online < n.needed ? 'under' : 'ok') : 'none';
  if (!st) setText(now, '');
  else if (!n) setText(now, 'No staffing figure for the current hour.');
  else {
    const gap = n.online != null && n.needed != null ? n.online - n.needed : null;
    setText(
      now,
      `Now (the hour from ${hourLabel(n.hour)}): ${plural(n.needed ?? 0, 'agent')} needed, ${n.online ?? '—'} online${gap == null ? '' : gap < 0 ? ` — ${-gap} short` : gap > 0 ? ` — ${gap} spare` : ' — as needed'}.`,
    );
  }
  // The inputs, in words.
  const dl = $('#fc-inputs');
  if (!st) dl.replaceChildren();
  else {
    const p = st.policy;
    const items = [
      ['Target', `${percent(st.target_share)} of first responses within ${span(st.target_secs)}`],
      [
        'SLA policy',
        p
          ? `${p.name} (first response within ${span(p.first_response_secs)})${p.first_response_secs !== st.target_secs ? `; the target time here is ${span(st.target_secs)}` : ''}`
          : 'none applies: the target above is the default',
      ],
      ['Handling time (AHT)', `${span(st.aht_secs)} per conversation, ${AHT_SOURCE[st.aht_source] ?? st.aht_source}`],
      ['Concurrency', `${st.concurrency} conversations at once per agent (each slot counts as one server in Erlang C)`],
      st.max_occupancy != null && ['Occupancy cap', `slots busy at most ${percent(st.max_occupancy)} of the time`],
      ['Interval', span(st.interval_secs)],
      ['Forecast model', modelName(fc?.model ?? st.model)],
    ].filter(Boolean);
    replaceChildren(
      dl,
      items.map(([term, text]) => h('div', { class: 'fc-input' }, h('dt', {}, term), h('dd', {}, text))),
    );
  }
  setText($('#fc-staffing-summary'), st ? staffingSummary(st) : '');
  renderStaffingRows();
}

function staffingSummary(st) {
  const rows = st.intervals || [];
  if (!rows.length) return 'No hours to plan.';
  const count = (s) => rows.filter((r) => r.status === s).length;
  const under = rows.filter((r) => r.status === 'under');
  const first = under.find((r) => Date.parse(r.hour) + (st.interval_secs || 3600) * 1000 > Date.now());
  const peak = rows.reduce((best, r) => (best == null || (r.agents_needed ?? 0) > (best.agents_needed ?? 0) ? r : best), null);
  return (
    `Over these ${plural(rows.length, 'hour')}: ${plural(count('under'), 'hour')} under-staffed, ${plural(count('over'), 'hour')} over-staffed, ${plural(count('ok'), 'hour')} on target. ` +
    `Most agents needed: ${peak.agents_needed ?? 0}, at ${hourLabel(peak.hour)}.` +
    (first ? ` Next under-staffed hour: ${hourLabel(first.hour)}.` : '')
  );
}

function renderStaffingRows() {
  const all = answers.staffing?.intervals || [];
  const flagged = $('#fc-flagged').checked;
  const rows = flagged ? all.filter((r) => r.status === 'under' || r.status === 'over') : all;
  const empty = $('#fc-staffing-empty');
  empty.hidden = rows.length > 0 || !answers.staffing;
  setText(empty, flagged && all.length ? 'No hour is under- or over-staffed.' : 'No hours to plan for these filters.');
  reconcile(
    $('#fc-staffing-rows'),
    rows,
    (r) => r.hour,
    () => {
      const tr = h('tr');
      tr.refs = {
        hour: h('th', { scope: 'row', class: 'nowrap' }),
        volume: h('td', { class: 's-volume num' }),
        load: h('td', { class: 's-load num' }),
        servers: h('td', { class: 's-servers num' }),
        needed: h('td', { class: 's-needed num' }),
        online: h('td', { class: 's-online num' }),
        expected: h('td', { class: 's-expected num' }),
        sl: h('td', { class: 's-sl num' }),
        asa: h('td', { class: 's-asa num' }),
        occupancy: h('td', { class: 's-occupancy num' }),
        status: h('td', { class: 's-status' }),
      };
      tr.append(...Object.values(tr.refs));
      return tr;
    },
    (tr, r) => {
      tr.dataset.hour = r.hour;
      tr.dataset.status = r.status ?? 'none';
      setText(tr.refs.hour, hourLabel(r.hour));
      setText(tr.refs.volume, oneDecimal(r.volume));
      setText(tr.refs.load, oneDecimal(r.load_erlangs));
      setText(tr.refs.servers, whole(r.servers));
      setText(tr.refs.needed, whole(r.agents_needed));
      setText(tr.refs.online, agentsCount(r.online));
      setText(tr.refs.expected, agentsCount(r.expected_online));
      setText(tr.refs.sl, percent(r.service_level));
      setText(tr.refs.asa, span(r.asa_secs));
      setText(tr.refs.occupancy, percent(r.occupancy));
      setText(tr.refs.status, statusText(r));
    },
  );
}

// ---------------------------------------------------------------- the charts

async function drawCharts() {
  chartsDue = false;
  const fc = answers.forecast;
  const st = answers.staffing;
  const fEl = $('#fc-forecast-chart');
  const sEl = $('#fc-staffing-chart');
  // Shown first: a chart takes the width of its place.
  fEl.closest('figure').hidden = !fc?.hours?.length;
  sEl.closest('figure').hidden = !st?.intervals?.length;
  const jobs = [];
  if (fc?.hours?.length) jobs.push(drawForecast(fEl, fc, { labelledBy: 'fc-forecast-summary' }).catch((e) => chartFailed(fEl, e)));
  else clearChart(fEl);
  if (st?.intervals?.length) jobs.push(drawStaffing(sEl, st, { labelledBy: 'fc-staffing-summary' }).catch((e) => chartFailed(sEl, e)));
  else clearChart(sEl);
  await Promise.all(jobs);
}
