import { describe, expect, it } from 'vitest';
import { ALL_CATEGORIES, DAY, HOUR } from '../src/analytics/demand/demand-process.js';
import { rollingOrigin } from '../src/analytics/demand/evaluate.js';
import { DemandSeries } from '../src/analytics/demand/demand-series.js';
import { HoltWinters, type HoltWintersConfig } from '../src/analytics/demand/holt-winters.js';
import { oneStepSse, selectModel } from '../src/analytics/demand/model-selection.js';
import { demandSeries, score } from '../src/app/cli/eval-forecast.js';
import { encodePayload } from '../src/edges/encode.js';
import { Engine } from '../src/app/engine.js';
import type { RawMessage } from '../src/core/source.js';
import { demandFactor, SEASONAL_SHOP } from '../src/edges/demo/demand-cycle.js';
import { Random } from '../src/edges/demo/random.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { runMessages, testConfig } from './support/engine-harness.js';

const START = Date.UTC(2026, 0, 1);
const additive = (periods: number[], gammas: number[]): HoltWintersConfig => ({
  seasonality: 'additive',
  periods,
  gammas,
  alpha: 0.1,
  beta: 0.01,
  phi: 1,
  errorWindow: 10_000,
});

/** Draws a standard normal by Box-Muller from the project's seeded generator. */
function normal(r: Random): number {
  return Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
}

function seasonalShopMessages(seed: number, customers: number, days: number): RawMessage[] {
  const shop = new SyntheticShop({
    seed,
    customers,
    products: 300,
    startTs: START,
    endTs: START + days * DAY,
    demandCycle: SEASONAL_SHOP,
  });
  const out: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    out.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  return out;
}

describe('Holt-Winters', () => {
  it('learns a noiseless trend and season exactly: forecasts equal the generating function', () => {
    const truth = (t: number) => 50 + 0.5 * t + 10 * Math.sin((2 * Math.PI * t) / 7);
    const model = new HoltWinters(additive([7], [0.2]));
    for (let t = 0; t < 400; t++) model.observe(truth(t));
    const fc = model.forecast(14);
    fc.forEach((f) => expect(f.mean).toBeCloseTo(truth(400 + f.h - 1), 1));
  });

  it('gives 80 % and 95 % intervals that cover at their rate on data from its own model (ETS(A,A,A))', () => {
    // Simulate the state space model with known weights and σ, forecast 1..8 steps ahead
    // from many origins, count coverage: the analytic variance formula is the oracle.
    const cfg = additive([4], [0.1]);
    const r = new Random(11);
    let in80 = 0;
    let in95 = 0;
    let n = 0;
    for (let run = 0; run < 200; run++) {
      let level = 100;
      let trend = 0.2;
      const season = [5, -3, 1, -3];
      const ys: number[] = [];
      for (let t = 0; t < 120; t++) {
        const e = 4 * normal(r);
        ys.push(level + trend + season[t % 4]! + e);
        level = level + trend + cfg.alpha * e;
        trend = trend + cfg.beta * e;
        season[t % 4] = season[t % 4]! + cfg.gammas[0]! * e;
      }
      const model = new HoltWinters(cfg);
      for (let t = 0; t < 112; t++) model.observe(ys[t]!);
      for (const f of model.forecast(8)) {
        const y = ys[112 + f.h - 1]!;
        if (y >= f.lo80 && y <= f.hi80) in80++;
        if (y >= f.lo95 && y <= f.hi95) in95++;
        n++;
      }
    }
    expect(in80 / n).toBeGreaterThan(0.74);
    expect(in80 / n).toBeLessThan(0.86);
    expect(in95 / n).toBeGreaterThan(0.91);
    expect(in95 / n).toBeLessThan(0.985);
  });

  it('restores from a snapshot to the same forecasts', () => {
    const a = new HoltWinters({ ...additive([24, 168], [0.05, 0.1]), seasonality: 'multiplicative' });
    const r = new Random(3);
    for (let t = 0; t < 500; t++) a.observe(20 + 10 * Math.sin(t / 4) + 5 * r.next());
    const b = new HoltWinters(a.config);
    b.restore(structuredClone(a.snapshot()));
    expect(b.forecast(24)).toEqual(a.forecast(24));
    a.observe(30);
    b.observe(30);
    expect(b.forecast(24)).toEqual(a.forecast(24));
  });
});

