/**
 * The customer-value models against published results on the CDNOW data and against
 * direct numerical evaluation of their formulas (quadrature instead of closed forms).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VigilError } from '../src/core/errors.js';
import {
  bgnbdLogLikelihood,
  expectedPurchases,
  fitBgNbd,
  probabilityAlive,
  timeWhenAliveFallsTo,
  type BgNbdParams,
  type RepeatStats,
} from '../src/analytics/bgnbd.js';
import { expectedMeanSpend, fitGammaGamma, gammaGammaLogLikelihood } from '../src/analytics/gamma-gamma.js';
import { minimizeNelderMead } from '../src/analytics/optimize.js';
import { hyp2f1, hyp2f1MinusOne, lgamma } from '../src/analytics/special-functions.js';
import { isVigilError } from '../src/core/errors.js';
import {
  loadCdnowCalibration,
  meanCentsRoundedHalfUp,
  readCdnowSummary,
  readCdnowSummaryWithSpend,
} from './support/cdnow.js';

const customers = loadCdnowCalibration();

/** Fader, Hardie & Lee (2005), Marketing Science 24(2), section 7; lifetimes' test suite. */
const PUBLISHED_BGNBD = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, logLikelihood: -9582.4 };
/** Fader, Hardie & Lee (2005), JMR 42(4) and Hardie's note 025 (γ = 15.44). */
const PUBLISHED_GAMMA_GAMMA = { p: 6.25, q: 3.74, gamma: 15.44 };
/** lifetimes' docs: GammaGammaFitter on cdnow_customers_summary_with_transactions.csv. */
const LIFETIMES_DOCS_GAMMA_GAMMA = { p: 6.25, q: 3.74, gamma: 15.45 };

const round2 = (v: number): number => Math.round(v * 100) / 100;

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}

/**
 * ∫₀¹ exp(logIntegrand(p, 1−p)) dp by tanh-sinh (double-exponential) quadrature, which
 * copes with the integrable endpoint singularities of Beta-type integrands. 1 − p is
 * passed separately because near p = 1 it cannot be recovered from p.
 */
function integrateUnitInterval(logIntegrand: (p: number, q: number) => number, step = 1 / 64): number {
  let sum = 0;
  const limit = Math.ceil(6.5 / step);
  for (let k = -limit; k <= limit; k++) {
    const t = k * step;
    const u = (Math.PI / 2) * Math.sinh(t);
    const p = 1 / (1 + Math.exp(-2 * u));
    const q = 1 / (1 + Math.exp(2 * u));
    if (p === 0 || q === 0) continue;
    const weight = step * (Math.PI / 2) * Math.cosh(t) * 2 * p * q;
    sum += weight * Math.exp(logIntegrand(p, q));
  }
  return sum;
}

/** ₂F₁ through Euler's integral Γ(c)/(Γ(b)Γ(c−b)) ∫₀¹ t^(b−1) (1−t)^(c−b−1) (1−zt)^(−a) dt, c > b > 0. */
function hyp2f1ByEulerIntegral(a: number, b: number, c: number, z: number): number {
  const integral = integrateUnitInterval(
    (t, oneMinusT) => (b - 1) * Math.log(t) + (c - b - 1) * Math.log(oneMinusT) - a * Math.log1p(-z * t),
  );
  return Math.exp(lgamma(c) - lgamma(b) - lgamma(c - b)) * integral;
}

/**
 * BG/NBD quantities by brute force from the likelihood pieces. Given λ and p, a customer
 * with (x, t_x, T) is still alive with likelihood (1−p)^x λ^x e^(−λT) and dropped out
 * after the last purchase with likelihood p(1−p)^(x−1) λ^x e^(−λ t_x); alive, they buy
 * (1/p)(1 − e^(−λpt)) times in the next t. λ ~ Gamma(r, α) is integrated analytically
 * (a plain Gamma integral), p ~ Beta(a, b) numerically; the constants shared by
 * numerator and denominator (Γ(r+x)α^r/Γ(r), (α+T)^−(r+x), B(a, b)) cancel.
 */
