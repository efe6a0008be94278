// The forecast page's two charts (issue 27), drawn by uPlot (static/vendor/uplot/, MIT; a small
// canvas charting library served with the console). The library is loaded the first time a
// chart is drawn, not with the console: agents never open this page.
//
// - The forecast: the prediction interval as a band (lower..upper), the forecast, the day-ahead
//   forecast (made from the history up to the start of today), the actual count per hour as bars
//   for the hours that have begun, holidays shaded, and a line at "now".
// - The staffing plan: agents needed per hour as steps, against agents online (past hours and
//   now) and expected online (the future: the same hour a week earlier), with under-staffed
//   hours shaded red and over-staffed ones amber, and the same line at "now".
//
// Colours are the theme's (read from the CSS variables when drawn; the page draws again when the
// theme changes). Each chart keeps its uPlot instance on its element (`el.chart`); the tables on
// the page carry the same figures for keyboards and screen readers.

import { setText } from './util.js';

const LIB_JS = '/static/vendor/uplot/uPlot.iife.min.js';
const LIB_CSS = '/static/vendor/uplot/uPlot.min.css';
const HEIGHT = 260;
const HOUR = 3600;

let loading = null;

/** uPlot, loaded once (a classic script: it defines `window.uPlot`). */
function library() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const css = document.createElement('link');
      css.rel = 'stylesheet';
      css.href = LIB_CSS;
      document.head.append(css);
      const script = document.createElement('script');
      script.src = LIB_JS;
      script.addEventListener('load', () => (window.uPlot ? resolve(window.uPlot) : reject(new Error('the charting library did not start'))));
      script.addEventListener('error', () => {
        loading = null;
        script.remove();
        reject(new Error('the charting library could not be loaded'));
      });
      document.head.append(script);
    });
  }
  return loading;
}

/** The theme's colours now. */
function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    ink: v('--ink', '#1b1f24'),
    muted: v('--muted', '#5a6270'),
    line: v('--line', '#d5d9e0'),
    accent: v('--accent', '#1d5fd1'),
    ok: v('--ok', '#17723a'),
    warn: v('--warn', '#8a5a00'),
    bad: v('--bad', '#b3261e'),
  };
}

