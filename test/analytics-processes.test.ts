import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logarithmicBuckets, QuantileSketch } from '../src/analytics/quantile-sketch.js';
import { mergeReturnHazards, mergeRfm, mergeRunningMoments, mergeSketches } from '../src/analytics/processes/merges.js';
import { ReturnHazard } from '../src/analytics/return-hazard.js';
import { RfmPopulation } from '../src/analytics/rfm.js';
import { RunningGap } from '../src/analytics/running-gap.js';
import { EngineState } from '../src/app/engine-state.js';
import { testConfig } from './support/engine-harness.js';

/** A sketch holding `values` (inserted in order). */
function sketchOf(values: readonly number[], maxBuckets: number): QuantileSketch {
  const s = new QuantileSketch(logarithmicBuckets(0.01, 0.01), { maxBuckets });
  for (const v of values) s.insert(v);
  return s;
}

const values = fc.array(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { maxLength: 300 });

describe('analytics processes', () => {
  it('each per-customer field and each timer belongs to exactly one process, and every mergeable global has a merge', () => {
    const analytics = new EngineState(testConfig()).analytics!;
    const fields = analytics.processes.flatMap((p) => p.fields.map((f) => f.name));
    expect(new Set(fields).size).toBe(fields.length);
    // The record layout holds exactly the fields the processes declare.
    const layout = analytics
      .snapshot(0)
      .layout.split(',')
      .map((f) => f.split(':')[0]);
    expect([...layout].sort()).toEqual([...fields].sort());
    const timers = analytics.processes.flatMap((p) => p.timers);
    expect(new Set(timers).size).toBe(timers.length);
    expect([...timers].sort()).toEqual(['bgnbd_alive', 'cart_abandon', 'churn_check']);
    expect(analytics.processes.map((p) => p.name)).toEqual([
      'rfm',
      'value',
      'carts',
      'churn',
      'recommendations',
      'refits',
    ]);
    for (const p of analytics.processes)
      for (const g of p.globals) expect(g.home === 'mergeable').toBe(g.merge !== undefined);
  });

  it('merging two quantile sketches gives exactly the sketch of both streams (fast-check)', () => {
    // Inserts only: a sketch's resolution is then the finest at which its span fits, so the
    // merge, which coarsens both to the finer-most level that fits their union, must agree.
    fc.assert(
      fc.property(values, values, fc.constantFrom(8, 64, 4096), (a, b, maxBuckets) => {
        const merged = mergeSketches(
          sketchOf(a, maxBuckets).snapshot(),
          sketchOf(b, maxBuckets).snapshot(),
          maxBuckets,
        );
        expect(merged).toEqual(sketchOf([...a, ...b], maxBuckets).snapshot());
        // And it loads back into a sketch: what a partition receives at a merge point.
        const back = new QuantileSketch(logarithmicBuckets(0.01, 0.01), { maxBuckets });
        back.restore(merged);
        expect(back.count).toBe(a.length + b.length);
      }),
      { numRuns: 300, seed: 17 },
    );
  });

  it('merging is commutative and associative on sketches (fast-check)', () => {
    fc.assert(
      fc.property(values, values, values, (a, b, c) => {
        const [sa, sb, sc] = [a, b, c].map((v) => sketchOf(v, 32).snapshot()) as [
          ReturnType<QuantileSketch['snapshot']>,
          ReturnType<QuantileSketch['snapshot']>,
          ReturnType<QuantileSketch['snapshot']>,
        ];
        expect(mergeSketches(sa, sb, 32)).toEqual(mergeSketches(sb, sa, 32));
        expect(mergeSketches(mergeSketches(sa, sb, 32), sc, 32)).toEqual(
          mergeSketches(sa, mergeSketches(sb, sc, 32), 32),
        );
      }),
      { numRuns: 200, seed: 19 },
    );
  });

  it('merging RFM populations gives the population of both partitions', () => {
    const buyers = Array.from({ length: 400 }, (_, i) => ({
      lastPurchase: 1_700_000_000_000 + i * 3_600_000 * (i % 7),
      transactions: 1 + (i % 9),
      monetary: 5 + ((i * 37) % 500),
    }));
    const left = new RfmPopulation();
    const right = new RfmPopulation();
    const all = new RfmPopulation();
    buyers.forEach((b, i) => {
      (i % 3 === 0 ? left : right).update(undefined, b);
      all.update(undefined, b);
    });
    expect(mergeRfm(left.snapshot(), right.snapshot())).toEqual(all.snapshot());
  });

  it("merging two partitions' return hazards gives the hazards of one table over all their buyers", () => {
    const DAY = 86_400_000;
    const week = 7 * DAY;
    const left = new ReturnHazard(week);
    const right = new ReturnHazard(week);
    const all = new ReturnHazard(week);
    // 300 buyers, each with its own purchase history, each in one partition. (An eviction
    // censors a spell at the latest event time its table has seen, which is a partition's
    // own: evictions are left out here, see docs/architecture.md.)
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 300; i++) {
      const part = i % 3 === 0 ? left : right;
      let values: { lastPurchase: number; transactions: number; monetary: number } | undefined;
      for (let k = 0; k <= i % 6; k++) {
        const next = {
          lastPurchase: t0 + (i % 40) * DAY + k * ((i % 11) + 1) * 9 * DAY,
          transactions: k + 1,
          monetary: 10 * (k + 1),
        };
        part.update(values, next);
        all.update(values, next);
        values = next;
      }
    }
    const merged = new ReturnHazard(week);
    merged.restore(mergeReturnHazards(left.snapshot(), right.snapshot()));
    const now = t0 + 400 * DAY;
    const a = merged.hazardTable(now);
    const b = all.hazardTable(now);
    expect(a.length).toBe(b.length);
    a.forEach((h, i) => expect(h).toBeCloseTo(b[i]!, 12));
    expect(mergeReturnHazards(right.snapshot(), left.snapshot())).toEqual(
      mergeReturnHazards(left.snapshot(), right.snapshot()),
    );
  });

  it("merging running moments gives the moments of both streams, as Welford's update over all (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e9, noNaN: true })),
        fc.array(fc.double({ min: 0, max: 1e9, noNaN: true })),
        (a, b) => {
          const moments = (xs: number[]): [number, number, number] => {
            const g = new RunningGap();
            for (const x of xs) g.add(x);
            return g.snapshot();
          };
          const [n, mean, m2] = mergeRunningMoments(moments(a), moments(b));
          const [n2, mean2, m22] = moments([...a, ...b]);
          expect(n).toBe(n2);
          expect(mean).toBeCloseTo(mean2, 3);
          expect(Math.abs(m2 - m22)).toBeLessThanOrEqual(1e-9 * Math.max(1, m22));
        },
      ),
      { numRuns: 300, seed: 23 },
    );
  });
});