function bruteForce({ r, alpha, a, b }: BgNbdParams, { x, tx, T }: RepeatStats) {
  // ln of (α+T)^(r+x)/(α+t_x)^(r+x): the dropped-out branch relative to the alive one.
  const logLeaveWeight = (r + x) * Math.log((alpha + T) / (alpha + tx));
  const logAlive = (p: number, q: number): number => (a - 1) * Math.log(p) + (b + x - 1) * Math.log(q);
  const alive = integrateUnitInterval(logAlive);
  const left =
    x > 0 ? integrateUnitInterval((p, q) => a * Math.log(p) + (b + x - 2) * Math.log(q) + logLeaveWeight) : 0;
  const total = alive + left;
  return {
    probabilityAlive: alive / total,
    expectedPurchases(t: number): number {
      const future = integrateUnitInterval(
        (p, q) =>
          (a - 2) * Math.log(p) +
          (b + x - 1) * Math.log(q) +
          Math.log(-Math.expm1(-(r + x) * Math.log1p((p * t) / (alpha + T)))),
      );
      return future / total;
    },
    /** ln L for this customer, with B(a, b) by quadrature too. */
    logLikelihood(): number {
      const betaAB = integrateUnitInterval((p, q) => (a - 1) * Math.log(p) + (b - 1) * Math.log(q));
      return lgamma(r + x) - lgamma(r) + r * Math.log(alpha) - (r + x) * Math.log(alpha + T) + Math.log(total / betaAB);
    },
  };
}

/** special-functions.ts's series as it was before its early skip: the oracle that the skip changes nothing. */
function seriesAsFirstWritten(
  a: number,
  b: number,
  c: number,
  z: number,
  tolerance: number,
  maxTerms: number,
): number | undefined {
  let settledAfter = Math.max(Math.abs(a), Math.abs(b), Math.abs(c));
  let pairFactor = 0;
  let other = 0;
  if (c > 0 && a > 0 && Math.abs(b) < settledAfter) {
    settledAfter = Math.abs(b);
    pairFactor = Math.max(1, a / c);
    other = b;
  } else if (c > 0 && b > 0 && Math.abs(a) < settledAfter) {
    settledAfter = Math.abs(a);
    pairFactor = Math.max(1, b / c);
    other = a;
  }
  let term = 1;
  let sum = 0;
  for (let n = 0; n < maxTerms; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    if (term === 0) return sum;
    if (!Number.isFinite(sum)) return undefined;
    if (n + 1 < settledAfter) continue;
    const nextRatio = Math.abs((((a + n + 1) * (b + n + 1)) / ((c + n + 1) * (n + 2))) * z);
    const pairedBound = pairFactor * Math.max(1, Math.abs((other + n + 1) / (n + 2))) * Math.abs(z);
    const rho = Math.max(nextRatio, Math.abs(z), pairedBound);
    if (rho < 1 && (Math.abs(term) * rho) / (1 - rho) <= tolerance * Math.abs(1 + sum)) return sum;
  }
  return undefined;
}

describe('CDNOW conventions', () => {
  it('x, t_x and T computed from the transactions equal cdnow_customers_summary.csv for every customer', () => {
    const summary = readCdnowSummary();
    expect(customers).toHaveLength(2357);
    expect(summary).toHaveLength(2357);
    const mismatches = summary.filter((row, i) => {
      const c = customers[i];
      return c === undefined || c.id !== row.id || c.x !== row.x || round2(c.tx) !== row.tx || round2(c.T) !== row.T;
    });
    expect(mismatches).toEqual([]);
  });

  it('the mean of the repeat transactions, rounded half-up to cents, is the csv zbar for every customer', () => {
    const withSpend = readCdnowSummaryWithSpend();
    expect(withSpend).toHaveLength(2357);
    const mismatches = withSpend.filter((row, i) => {
      const c = customers[i];
      if (c === undefined || c.id !== row.id || c.x !== row.x || round2(c.tx) !== row.tx || round2(c.T) !== row.T)
        return true;
      return meanCentsRoundedHalfUp(c.calibrationTransactionCents.slice(1)) !== row.zbar;
    });
    expect(mismatches).toEqual([]);
    // The mean over all transactions, first purchase included, is not what was published.
    const allTransactions = withSpend.filter((row, i) => {
      const c = customers[i];
      return row.x > 0 && c !== undefined && meanCentsRoundedHalfUp(c.calibrationTransactionCents) !== row.zbar;
    });
    expect(allTransactions.length).toBeGreaterThan(900);
  });
});