describe('a demand series', () => {
  it('counts a purchase earlier than its first one, within the lateness, in its own bucket', () => {
    // The series begins at the purchase that arrives first; an older one accepted within the
    // allowed lateness opens the bucket before it rather than being dropped.
    const series = new DemandSeries(HOUR, 2 * HOUR, additive([], []), 10);
    series.add(START + 5 * HOUR + 10, 3, 1, 30);
    series.add(START + 4 * HOUR + 20, 2, 1, 20);
    series.advanceTo(START + 8 * HOUR);
    expect(series.recent('units').map((b) => [b.start, b.actual])).toEqual([
      [START + 4 * HOUR, 2],
      [START + 5 * HOUR, 3],
    ]);
  });
});

describe('rolling-origin scores', () => {
  it('match a brute-force count on a small series', () => {
    const series = [3, 5, 4, 6, 5, 7, 6, 8, 7, 9, 8, 10, 9, 11];
    const m = 2;
    const model = { ...additive([2], [0.1]), alpha: 0.3 };
    const r = rollingOrigin(series, { model, horizon: 3, firstOrigin: 8, seasonalPeriod: m });
    // Oracle: refit from scratch at every origin and score the same pairs.
    let scale = 0;
    for (let i = m; i < 8; i++) scale += Math.abs(series[i]! - series[i - m]!);
    scale /= 8 - m;
    let err = 0;
    let naiveErr = 0;
    let n = 0;
    for (let t = 8; t < series.length; t++) {
      const hw = new HoltWinters(model);
      for (let i = 0; i < t; i++) hw.observe(series[i]!);
      for (const f of hw.forecast(Math.min(3, series.length - t))) {
        const y = series[t + f.h - 1]!;
        err += Math.abs(y - f.mean);
        naiveErr += Math.abs(y - series[t + f.h - 1 - m * (Math.floor((f.h - 1) / m) + 1)]!);
        n++;
      }
    }
    expect(r.engine.forecasts).toBe(n);
    expect(r.engine.mase).toBeCloseTo(err / n / scale, 10);
    expect(r.seasonalNaive.mase).toBeCloseTo(naiveErr / n / scale, 10);
  });
});

describe('model selection', () => {
  const flat = { ...additive([], []), errorWindow: 14 };

  it('picks a trend for a trending series and no trend for noise around a level', () => {
    const trending = Array.from({ length: 60 }, (_, t) => 100 + 5 * t);
    const withTrend = selectModel(trending, flat, { from: 10, to: 60 });
    expect(withTrend.trend).not.toBe('none');
    const [sse] = oneStepSse(trending, withTrend.config, { from: 10, to: 60 });
    // The trend-free fit of the same line cannot do better than lagging one step behind it.
    const [levelOnly] = oneStepSse(trending, { ...flat, alpha: 1, beta: 0, phi: 1 }, { from: 10, to: 60 });
    expect(sse).toBeLessThan(levelOnly / 4);

    const r = new Random(3);
    const noisy = Array.from({ length: 200 }, () => 100 + 10 * normal(r));
    const level = selectModel(noisy, flat, { from: 20, to: 200 });
    expect(level.trend).toBe('none');
    // For iid noise the best level weight is small (the mean of all the past).
    expect(level.config.alpha).toBeLessThanOrEqual(0.2);
  });

  it('uses only the window: later values do not change the choice', () => {
    const r = new Random(5);
    const series = Array.from({ length: 80 }, (_, t) => 50 + t + 5 * normal(r));
    const chosen = selectModel(series, flat, { from: 5, to: 40 });
    const changed = [...series.slice(0, 40), ...series.slice(40).map(() => 0)];
    expect(selectModel(changed, flat, { from: 5, to: 40 })).toEqual(chosen);
  });
});