/** `#rrggbb` (or `#rgb`) at opacity `a`; anything else as it is. */
function alpha(color, a) {
  let hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color)?.[1];
  if (!hex) return color;
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join('');
  const n = parseInt(hex, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

const secs = (iso) => Math.floor(Date.parse(iso) / 1000);

/** "Sat 6 Dec, 14:00" in the reader's time zone. */
export function hourLabel(value) {
  const d = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return d.toLocaleString([], { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

const oneDecimal = (v) => (v == null ? '—' : v.toFixed(1));
const whole = (v) => (v == null ? '—' : String(Math.round(v)));

/** The axes, legend and cursor both charts share. */
function baseOptions(c, yLabel, width) {
  const axis = { stroke: c.muted, grid: { stroke: c.line, width: 1 }, ticks: { stroke: c.line, width: 1 } };
  return {
    width,
    height: HEIGHT,
    legend: { live: true },
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? Math.ceil(max * 1.1) : 1] } },
    axes: [
      { ...axis, space: 60 },
      { ...axis, label: yLabel, labelSize: 20, size: 50 },
    ],
  };
}

/** A function drawing a vertical dashed line at now, for a uPlot `draw` hook. */
function nowMarker(c) {
  return (u) => {
    const now = Date.now() / 1000;
    const [min, max] = [u.scales.x.min, u.scales.x.max];
    if (now < min || now > max) return;
    const x = Math.round(u.valToPos(now, 'x', true));
    const { top, height } = u.bbox;
    const ratio = window.devicePixelRatio || 1;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = c.ink;
    ctx.lineWidth = 1.5 * ratio;
    ctx.setLineDash([4 * ratio, 3 * ratio]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = c.ink;
    ctx.font = `600 ${11 * ratio}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    ctx.fillText('now', x + 4 * ratio, top + 2 * ratio);
    ctx.restore();
  };
}

/** A function shading the hours `pick(i)` names (a colour or null), for a uPlot `drawAxes` hook. */
function shadeHours(hours, pick) {
  return (u) => {
    const { top, height, left, width } = u.bbox;
    const ctx = u.ctx;
    ctx.save();
    hours.forEach((hour, i) => {
      const fill = pick(i);
      if (!fill) return;
      const x0 = Math.max(left, u.valToPos(hour, 'x', true));
      const x1 = Math.min(left + width, u.valToPos(hour + HOUR, 'x', true));
      if (x1 <= x0) return;
      ctx.fillStyle = fill;
      ctx.fillRect(x0, top, x1 - x0, height);
    });
    ctx.restore();
  };
}

/**
 * Draws a chart into `el` in place of the one there: it keeps its width with the element's.
 * `labelledBy` names the element whose text says what the chart shows.
 */
function mount(el, opts, data, labelledBy) {
  const uPlot = window.uPlot;
  // What the reader chose stays: the series they hid, and the legend entry they were on.
  const old = el.chart;
  const hidden = new Set(old ? old.series.filter((s) => s.show === false).map((s) => s.label) : []);
  const focused = old ? [...old.root.querySelectorAll('.u-legend .u-label')].indexOf(document.activeElement) : -1;
  for (const s of opts.series) if (hidden.has(s.label)) s.show = false;
  clearChart(el);
  const u = new uPlot(opts, data, el);
  el.chart = u;
  // The canvas is one picture: described by the caption (the tables hold every figure).
  const wrap = u.root.querySelector('.u-wrap');
  if (wrap) {
    wrap.setAttribute('role', 'img');
    if (labelledBy) wrap.setAttribute('aria-labelledby', labelledBy);
  }
  keyboardLegend(u);
  if (focused > 0) u.root.querySelectorAll('.u-legend .u-label')[focused]?.focus();
  el.resizer = new ResizeObserver(() => {
    const width = el.clientWidth;
    if (width > 0 && Math.abs(width - u.width) > 1) u.setSize({ width, height: HEIGHT });
  });
  el.resizer.observe(el);
  return u;
}

/** The legend's series names show and hide their series with the keyboard too (Enter, Space), as a click does. */
function keyboardLegend(u) {
  const rows = u.root.querySelectorAll('.u-legend tr.u-series');
  rows.forEach((tr, i) => {
    if (i === 0) return; // the time row
    const label = tr.querySelector('.u-label');
    if (!label) return;
    label.setAttribute('role', 'button');
    label.tabIndex = 0;
    label.setAttribute('aria-pressed', String(u.series[i].show !== false));
    label.title = 'Show or hide this series';
    label.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      u.setSeries(i, { show: !u.series[i].show });
    });
  });
  u.hooks.setSeries = [
    ...(u.hooks.setSeries || []),
    (self, i) => {
      const label = rows[i]?.querySelector('.u-label');
      if (label) label.setAttribute('aria-pressed', String(self.series[i].show !== false));
    },
  ];
}

/** Takes chart `el`'s drawing away (before new figures, or when there is nothing to draw). */
export function clearChart(el) {
  el.resizer?.disconnect();
  el.resizer = null;
  el.chart?.destroy();
  el.chart = null;
  el.replaceChildren();
}

/** Draws the forecast (the GET /api/v1/forecast answer) into `el`. */
export async function drawForecast(el, fc, { labelledBy } = {}) {
  await library();
  const c = palette();
  const rows = fc.hours || [];
  const x = rows.map((r) => secs(r.hour));
  const pct = Math.round((fc.level ?? 0.8) * 100);
  const measure = fc.measure ? fc.measure.charAt(0).toUpperCase() + fc.measure.slice(1) : 'Conversations';
  const opts = baseOptions(c, `${measure} per hour`, el.clientWidth || 600);
  const bars = window.uPlot.paths.bars({ size: [0.7, 40], align: 1 });
  opts.series = [
    { label: 'Hour', value: (u, v) => (v == null ? '—' : hourLabel(v)) },
    { label: 'Actual', stroke: c.muted, fill: alpha(c.muted, 0.45), width: 1, paths: bars, points: { show: false }, value: (u, v) => whole(v) },
    { label: 'Forecast', stroke: c.accent, width: 2, points: { show: false }, value: (u, v) => oneDecimal(v) },
    { label: `Low (${pct}%)`, stroke: alpha(c.accent, 0.45), width: 1, points: { show: false }, value: (u, v) => oneDecimal(v) },
    { label: `High (${pct}%)`, stroke: alpha(c.accent, 0.45), width: 1, points: { show: false }, value: (u, v) => oneDecimal(v) },
    { label: 'Day-ahead forecast', stroke: c.warn, width: 2, dash: [6, 4], points: { show: false }, value: (u, v) => oneDecimal(v) },
  ];
  // The interval: filled between its high (4) and low (3) ends.
  opts.bands = [{ series: [4, 3], fill: alpha(c.accent, 0.16) }];
  opts.hooks = {
    drawAxes: [shadeHours(x, (i) => (rows[i].holiday ? alpha(c.warn, 0.12) : null))],
    draw: [nowMarker(c)],
  };
  const data = [
    x,
    rows.map((r) => r.actual ?? null),
    rows.map((r) => r.forecast ?? null),
    rows.map((r) => r.lower ?? null),
    rows.map((r) => r.upper ?? null),
    rows.map((r) => r.day_ahead ?? null),
  ];
  return mount(el, opts, data, labelledBy);
}

/** Draws the staffing plan (the GET /api/v1/staffing answer) into `el`. */
export async function drawStaffing(el, st, { labelledBy } = {}) {
  await library();
  const c = palette();
  const rows = st.intervals || [];
  const x = rows.map((r) => secs(r.hour));
  const opts = baseOptions(c, 'Agents', el.clientWidth || 600);
  opts.axes[1].incrs = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000]; // whole agents
  opts.series = [
    { label: 'Hour', value: (u, v) => (v == null ? '—' : hourLabel(v)) },
    {
      label: 'Agents needed',
      stroke: c.accent,
      fill: alpha(c.accent, 0.12),
      width: 2,
      paths: window.uPlot.paths.stepped({ align: 1 }),
      points: { show: false },
      value: (u, v) => whole(v),
    },
    { label: 'Online', stroke: c.ok, width: 2, points: { show: true, size: 4 }, value: (u, v) => whole(v) },
    { label: 'Expected online', stroke: c.ok, width: 2, dash: [5, 4], points: { show: false }, value: (u, v) => whole(v) },
  ];
  opts.hooks = {
    drawAxes: [shadeHours(x, (i) => (rows[i].status === 'under' ? alpha(c.bad, 0.14) : rows[i].status === 'over' ? alpha(c.warn, 0.1) : null))],
    draw: [nowMarker(c)],
  };
  const data = [x, rows.map((r) => r.agents_needed ?? null), rows.map((r) => r.online ?? null), rows.map((r) => r.expected_online ?? null)];
  return mount(el, opts, data, labelledBy);
}

/** Says in `el` that the charts could not be drawn (the tables still hold the figures). */
export function chartFailed(el, error) {
  clearChart(el);
  const p = document.createElement('p');
  p.className = 'empty small';
  setText(p, `The chart cannot be drawn here (${error?.message || error}); the table below has the same figures.`);
  el.append(p);
}
