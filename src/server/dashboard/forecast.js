// The dashboard's demand tile: forecast vs actual for one category, from GET /v1/forecasts
// (scope kpi:read; docs/analytics.md, "Demand forecasts"). Closed buckets show their actual
// beside the one-step forecast made for them; after the last closed bucket, the forecast
// of the next buckets with its 95 % interval. Polled: the series move at bucket closes.

import { axisStyle, mountChart, remScale } from './chart.js';

const POLL_MS = 5_000;
const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/**
 * The points to draw, in seconds: recent closed buckets, then the forecast buckets.
 * Missing values are null (uPlot leaves a gap). Exported for reading, not a contract.
 */
export function chartData(series, measure) {
  const m = series.measures[measure];
  const step = series.bucketMs;
  const t = [];
  const actual = [];
  const predicted = [];
  const lo = [];
  const hi = [];
  for (const b of m.recent) {
    t.push(b.start / 1000);
    actual.push(b.actual);
    predicted.push(b.forecast ?? null);
    lo.push(b.lo95 ?? null);
    hi.push(b.hi95 ?? null);
  }
  if (series.origin !== null) {
    for (const f of m.forecast) {
      t.push((series.origin + (f.h - 1) * step) / 1000);
      actual.push(null);
      predicted.push(f.mean ?? null);
      lo.push(f.lo95 ?? null);
      hi.push(f.hi95 ?? null);
    }
  }
  return [t, actual, predicted, lo, hi];
}

export function startForecasts(token) {
  const view = { category: '_all', granularity: 'hourly', measure: 'units', chart: null, timer: 0 };
  const select = $('forecast-category');
  const granularity = $('forecast-granularity');
  select.addEventListener('change', () => {
    view.category = select.value;
    refresh();
  });
  granularity.addEventListener('change', () => {
    view.granularity = granularity.value;
    refresh();
  });

  async function get(path) {
    const res = await fetch(path, { headers: { authorization: `Bearer ${token()}` }, cache: 'no-store' });
    if (!res.ok) throw new Error(String(res.status));
    return res.json();
  }

  async function refresh() {
    clearTimeout(view.timer);
    try {
      const list = await get('/v1/forecasts');
      syncOptions(list.categories);
      const body = await get(`/v1/forecasts/${encodeURIComponent(view.category)}`);
      draw(body);
      $('forecast-tile').dataset.state = 'ok';
    } catch (e) {
      // 403 (a token without kpi:read) or 404 (demand off): the tile says so, the rest of the page goes on.
      $('forecast-tile').dataset.state = 'unavailable';
      $('forecast-summary').textContent = e.message === '403' ? 'needs a token with kpi:read' : 'no forecasts';
    }
    view.timer = setTimeout(refresh, POLL_MS);
  }

  function syncOptions(categories) {
    const have = [...select.options].map((o) => o.value);
    if (have.join('\n') === categories.join('\n')) return;
    select.replaceChildren(
      ...categories.map((c) => {
        const o = document.createElement('option');
        o.value = c;
        o.textContent = c;
        return o;
      }),
    );
    if (!categories.includes(view.category)) view.category = categories[0] ?? '_all';
    select.value = view.category;
  }

  function draw(body) {
    const series = body[view.granularity];
    const data = chartData(series, view.measure);
    const m = series.measures[view.measure];
    const last = m.recent[m.recent.length - 1];
    const next = m.forecast[0];
    $('forecast-last-actual').textContent = last === undefined ? '–' : number.format(last.actual);
    $('forecast-next-mean').textContent = next === undefined || next.mean === null ? '–' : number.format(next.mean);
    $('forecast-next-interval').textContent =
      next === undefined || next.lo95 === null ? '–' : `${number.format(next.lo95)}–${number.format(next.hi95)}`;
    $('forecast-summary').textContent =
      `${view.measure} per ${view.granularity === 'hourly' ? 'hour' : 'day'}, ${body.category}`;
    const el = $('forecast-chart');
    el.dataset.points = String(data[0].length);
    el.dataset.category = body.category;
    if (typeof globalThis.uPlot !== 'function') return; // the numbers still show
    view.chart ??= makeChart(el);
    view.chart.setData(data);
  }

  refresh();
}

function makeChart(el) {
  const rem = remScale();
  const axis = axisStyle(rem);
  const opts = {
    width: el.clientWidth || 600,
    height: el.clientHeight || 180,
    legend: { show: true },
    cursor: { show: false },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { ...axis, size: 40 * rem },
      { ...axis, size: 56 * rem },
    ],
    series: [
      {},
      { label: 'actual', stroke: '#80ed99', width: 2 * rem, points: { show: false } },
      { label: 'forecast', stroke: '#4cc9f0', width: 1.5 * rem, dash: [6, 4], points: { show: false } },
      { label: '95 % low', stroke: '#4cc9f066', width: 1, points: { show: false } },
      { label: '95 % high', stroke: '#4cc9f066', width: 1, points: { show: false } },
    ],
    bands: [{ series: [4, 3], fill: '#4cc9f01a' }],
  };
  return mountChart(el, opts, [[], [], [], [], []], 180);
}
