/**
 * `customerLifetimeValue` against closed forms: the Gamma-Gamma spend by hand, and the
 * discounted purchases of a population that (almost) never drops out, where BG/NBD's
 * expected purchases reduce to the NBD's r·t/α and the discounted sum has a closed form.
 * Real data's edge cases (free repeat orders, single-day customers) must go through.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { expectedPurchases, type BgNbdParams } from '../src/analytics/bgnbd.js';
import { customerLifetimeValue, type ClvOptions } from '../src/analytics/clv.js';
import type { GammaGammaParams } from '../src/analytics/gamma-gamma.js';

const CDNOW_BGNBD: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const CDNOW_SPEND: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
const POPULATION_SPEND = (CDNOW_SPEND.p * CDNOW_SPEND.gamma) / (CDNOW_SPEND.q - 1);
/** One year in weeks at 10% a year, two discounting steps (the engine's defaults). */
const YEAR: ClvOptions = { horizon: 52, discountPerUnit: Math.pow(1.1, 1 / 52) - 1, steps: 2 };

describe('customerLifetimeValue', () => {
  it('is expected spend × the discounted expected purchases of each step', () => {
    const stats = { x: 3, tx: 20, T: 30 };
    const v = customerLifetimeValue(CDNOW_BGNBD, CDNOW_SPEND, stats, 40, YEAR);
    const spend = (CDNOW_SPEND.p * (CDNOW_SPEND.gamma + 3 * 40)) / (CDNOW_SPEND.p * 3 + CDNOW_SPEND.q - 1);
    expect(v.expectedSpend).toBeCloseTo(spend, 12);
    const half = expectedPurchases(CDNOW_BGNBD, stats, 26);
    const full = expectedPurchases(CDNOW_BGNBD, stats, 52);
    expect(v.expectedPurchases).toBeCloseTo(full, 12);
    const d = 1 + YEAR.discountPerUnit;
    expect(v.clv).toBeCloseTo(spend * (half / Math.pow(d, 13) + (full - half) / Math.pow(d, 39)), 9);
  });

  it('without drop-out equals the closed form (r/α)·Σ step·(1+d)^−(k−½)step, and tends to the continuous integral', () => {
    const steady: BgNbdParams = { r: 2, alpha: 8, a: 1, b: 1e7 };
    const stats = { x: 0, tx: 0, T: 0 };
    const rate = steady.r / steady.alpha;
    const stepped = (steps: number): number => {
      const step = 52 / steps;
      let s = 0;
      for (let k = 1; k <= steps; k++) s += step / Math.pow(1 + YEAR.discountPerUnit, (k - 0.5) * step);
      return rate * s * POPULATION_SPEND;
    };
    const v = customerLifetimeValue(steady, CDNOW_SPEND, stats, 0, YEAR);
    expect(v.clv / stepped(2)).toBeCloseTo(1, 5);
    const delta = Math.log(1 + YEAR.discountPerUnit);
    const continuous = ((rate * (1 - Math.exp(-delta * 52))) / delta) * POPULATION_SPEND;
    expect(Math.abs(v.clv / continuous - 1)).toBeLessThan(1e-3);
    const fine = customerLifetimeValue(steady, CDNOW_SPEND, stats, 0, { ...YEAR, steps: 200 });
    expect(Math.abs(fine.clv / continuous - 1)).toBeLessThan(1e-5);
  });

  it('a single-day customer (x = 0, t_x = T = 0) gets the population spend and a finite, positive value', () => {
    const v = customerLifetimeValue(CDNOW_BGNBD, CDNOW_SPEND, { x: 0, tx: 0, T: 0 }, 0, YEAR);
    expect(v.expectedSpend).toBeCloseTo(POPULATION_SPEND, 12);
    expect(v.clv).toBeGreaterThan(0);
    expect(Number.isFinite(v.clv)).toBe(true);
  });

  it('a customer whose only repeat purchase was free rests on the population spend, keeping their own purchase forecast', () => {
    // CDNOW master customer 10244: one repeat day worth $0.00 (x = 1, t_x = 4 weeks).
    const stats = { x: 1, tx: 4, T: 72.57 };
    const free = customerLifetimeValue(CDNOW_BGNBD, CDNOW_SPEND, stats, 0, YEAR);
    expect(free.expectedSpend).toBeCloseTo(POPULATION_SPEND, 12);
    expect(free.expectedPurchases).toBeCloseTo(expectedPurchases(CDNOW_BGNBD, stats, 52), 12);
    const unit = customerLifetimeValue(CDNOW_BGNBD, { ...CDNOW_SPEND }, stats, 1, YEAR);
    expect(free.clv / free.expectedSpend).toBeCloseTo(unit.clv / unit.expectedSpend, 12);
  });

  it('any repeat spend that is not a positive finite mean falls back to the population spend; a positive one never does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.oneof(
          fc.constant(0),
          fc.constant(-0),
          fc.constant(NaN),
          fc.constant(Infinity),
          fc.double({ min: -1e6, max: 0, noNaN: true }),
        ),
        fc.double({ min: 0.01, max: 1e5, noNaN: true }),
        (x, bad, good) => {
          const stats = { x, tx: x, T: x + 1 };
          const v = customerLifetimeValue(CDNOW_BGNBD, CDNOW_SPEND, stats, bad, YEAR);
          expect(v.expectedSpend).toBeCloseTo(POPULATION_SPEND, 9);
          expect(Number.isFinite(v.clv) && v.clv >= 0).toBe(true);
          const own = customerLifetimeValue(CDNOW_BGNBD, CDNOW_SPEND, stats, good, YEAR);
          const shrunk = (CDNOW_SPEND.p * (CDNOW_SPEND.gamma + x * good)) / (CDNOW_SPEND.p * x + CDNOW_SPEND.q - 1);
          expect(own.expectedSpend / shrunk).toBeCloseTo(1, 9);
        },
      ),
    );
  });
});