describe('demand series in the engine', () => {
  const config = testConfig();
  const messages = seasonalShopMessages(5, 250, 42);
  const clocks = { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 };

  it('do not depend on batch boundaries', async () => {
    const small = await runMessages(config, messages, { batchSize: 13 });
    const large = await runMessages(config, messages, { batchSize: 997 });
    const a = small.engine.state.demand!;
    const b = large.engine.state.demand!;
    expect(a.categoryNames().length).toBeGreaterThan(2);
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(b.view(ALL_CATEGORIES)).toEqual(a.view(ALL_CATEGORIES));
    expect(a.view(ALL_CATEGORIES)!.hourly.measures.units.forecast).toHaveLength(24);
    expect(a.view(ALL_CATEGORIES)!.daily.measures.revenue.forecast).toHaveLength(28);
  });

  it('add up: the closed buckets hold every purchased unit up to the last closed hour', async () => {
    const { engine } = await runMessages(config, messages, { batchSize: 256 });
    const series = engine.state.demand!.series(ALL_CATEGORIES, 'hourly')!;
    const closedUntil = series.forecastOrigin!;
    let units = 0;
    for (const m of messages) {
      const e = (await import('@msgpack/msgpack')).decode(m.bytes) as {
        type: string;
        ts: number;
        items?: { quantity: number }[];
      };
      if (e.type === 'purchase' && e.ts < closedUntil) units += e.items!.reduce((s, i) => s + i.quantity, 0);
    }
    const recorded = await demandSeries(config, messages);
    const hourly = recorded.get(`${ALL_CATEGORIES}/hourly`)!;
    expect(hourly.values.reduce((s, v) => s + v[0]!, 0)).toBe(units);
    expect(hourly.first + hourly.values.length * HOUR).toBe(closedUntil);
  });

  it('survive a snapshot and restore mid-stream', async () => {
    const whole = await runMessages(config, messages, { batchSize: 100 });
    const cut = Math.floor(messages.length * 0.6);
    const first = await runMessages(config, messages.slice(0, cut), { batchSize: 100, finite: false });
    const resumed = new Engine(config, clocks);
    resumed.state.restore(first.engine.state.snapshot(), 0);
    await runMessages(config, messages.slice(cut), { engine: resumed, batchSize: 100 });
    expect(resumed.state.demand!.snapshot()).toEqual(whole.engine.state.demand!.snapshot());
  });

  it('forecast the seasonal shop better than seasonal naive, and find its evening peak', async () => {
    const messages = seasonalShopMessages(5, 400, 45); // more customers: hourly counts large enough to show the wave
    const recorded = await demandSeries(config, messages);
    const daily = recorded.get(`${ALL_CATEGORIES}/hourly`)!;
    const units = daily.values.map((v) => v[0]!);
    const r = score(units, daily.first, config.demand, { granularity: 'hourly', horizon: 24 });
    expect(r.engine.mase).toBeLessThan(r.seasonalNaive.mase);
    // The hour the engine forecasts most units for is near the true peak of the daily wave.
    const { engine } = await runMessages(config, messages, { batchSize: 256 });
    const fc = engine.state.demand!.view(ALL_CATEGORIES)!.hourly;
    const peak = fc.measures.units.forecast.reduce((best, f) => (f.mean > best.mean ? f : best));
    const peakTs = fc.origin! + (peak.h - 1) * HOUR;
    const trueHourly = Array.from({ length: 24 }, (_, h) => demandFactor(SEASONAL_SHOP, START, fc.origin! + h * HOUR));
    expect(demandFactor(SEASONAL_SHOP, START, peakTs)).toBeGreaterThan(0.8 * Math.max(...trueHourly));
  });
});
