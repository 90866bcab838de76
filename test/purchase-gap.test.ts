import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { poolGaps, usualGap, type GapStats } from '../src/analytics/purchase-gap.js';
import { RunningGap } from '../src/analytics/running-gap.js';

/** Welford statistics of one customer's gaps, as keyed state keeps them. */
function statsOf(gaps: readonly number[]): GapStats {
  const g = new RunningGap();
  for (const x of gaps) g.add(x);
  return { count: g.count, meanMs: g.meanMs, varianceMs2: g.varianceMs2 };
}

describe('purchase gaps', () => {
  it('pooling customers equals the mean and sample variance of all their gaps together (property)', () => {
    const gaps = fc.array(fc.integer({ min: 1, max: 400 * 86_400_000 }), { maxLength: 12 });
    fc.assert(
      fc.property(fc.array(gaps, { minLength: 1, maxLength: 20 }), (customers) => {
        const pooled = { count: 0, meanMs: 0, varianceMs2: 0, m2: 0 };
        for (const c of customers) poolGaps(pooled, statsOf(c));
        const all = customers.flat();
        expect(pooled.count).toBe(all.length);
        if (all.length === 0) return;
        const mean = all.reduce((a, b) => a + b, 0) / all.length;
        const variance = all.length > 1 ? all.reduce((a, b) => a + (b - mean) ** 2, 0) / (all.length - 1) : 0;
        expect(pooled.meanMs).toBeCloseTo(mean, 0);
        expect(Math.abs(pooled.varianceMs2 - variance)).toBeLessThanOrEqual(1e-9 * Math.max(1, variance));
      }),
    );
  });

  it('the usual gap is the customer’s own mean + k·sd from minOwnGaps gaps on, else the population’s, else unknown', () => {
    const opts = { gapDeviations: 2, minOwnGaps: 3 };
    const own = statsOf([10, 20, 30]); // mean 20, sd 10
    const population = statsOf([5, 5, 5, 5]);
    expect(usualGap(own, population, opts)).toEqual({ ms: 40, basis: 'own' });
    expect(usualGap(statsOf([10, 20]), population, opts)).toEqual({ ms: 5, basis: 'population' });
    expect(usualGap(statsOf([10]), statsOf([1, 2]), opts)).toBeUndefined();
  });
});