describe('special functions', () => {
  it('lgamma matches log-factorials, half-integers and the reflection formula', () => {
    let logFactorial = 0;
    for (let n = 1; n <= 170; n++) {
      expect(Math.abs(lgamma(n) - logFactorial)).toBeLessThanOrEqual(1e-13 * Math.max(1, logFactorial));
      logFactorial += Math.log(n);
    }
    expect(lgamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(lgamma(1.5)).toBeCloseTo(0.5 * Math.log(Math.PI) - Math.LN2, 14);
    expect(lgamma(-0.5)).toBeCloseTo(Math.log(2 * Math.sqrt(Math.PI)), 14); // Γ(−1/2) = −2√π
    expect(lgamma(0)).toBe(Infinity);
    expect(lgamma(-3)).toBe(Infinity);
  });

  it('lgamma satisfies ln Γ(x+1) − ln Γ(x) = ln x', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), (x) => {
        const difference = lgamma(x + 1) - lgamma(x);
        return Math.abs(difference - Math.log(x)) <= 1e-12 * Math.max(1, Math.abs(lgamma(x)));
      }),
    );
  });

  it('hyp2f1 converges when a and c are huge and close (a refit on a population that never drops out)', () => {
    // Brute force: the defining series, summed far past convergence (its ratio is ≈ z from the start).
    const bruteMinusOne = (a: number, b: number, c: number, z: number) => {
      let term = 1;
      let sum = 0;
      for (let n = 0; n < 20_000; n++) sum += term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
      return sum;
    };
    for (const [a, b, c, z] of [
      [6623078.648, -0.3442, 6623079.608, 0.6266],
      [2e6, 3.5, 2e6 + 4.1, 0.8],
      [1e7, 0.2, 1e7 - 0.5, 0.5],
    ] as const) {
      expect(relativeError(hyp2f1(a, b, c, z) - 1, bruteMinusOne(a, b, c, z))).toBeLessThan(1e-10);
    }
  });

  it('hyp2f1 matches closed forms, including z near 1 and integer c − a − b', () => {
    for (const z of [0.3, 0.9, 0.95, 0.999, 0.9999999, -0.5, -20]) {
      expect(relativeError(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z)).toBeLessThan(1e-10); // c − a − b = 0
      expect(relativeError(hyp2f1(1, 1, 3, z), (2 * ((1 - z) * Math.log1p(-z) + z)) / (z * z))).toBeLessThan(1e-9); // = 1
      expect(relativeError(hyp2f1(0.7, 2.3, 2.3, z), Math.pow(1 - z, -0.7))).toBeLessThan(1e-12);
    }
    for (const y of [0.2, 0.9, 0.99999]) {
      expect(relativeError(hyp2f1(0.5, 0.5, 1.5, y * y), Math.asin(y) / y)).toBeLessThan(1e-10);
    }
  });

  it('hyp2f1 matches Euler’s integral with BG/NBD-like parameters over the whole of [0, 1)', () => {
    const { r, a, b } = PUBLISHED_BGNBD;
    for (const x of [0, 1, 2, 7, 40]) {
      // The form used by expectedPurchases: ₂F₁(a+b−1−r, a−1; a+b+x−1; z) with the roles of
      // the first two parameters swapped so that Euler's integral applies (c > b > 0).
      for (const z of [0.01, 0.5, 0.9, 0.95, 0.999, 0.99999]) {
        const series = hyp2f1(a - 1, a + b - 1 - r, a + b + x - 1, z);
        const integral = hyp2f1ByEulerIntegral(a - 1, a + b - 1 - r, a + b + x - 1, z);
        expect(relativeError(series, integral)).toBeLessThan(1e-9);
      }
    }
  });

  it('hyp2f1 − 1 on [0, 0.9] is bit for bit the series summed with the full convergence test at every term (the early skip changes no answer)', () => {
    const parameter = fc.oneof(
      fc.double({ min: -30, max: 30, noNaN: true }),
      fc.integer({ min: -8, max: 8 }).map((n) => n + 0),
      fc.double({ min: 1e-4, max: 1e6, noNaN: true }),
    );
    fc.assert(
      fc.property(parameter, parameter, parameter, fc.double({ min: 0, max: 0.9, noNaN: true }), (a, b, c, z) => {
        fc.pre(!(c <= 0 && Number.isInteger(c)));
        const expected = seriesAsFirstWritten(a, b, c, z, 1e-15, 100_000);
        if (expected === undefined) expect(() => hyp2f1MinusOne(a, b, c, z)).toThrow();
        else expect(Object.is(hyp2f1MinusOne(a, b, c, z), expected)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // The CLV's arguments (expectedPurchases at the published fit, a few x and ages).
    const { r, a, b } = PUBLISHED_BGNBD;
    for (const x of [0, 1, 2, 5, 40]) {
      for (const z of [0.1, 0.5, 0.85, 0.9])
        expect(
          Object.is(
            hyp2f1MinusOne(a + b - 1 - r, a - 1, a + b + x - 1, z),
            seriesAsFirstWritten(a + b - 1 - r, a - 1, a + b + x - 1, z, 1e-15, 100_000),
          ),
        ).toBe(true);
    }
  });

  it('hyp2f1 rejects arguments outside its domain with a usage error', () => {
    for (const call of [() => hyp2f1(1, 1, 2, 1), () => hyp2f1(1, 1, -2, 0.5), () => hyp2f1(NaN, 1, 2, 0.5)]) {
      expect(call).toThrow();
      try {
        call();
      } catch (e) {
        expect(isVigilError(e) && e.code).toBe('VIGIL_ERR_USAGE');
      }
    }
  });
});

describe('Nelder–Mead', () => {
  it('finds the minimum of the Rosenbrock function', () => {
    const rosenbrock = (p: readonly number[]): number => {
      const [u = 0, v = 0] = p;
      return 100 * (v - u * u) ** 2 + (1 - u) ** 2;
    };
    const minimum = minimizeNelderMead(rosenbrock, [-1.2, 1], { initialStep: 0.1 });
    expect(minimum.converged).toBe(true);
    expect(minimum.point[0]).toBeCloseTo(1, 6);
    expect(minimum.point[1]).toBeCloseTo(1, 6);
  });
});

describe('BG/NBD on CDNOW', () => {
  const fit = fitBgNbd(customers);

  it('reproduces the published estimates and log-likelihood', () => {
    expect(fit.params.r).toBeCloseTo(PUBLISHED_BGNBD.r, 3);
    expect(fit.params.alpha).toBeCloseTo(PUBLISHED_BGNBD.alpha, 3);
    expect(fit.params.a).toBeCloseTo(PUBLISHED_BGNBD.a, 3);
    expect(fit.params.b).toBeCloseTo(PUBLISHED_BGNBD.b, 3);
    expect(fit.logLikelihood).toBeCloseTo(PUBLISHED_BGNBD.logLikelihood, 1);
    expect(fit.logLikelihood).toBeCloseTo(bgnbdLogLikelihood(fit.params, customers), 9);
    // The published (rounded) parameters are within rounding of the maximum.
    expect(bgnbdLogLikelihood(PUBLISHED_BGNBD, customers)).toBeCloseTo(PUBLISHED_BGNBD.logLikelihood, 1);
  });

  it('gives the conditional expectation of Hardie’s spreadsheet (x=2, t_x=30.43, T=38.86, t=39 → 1.226)', () => {
    expect(Math.abs(expectedPurchases(fit.params, { x: 2, tx: 30.43, T: 38.86 }, 39) - 1.226)).toBeLessThan(0.001);
  });
});

describe('BG/NBD against brute-force evaluation', () => {
  const paramSets: Record<string, BgNbdParams> = {
    'published (a < 1)': PUBLISHED_BGNBD,
    'a > 1': { r: 0.5, alpha: 3, a: 2.5, b: 4 },
    'a = 1 exactly': { r: 0.243, alpha: 4.414, a: 1, b: 2.426 },
    'a just above 1': { r: 0.243, alpha: 4.414, a: 1 + 3e-5, b: 2.426 },
  };
  const cases: Record<string, RepeatStats> = {
    typical: { x: 2, tx: 30.43, T: 38.86 },
    'one purchase only (x = 0)': { x: 0, tx: 0, T: 38.86 },
    'brand new (x = 0, T = 0)': { x: 0, tx: 0, T: 0 },
    'last purchase today (t_x = T)': { x: 4, tx: 20, T: 20 },
    'long silent': { x: 3, tx: 2, T: 38 },
    'very large x': { x: 500, tx: 38, T: 38.86 },
  };

  for (const [paramName, params] of Object.entries(paramSets)) {
    for (const [caseName, stats] of Object.entries(cases)) {
      it(`${paramName}, ${caseName}`, () => {
        const reference = bruteForce(params, stats);
        const alive = probabilityAlive(params, stats);
        expect(relativeError(alive, reference.probabilityAlive)).toBeLessThan(1e-10);
        if (stats.x === 0) expect(alive).toBe(1);
        if (stats.tx === stats.T && stats.x > 0)
          expect(alive).toBeCloseTo(1 / (1 + params.a / (params.b + stats.x - 1)), 14);
        // Horizons up to z = t/(α+T+t) ≈ 0.99996, where hyp2f1 needs the 1 − z form.
        for (const horizon of [0.01, 1, 39, 520, 1e5]) {
          const expected = reference.expectedPurchases(horizon);
          expect(relativeError(expectedPurchases(params, stats, horizon), expected)).toBeLessThan(1e-8);
        }
        const single = bgnbdLogLikelihood(params, [stats]);
        expect(Number.isFinite(single)).toBe(true);
        expect(Math.abs(single - reference.logLikelihood())).toBeLessThan(1e-9 * Math.max(1, Math.abs(single)));
      });
    }
  }

  it('a in the hundreds (a degenerate refit): the product that overflows in one form, from the other', () => {
    // A refit on one partition's few buyers gave a ≈ 507, b ≈ 1: ₂F₁ of the usual form overflows.
    const params: BgNbdParams = { r: 1.16, alpha: 2, a: 507.4, b: 1.0000004 };
    for (const [caseName, stats] of Object.entries(cases)) {
      const reference = bruteForce(params, stats);
      for (const horizon of [0.01, 1, 39, 520, 1e5]) {
        // Both forms out of a double's range: an error, never NaN.
        if (caseName === 'very large x' && horizon >= 520) {
          expect(() => expectedPurchases(params, stats, horizon)).toThrow(VigilError);
          continue;
        }
        const expected = reference.expectedPurchases(horizon);
        expect(relativeError(expectedPurchases(params, stats, horizon), expected)).toBeLessThan(1e-8);
      }
    }
  });

  it('expected purchases over an infinite horizon: the limit for a > 1, Infinity for a < 1', () => {
    const params = paramSets['a > 1'] as BgNbdParams;
    const stats = cases.typical as RepeatStats;
    const lifetime = expectedPurchases(params, stats, Infinity);
    expect(relativeError(expectedPurchases(params, stats, 1e9), lifetime)).toBeLessThan(1e-6);
    expect(expectedPurchases(PUBLISHED_BGNBD, stats, Infinity)).toBe(Infinity);
    expect(expectedPurchases(PUBLISHED_BGNBD, stats, 0)).toBe(0);
  });

  it('rejects impossible statistics and parameters with a usage error', () => {
    const bad: (() => unknown)[] = [
      () => probabilityAlive(PUBLISHED_BGNBD, { x: 2, tx: 40, T: 38 }),
      () => probabilityAlive(PUBLISHED_BGNBD, { x: 0, tx: 3, T: 38 }),
      () => probabilityAlive({ ...PUBLISHED_BGNBD, a: -1 }, { x: 2, tx: 3, T: 38 }),
      () => expectedPurchases(PUBLISHED_BGNBD, { x: 2, tx: 3, T: 38 }, -1),
      () => fitBgNbd([]),
    ];
    for (const call of bad) {
      let code: unknown;
      try {
        call();
      } catch (e) {
        code = isVigilError(e) ? e.code : e;
      }
      expect(code).toBe('VIGIL_ERR_USAGE');
    }
  });
});

describe('time when P(alive) falls to a threshold', () => {
  const params = PUBLISHED_BGNBD;

  /** The crossing by bisection on P(alive) as a function of the age T. */
  function bisectCrossing(stats: RepeatStats, threshold: number): number {
    let low = stats.T;
    let high = stats.T + 1;
    while (probabilityAlive(params, { ...stats, T: high }) > threshold) high = stats.T + 2 * (high - stats.T);
    for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
      const mid = (low + high) / 2;
      if (probabilityAlive(params, { ...stats, T: mid }) > threshold) low = mid;
      else high = mid;
    }
    return (low + high) / 2;
  }

  it('agrees with bisection on the P(alive) formula', () => {
    for (const stats of [
      { x: 2, tx: 30.43, T: 30.43 },
      { x: 1, tx: 1.71, T: 5 },
      { x: 29, tx: 37.71, T: 38 },
      { x: 500, tx: 38, T: 38 },
    ]) {
      for (const threshold of [0.9, 0.5, 0.1, 0.01]) {
        if (probabilityAlive(params, stats) <= threshold) continue;
        const closedForm = timeWhenAliveFallsTo(params, stats, threshold);
        expect(relativeError(closedForm, bisectCrossing(stats, threshold))).toBeLessThan(1e-9);
      }
    }
  });

  it('handles the edges: never for x = 0, now when already below, now for a threshold of 1', () => {
    expect(timeWhenAliveFallsTo(params, { x: 0, tx: 0, T: 10 }, 0.5)).toBe(Infinity);
    expect(timeWhenAliveFallsTo(params, { x: 0, tx: 0, T: 10 }, 1)).toBe(10);
    expect(timeWhenAliveFallsTo(params, { x: 3, tx: 2, T: 38 }, 0.9)).toBe(38); // P(alive) ≈ 0.05
    expect(timeWhenAliveFallsTo(params, { x: 3, tx: 38, T: 38 }, 0)).toBe(Infinity);
  });

  const paramsArbitrary = fc.record({
    r: fc.double({ min: 0.05, max: 5, noNaN: true }),
    alpha: fc.double({ min: 0.1, max: 50, noNaN: true }),
    a: fc.double({ min: 0.1, max: 5, noNaN: true }),
    b: fc.double({ min: 0.1, max: 10, noNaN: true }),
  });
  const statsArbitrary = fc
    .record({
      x: fc.integer({ min: 0, max: 300 }),
      tx: fc.double({ min: 0, max: 100, noNaN: true }),
      gap: fc.double({ min: 0, max: 100, noNaN: true }),
    })
    .map(({ x, tx, gap }) => ({ x, tx: x === 0 ? 0 : tx, T: (x === 0 ? 0 : tx) + gap }));

  it('P(alive) at the returned time equals the threshold (property)', () => {
    fc.assert(
      fc.property(
        paramsArbitrary,
        statsArbitrary,
        fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        (p, stats, threshold) => {
          const when = timeWhenAliveFallsTo(p, stats, threshold);
          const now = probabilityAlive(p, stats);
          if (stats.x === 0) return when === Infinity;
          if (now <= threshold) return when === stats.T;
          expect(when).toBeGreaterThanOrEqual(stats.T);
          expect(relativeError(probabilityAlive(p, { ...stats, T: when }), threshold)).toBeLessThan(1e-9);
          return true;
        },
      ),
    );
  });

  it('P(alive) does not increase with age while no purchase happens (property)', () => {
    fc.assert(
      fc.property(paramsArbitrary, statsArbitrary, fc.double({ min: 0, max: 100, noNaN: true }), (p, stats, later) => {
        const now = probabilityAlive(p, stats);
        const after = probabilityAlive(p, { ...stats, T: stats.T + later });
        return after <= now && after >= 0 && now <= 1;
      }),
    );
  });
});

describe('Gamma–Gamma on CDNOW', () => {
  const exactMeans = customers.map((c) => ({ x: c.x, meanSpend: c.meanRepeatSpend }));
  const csvMeans = readCdnowSummaryWithSpend().map((row) => ({ x: row.x, meanSpend: row.zbar }));

  it('reproduces the published estimates from the exact means of the repeat transactions', () => {
    expect(exactMeans.filter((c) => c.x > 0)).toHaveLength(946);
    const { params, logLikelihood } = fitGammaGamma(exactMeans);
    expect(params.p).toBeCloseTo(PUBLISHED_GAMMA_GAMMA.p, 2);
    expect(params.q).toBeCloseTo(PUBLISHED_GAMMA_GAMMA.q, 2);
    expect(params.gamma).toBeCloseTo(PUBLISHED_GAMMA_GAMMA.gamma, 2);
    expect(logLikelihood).toBeCloseTo(gammaGammaLogLikelihood(params, exactMeans), 9);
  });

  it('reproduces lifetimes’ estimates and predictions from the csv’s rounded zbar', () => {
    const { params } = fitGammaGamma(csvMeans);
    expect(params.p).toBeCloseTo(LIFETIMES_DOCS_GAMMA_GAMMA.p, 2);
    expect(params.q).toBeCloseTo(LIFETIMES_DOCS_GAMMA_GAMMA.q, 2);
    expect(params.gamma).toBeCloseTo(LIFETIMES_DOCS_GAMMA_GAMMA.gamma, 2);
    // conditional_expected_average_profit for the first ten customers, from lifetimes' docs.
    const documented = [
      24.658619, 18.911489, 35.170981, 35.170981, 35.170981, 71.462843, 18.911489, 35.170981, 27.282408, 35.170981,
    ];
    csvMeans.slice(0, 10).forEach((c, i) => {
      expect(expectedMeanSpend(params, c.x, c.meanSpend)).toBeCloseTo(documented[i] as number, 3);
    });
  });

  it('shrinks a customer’s mean towards the population mean, less with more transactions', () => {
    const params = PUBLISHED_GAMMA_GAMMA;
    const population = (params.p * params.gamma) / (params.q - 1);
    expect(expectedMeanSpend(params, 0, 0)).toBeCloseTo(population, 12);
    const few = expectedMeanSpend(params, 1, 100);
    const many = expectedMeanSpend(params, 50, 100);
    expect(few).toBeGreaterThan(population);
    expect(many).toBeGreaterThan(few);
    expect(many).toBeLessThan(100);
    expect(expectedMeanSpend({ p: 1, q: 0.5, gamma: 10 }, 0, 0)).toBe(Infinity);
  });

  it('ignores customers without repeat transactions in the likelihood', () => {
    const params = PUBLISHED_GAMMA_GAMMA;
    const repeaters = exactMeans.filter((c) => c.x > 0);
    expect(gammaGammaLogLikelihood(params, exactMeans)).toBe(gammaGammaLogLikelihood(params, repeaters));
  });
});
