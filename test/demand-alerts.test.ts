import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertSchema, type Alert } from '../src/alerts/alert.js';
import { AlertEmitter } from '../src/alerts/alert-emitter.js';
import type { AlertPolicy } from '../src/alerts/config.js';
import { policiesByType } from '../src/alerts/config.js';
import { AlertCooldowns } from '../src/alerts/cooldown.js';
import { bucketScore, DemandAlerts, normalCdf } from '../src/analytics/demand/demand-alerts.js';
import { ALL_CATEGORIES, DAY } from '../src/analytics/demand/demand-process.js';
import type { ClosedBucket } from '../src/analytics/demand/demand-series.js';
import { MarketingGate } from '../src/delivery/marketing/audience.js';
import { SuppressionList } from '../src/alerts/suppression.js';
import { toCloudEvent, vigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { Pseudonymiser } from '../src/delivery/marketing/pseudonym.js';
import type { RawMessage } from '../src/core/source.js';
import { SEASONAL_SHOP } from '../src/edges/demo/demand-cycle.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';
import { EMPTY_DAY, SPIKE_DAY, spikeShop } from './support/demand-shop.js';

/**
 * demand.spike / demand.drop: the score against the normal CDF's published values, the
 * gates against the rule stated over each series' whole history (as test/alerts.test.ts
 * states it for customer gates), and the engine end to end on a seasonal shop with a known
 * spike and a known empty day.
 */
const START = Date.UTC(2026, 0, 1);
/** The defaults: daily buckets of units judged. */
const config = testConfig();

describe('demand alert scores', () => {
  it('Φ matches its published values, and a bucket on the 95 % bound scores 0.95', () => {
    // Abramowitz & Stegun, table 26.1.
    for (const [z, p] of [
      [0, 0.5],
      [1, 0.841344746],
      [1.959963985, 0.975],
      [2.575829304, 0.995],
      [-1, 0.158655254],
    ] as const)
      expect(normalCdf(z)).toBeCloseTo(p, 6);
    const b = (actual: number): ClosedBucket => ({ start: 0, actual, forecast: 100, lo95: 80.4, hi95: 119.6 });
    expect(bucketScore(b(119.6))).toBeCloseTo(0.95, 6);
    expect(bucketScore(b(80.4))).toBeCloseTo(0.95, 6);
    expect(bucketScore(b(100))).toBeCloseTo(0, 6);
    // Outside the interval exactly when the score passes 0.95 (fast-check).
    fc.assert(
      fc.property(fc.double({ min: 0, max: 300, noNaN: true }), (actual) => {
        const s = bucketScore(b(actual));
        if (actual > 119.6 + 1e-3 || actual < 80.4 - 1e-3) expect(s).toBeGreaterThan(0.95);
        if (actual < 119.6 - 1e-3 && actual > 80.4 + 1e-3) expect(s).toBeLessThan(0.95);
      }),
    );
  });
});

describe('demand alerts on small counts', () => {
  const judge = (measure: 'units' | 'revenue', b: Omit<ClosedBucket, 'start'>) => {
    const policies = policiesByType(testConfig().alerts.policies);
    const alerts = new DemandAlerts(new AlertEmitter(new AlertCooldowns(policies, 1)), policies, {
      measure,
      minCount: 5,
    });
    const out: Alert[] = [];
    alerts.begin(out);
    alerts.onClosed('kitchen', 'daily', DAY, { start: START, ...b });
    return out.map((a) => [a.type, (a.data as { hi95: number }).hi95]);
  };

  it('need the actual or the forecast to reach minCount (units, orders)', () => {
    expect(judge('units', { actual: 3, forecast: 0, lo95: 0, hi95: 2.8 })).toEqual([]);
    expect(judge('units', { actual: 5, forecast: 0, lo95: 0, hi95: 2.8 })).toEqual([['demand.spike', 2.8]]);
    expect(judge('revenue', { actual: 3, forecast: 0, lo95: 0, hi95: 2.8 })).toEqual([['demand.spike', 2.8]]);
  });

  it('are judged by at least the Poisson interval (variance ≥ forecast) for counts', () => {
    // The model's interval 16 ± 0.98 is narrower than the Poisson one, 16 ± 1.96·4.
    const poissonHi = 16 + 1.959963984540054 * 4;
    const narrow = { forecast: 16, lo95: 15.02, hi95: 16.98 };
    expect(judge('units', { actual: 23, ...narrow })).toEqual([]);
    expect(judge('units', { actual: 24, ...narrow })).toEqual([['demand.spike', poissonHi]]);
    expect(judge('units', { actual: 8, ...narrow }).map(([t]) => t)).toEqual(['demand.drop']);
    expect(judge('units', { actual: 9, ...narrow })).toEqual([]);
    expect(judge('revenue', { actual: 23, ...narrow })).toEqual([['demand.spike', 16.98]]);
    // A wider model interval is kept as it is.
    expect(judge('units', { actual: 30, forecast: 16, lo95: 6, hi95: 26 })).toEqual([['demand.spike', 26]]);
  });
});

describe('demand alert gates', () => {
  const policy: fc.Arbitrary<AlertPolicy> = fc.record({
    cooldownMs: fc.constantFrom(0, DAY, 3 * DAY),
    hysteresis: fc.option(fc.constantFrom({ enter: 0.95, exit: 0.8 }, { enter: 0.99, exit: 0.5 }), { nil: null }),
  });
  // Actuals around a forecast of 100 with σ = 10: inside, between 80 and 95 %, and far out, both ways.
  const actual = fc.constantFrom(100, 105, 114, 118, 121, 125, 140, 95, 86, 82, 79, 75, 60);
  const bucketsOf = (actuals: number[]): ClosedBucket[] =>
    actuals.map((a, i) => ({
      start: START + i * DAY,
      actual: a,
      forecast: 100,
      lo95: 100 - 19.59963984540054,
      hi95: 100 + 19.59963984540054,
    }));

  /** The rule over the whole history, not a state machine (the customer gates' oracle, per direction). */
  function oracle(p: AlertPolicy, buckets: ClosedBucket[], spike: boolean): number[] {
    const fired: number[] = [];
    const scores = buckets.map((b) => (b.actual > b.forecast === spike ? bucketScore(b) : 0));
    const enter = p.hysteresis?.enter ?? 0.95;
    scores.forEach((s, i) => {
      if (s < enter) return;
      const last = fired.length > 0 ? fired[fired.length - 1]! : -1;
      if (last >= 0) {
        if (!(buckets[i]!.start - buckets[last]!.start >= p.cooldownMs)) return;
        if (p.hysteresis !== null && !scores.slice(last + 1, i).some((x) => x <= p.hysteresis!.exit)) return;
      }
      fired.push(i);
    });
    return fired;
  }

  it('fire exactly as the rule says, per series and direction, and survive snapshot and restore (fast-check)', () => {
    fc.assert(
      fc.property(
        policy,
        policy,
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), actual), { minLength: 1, maxLength: 60 }),
        fc.nat(60),
        (spikeP, dropP, offers, cut) => {
          const policies = {
            ...policiesByType(testConfig().alerts.policies),
            'demand.spike': spikeP,
            'demand.drop': dropP,
          };
          const emitter = () => new AlertEmitter(new AlertCooldowns(policies, 16));
          let e = emitter();
          let alerts = new DemandAlerts(e, policies, { measure: 'units', minCount: 5 });
          const out: Alert[] = [];
          alerts.begin(out);
          const perSeries = { a: [] as number[], b: [] as number[] };
          offers.forEach(([series, a], i) => {
            if (i === cut) {
              const s = JSON.parse(JSON.stringify(alerts.snapshot()));
              e = emitter();
              alerts = new DemandAlerts(e, policies, { measure: 'units', minCount: 5 });
              alerts.restore(s);
              alerts.begin(out);
            }
            perSeries[series].push(a);
            const b = bucketsOf(perSeries[series])[perSeries[series].length - 1]!;
            alerts.onClosed(series, 'daily', DAY, b);
          });
          for (const series of ['a', 'b'] as const) {
            const buckets = bucketsOf(perSeries[series]);
            for (const [type, spike] of [
              ['demand.spike', true],
              ['demand.drop', false],
            ] as const) {
              const got = out
                .filter((x) => x.type === type && (x.data as { category: string }).category === series)
                .map((x) => (x.data as { bucketStart: number }).bucketStart);
              expect(got).toEqual(oracle(spike ? spikeP : dropP, buckets, spike).map((i) => buckets[i]!.start));
            }
          }
          for (const x of out) expect(alertSchema.parse(x)).toEqual(x);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('demand alerts in the engine', () => {
  const events = spikeShop;

  it('a spike day raises demand.spike for its category, an empty day demand.drop overall, whatever the batch size', async () => {
    const { events: evs, category } = events();
    const messages = evs.map((e) => message(e));
    const runs = await Promise.all([97, 1000].map((batchSize) => runMessages(config, messages, { batchSize })));
    const demandAlerts = runs.map(({ batches }) =>
      batches.flatMap((b) => b.alerts).filter((a) => a.type.startsWith('demand.')),
    );
    expect(demandAlerts[0]).toEqual(demandAlerts[1]);
    const alerts = demandAlerts[0]!;
    const at = (type: string, cat: string, day: number) =>
      alerts.find(
        (a) =>
          a.type === type &&
          (a.data as { category: string }).category === cat &&
          (a.data as { bucketStart: number }).bucketStart === START + day * DAY,
      );
    expect(at('demand.spike', category, SPIKE_DAY)).toMatchObject({
      customerId: null,
      segment: null,
      ts: START + (SPIKE_DAY + 1) * DAY,
    });
    expect(at('demand.spike', ALL_CATEGORIES, SPIKE_DAY)).toBeDefined();
    expect(at('demand.drop', ALL_CATEGORIES, EMPTY_DAY)).toMatchObject({ data: { actual: 0 } });
    // Every alert is a valid alert, outside its interval, counted; none is hourly (not configured).
    const engine = runs[0]!.engine;
    for (const a of alerts) {
      expect(alertSchema.parse(a)).toEqual(a);
      const d = a.data as { actual: number; lo95: number; hi95: number; granularity: string };
      expect(d.granularity).toBe('daily');
      expect(a.type === 'demand.spike' ? d.actual > d.hi95 : d.actual < d.lo95).toBe(true);
    }
    expect(engine.state.alerts!.emitted['demand.spike'] + engine.state.alerts!.emitted['demand.drop']).toBe(
      alerts.length,
    );
    // Ops alerts: never to a marketing destination; as CloudEvents their subject names the category.
    const gate = MarketingGate.of(SuppressionList.empty, 'a pseudonymisation key of 32 characters or more');
    const spike = at('demand.spike', category, SPIKE_DAY)!;
    expect(gate.outgoing(spike, new Set(['demand.spike']))).toBe('unwanted');
    const ce = toCloudEvent(
      new Pseudonymiser('another key of thirty-two characters or more').apply(spike),
      'urn:vigil:test',
    );
    expect(vigilCloudEvent.parse(ce).subject).toBe(`category:${category}`);
  }, 180_000);

  it('are one stream with the customer alerts, in the same order and with the same forecasts, whatever the batch size', async () => {
    // Regression: demand alerts were appended after the whole batch's customer alerts, so where
    // they sat in the stream moved with the batch boundaries (the set of alerts did not).
    const messages = events().events.map((e) => message(e));
    const runs = await Promise.all(
      [1, 13, 97, 1000, messages.length].map((batchSize) => runMessages(config, messages, { batchSize })),
    );
    const streams = runs.map(({ batches }) => batches.flatMap((b) => b.alerts).map((a) => a.id));
    const kinds = new Set(streams[0]!.map((id) => id.slice(0, id.indexOf(':'))));
    expect(kinds).toContain('demand.spike');
    expect(kinds).toContain('demand.drop');
    expect(kinds.size).toBeGreaterThan(3); // customer alerts among them
    const forecasts = runs.map(({ engine }) => JSON.stringify(engine.state.demand!.snapshot()));
    for (let r = 1; r < runs.length; r++) {
      expect(streams[r]).toEqual(streams[0]);
      expect(forecasts[r]).toBe(forecasts[0]);
    }
    // Each batch's entry stamps stay aligned with its alerts.
    for (const b of runs[1]!.batches) expect(b.alertEnteredAt.length).toBe(b.alerts.length);
  }, 300_000);

  it('do not flood on the normal days of a seasonal shop: alerts stay near the 5 % the 95 % interval leaves out', async () => {
    // Another seed and a longer run than the spike test; nothing injected.
    const shop = new SyntheticShop({
      seed: 9,
      customers: 1200,
      products: 120,
      startTs: START,
      endTs: START + 90 * DAY,
      demandCycle: SEASONAL_SHOP,
    });
    const messages: RawMessage[] = [];
    for (let e = shop.next(); e !== undefined; e = shop.next()) messages.push(message(e));
    // The default daily alerts, with every closed day kept in the history (it plays no part in the alerts).
    const keepAll = testConfig({ demand: { history: { hourly: 168, daily: 366 } } });
    const { engine, batches } = await runMessages(keepAll, messages, { batchSize: 1000 });
    const alerts = batches.flatMap((b) => b.alerts).filter((a) => a.type.startsWith('demand.'));
    const demand = engine.state.demand!;
    // Judged buckets: every closed daily bucket with a forecast and a non-degenerate interval.
    let judged = 0;
    for (const category of demand.categoryNames())
      for (const b of demand.series(category, 'daily')!.recent('units'))
        if (Number.isFinite(b.forecast) && b.hi95 > b.forecast) judged++;
    expect(judged).toBeGreaterThan(500);
    // A 95 % interval leaves 5 % of a calibrated series' buckets out, and the gates only take
    // alerts away: the count is Binomial(judged, ≤ 0.05) at most. Bound: its mean plus four
    // standard deviations, leaving room for intervals that cover a little less than they say.
    const p = 0.05;
    expect(alerts.length).toBeLessThanOrEqual(judged * p + 4 * Math.sqrt(judged * p * (1 - p)));
    // No flood on any one day: at most 5 of the series at once (P ≈ 3e-4 a day for 13 independent series at 5 %).
    const series = demand.categoryNames().length;
    const perDay = new Map<number, number>();
    for (const a of alerts) perDay.set(a.ts, (perDay.get(a.ts) ?? 0) + 1);
    expect(Math.max(0, ...perDay.values())).toBeLessThanOrEqual(Math.min(5, series));
    expect(engine.state.alerts!.emitted['demand.spike'] + engine.state.alerts!.emitted['demand.drop']).toBe(
      alerts.length,
    );
  }, 180_000);

  it('are on by default for daily units, and off with no granularities', async () => {
    expect(testConfig().demand.alerts).toEqual({ measure: 'units', granularities: ['daily'], minCount: 5 });
    const { events: evs } = events();
    const { batches } = await runMessages(
      testConfig({ demand: { alerts: { granularities: [] } } }),
      evs.map((e) => message(e)),
    );
    expect(batches.flatMap((b) => b.alerts).filter((a) => a.type.startsWith('demand.'))).toEqual([]);
  }, 180_000);
});
