/**
 * The visit posterior's closed forms against direct numerical integration of the model they
 * come from: λ ~ Gamma (quadrature), q ~ Beta, the stop time τ (quadrature), the cartless
 * visits at the evenly spaced times the model assumes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lbeta, lgamma } from '../src/analytics/special-functions.js';
import {
  evidenceLogOdds,
  stoppedProbability,
  timeWhenStoppedReaches,
  visitChurn,
  VisitChurnEvaluator,
  type VisitChurnPrior,
  type VisitStats,
} from '../src/analytics/visit-churn.js';

const PRIOR: VisitChurnPrior = {
  hazardPerDay: 0.5 / 365,
  lapsedShare: 0.3,
  lapsedVisitRatio: 0.2,
  priorVisits: 2,
  meanGapDays: 4,
  intentShare: 0.33,
};
/** One evaluator for the whole file, as a churn process keeps one: its caches carry over between customers. */
const evaluator = new VisitChurnEvaluator();

/** Simpson's rule on n (even) intervals. */
function simpson(from: number, to: number, f: (t: number) => number, n: number): number {
  const d = (to - from) / n;
  let sum = f(from) + f(to);
  for (let i = 1; i < n; i++) sum += (i % 2 === 1 ? 4 : 2) * f(from + i * d);
  return (sum * d) / 3;
}

/** E[f(λ)] under Gamma(r, α) (rate α), in ln λ (dλ = λ dy). */
function gammaExpectation(r: number, alpha: number, f: (lambda: number) => number): number {
  const logNorm = r * Math.log(alpha) - lgamma(r);
  return simpson(
    Math.log(1e-6),
    Math.log(50),
    (y) => Math.exp(logNorm + r * y - alpha * Math.exp(y)) * f(Math.exp(y)),
    600,
  );
}

/** ∫ f(τ) dτ in ln(1 + τ), since the integrands fall steeply right after `from`. */
function integrate(from: number, to: number, f: (t: number) => number): number {
  return simpson(Math.log1p(from), Math.log1p(to), (z) => f(Math.expm1(z)) * Math.exp(z), 64);
}

/** The odds of gone and lapsed against buying, by brute force. */
function oracle(v: VisitStats, prior: VisitChurnPrior, now: number): { gone: number; lapsed: number } {
  const w = prior.priorVisits;
  const r = w + v.sessionsToIntent - 1;
  const alpha = w * prior.meanGapDays + (v.lastIntent - v.firstSession);
  const a = w * prior.intentShare + v.intentSessions;
  const b = w * (1 - prior.intentShare) + (v.sessionsToIntent - v.intentSessions);
  const eq = (j: number) => Math.exp(lbeta(a, b + j) - lbeta(a, b));
  const k = v.cartless;
  const s = now - v.lastIntent;
  const sv = v.lastSession - v.lastIntent;
  const c = Array.from({ length: k }, (_, i) =>
    k > 1 ? v.firstCartless - v.lastIntent + (i * (sv - (v.firstCartless - v.lastIntent))) / (k - 1) : sv,
  );
  const h = prior.hazardPerDay;
  const rho = prior.lapsedVisitRatio;
  const buying = eq(k) * gammaExpectation(r, alpha, (l) => l ** k * Math.exp(-l * s));
  const gone =
    (1 - prior.lapsedShare) *
    h *
    eq(k) *
    integrate(sv, s, (tau) => gammaExpectation(r, alpha, (l) => l ** k * Math.exp(-l * tau)));
  let lapsed = 0;
  for (let j = 0; j <= k; j++) {
    const from = j === 0 ? 0 : c[j - 1]!;
    const to = j === k ? s : c[j]!;
    if (to <= from) continue;
    lapsed +=
      eq(j) *
      rho ** (k - j) *
      integrate(from, to, (tau) =>
        gammaExpectation(r, alpha, (l) => l ** k * Math.exp(-l * tau - rho * l * (s - tau))),
      );
  }
  lapsed *= prior.lapsedShare * h;
  return { gone: gone / buying, lapsed: lapsed / buying };
}

const stats = fc
  .record({
    span: fc.double({ min: 1, max: 200, noNaN: true }),
    sessions: fc.integer({ min: 1, max: 40 }),
    intentShare: fc.double({ min: 0.05, max: 1, noNaN: true }),
    cartless: fc.integer({ min: 0, max: 6 }),
    firstAfter: fc.double({ min: 0.01, max: 30, noNaN: true }),
    between: fc.double({ min: 0, max: 60, noNaN: true }),
    quiet: fc.double({ min: 0.01, max: 80, noNaN: true }),
  })
  .map(({ span, sessions, intentShare, cartless, firstAfter, between, quiet }) => {
    const lastIntent = 100 + span;
    const firstCartless = cartless > 0 ? lastIntent + firstAfter : NaN;
    const lastSession = cartless > 0 ? firstCartless + (cartless > 1 ? between : 0) : lastIntent;
    const v: VisitStats = {
      firstSession: 100,
      lastIntent,
      lastSession,
      firstCartless,
      sessionsToIntent: sessions,
      intentSessions: Math.max(1, Math.round(intentShare * sessions)),
      cartless,
    };
    return { v, now: lastSession + quiet };
  });

describe('visit churn posterior', () => {
  it('matches numerical integration of the model (gone and lapsed odds)', () => {
    fc.assert(
      fc.property(stats, ({ v, now }) => {
        const e = visitChurn(v, PRIOR, now);
        const o = oracle(v, PRIOR, now);
        // Odds within 0.2%.
        if (Number.isFinite(e.logOddsGone) || o.gone > 0)
          expect(Math.abs(e.logOddsGone - Math.log(o.gone))).toBeLessThan(0.002);
        expect(Math.abs(e.logOddsLapsed - Math.log(o.lapsed))).toBeLessThan(0.002);
        expect(e.pStopped).toBeCloseTo((o.gone + o.lapsed) / (1 + o.gone + o.lapsed), 3);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it('a regular visitor who goes quiet is judged stopped sooner than an irregular one', () => {
    // Both bought at day 100 and visited about every 4 days; one over 100 days, one over 8.
    const regular: VisitStats = {
      firstSession: 0,
      lastIntent: 100,
      lastSession: 100,
      firstCartless: NaN,
      sessionsToIntent: 26,
      intentSessions: 8,
      cartless: 0,
    };
    const newcomer: VisitStats = { ...regular, firstSession: 92, sessionsToIntent: 3, intentSessions: 1 };
    const at = (v: VisitStats) => timeWhenStoppedReaches(v, PRIOR, 0.9, 100, 3 * 365, 1 / 24);
    expect(at(regular)).toBeLessThan(at(newcomer));
    expect(visitChurn(regular, PRIOR, 140).pStopped).toBeGreaterThan(visitChurn(newcomer, PRIOR, 140).pStopped);
  });

  it('visits without a cart are evidence of lapsing; a visit with one resets it', () => {
    // A customer who put something in the cart every other visit, about every 4 days.
    const before: VisitStats = {
      firstSession: 0,
      lastIntent: 100,
      lastSession: 100,
      firstCartless: NaN,
      sessionsToIntent: 26,
      intentSessions: 13,
      cartless: 0,
    };
    // Since day 100: four visits between day 110 and 150, none with a cart.
    const browsing: VisitStats = { ...before, lastSession: 150, firstCartless: 110, cartless: 4 };
    const e = visitChurn(browsing, PRIOR, 160);
    expect(e.logOddsLapsed).toBeGreaterThan(e.logOddsGone); // the last visit was only 10 days ago
    expect(e.pStopped).toBeGreaterThan(0.5);
    const back: VisitStats = { ...before, lastIntent: 150, lastSession: 150, sessionsToIntent: 31, intentSessions: 14 };
    expect(visitChurn(back, PRIOR, 160).pStopped).toBeLessThan(0.1 * e.pStopped);
  });

  it('finds the crossing time to its resolution, and Infinity past the horizon', () => {
    fc.assert(
      fc.property(stats, fc.double({ min: 0.5, max: 0.99, noNaN: true }), ({ v, now }, threshold) => {
        const t = timeWhenStoppedReaches(v, PRIOR, threshold, now, 3 * 365, 1 / 24);
        if (!Number.isFinite(t)) {
          expect(visitChurn(v, PRIOR, now + 3 * 365).pStopped).toBeLessThan(threshold);
          return;
        }
        expect(visitChurn(v, PRIOR, t).pStopped).toBeGreaterThanOrEqual(threshold);
        if (t > now) expect(visitChurn(v, PRIOR, t - 1 / 24).pStopped).toBeLessThan(threshold);
      }),
      { numRuns: 100, seed: 3 },
    );
  });

  it('a search started from the evidence already judged finds exactly the crossing a fresh search does', () => {
    // As a churn check asks: the evidence now, P(stopped) at an armed time, then the crossing.
    fc.assert(
      fc.property(
        stats,
        fc.double({ min: 0.5, max: 0.99, noNaN: true }),
        fc.double({ min: 0, max: 400, noNaN: true }),
        ({ v, now }, threshold, ahead) => {
          const fresh = timeWhenStoppedReaches(v, PRIOR, threshold, now, 3 * 365, 1 / 24);
          evaluator.prepare(v, PRIOR);
          const e = evaluator.preparedVisitChurn(now);
          evaluator.preparedPStopped(now + ahead);
          expect(
            evaluator.preparedTimeWhenStoppedReachesFrom(threshold, now, evidenceLogOdds(e), 3 * 365, 1 / 24),
          ).toBe(fresh);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a time before the crossing is proved before it; NaN only when the first guess is past it; Infinity only when a search finds none', () => {
    // What a session close arms instead of searching: it must never be at or after the crossing, or a warning would come late.
    let early = 0;
    fc.assert(
      fc.property(stats, fc.double({ min: 0.5, max: 0.99, noNaN: true }), ({ v, now }, threshold) => {
        const crossing = timeWhenStoppedReaches(v, PRIOR, threshold, now, 3 * 365, 1 / 24);
        evaluator.prepare(v, PRIOR);
        const before = evaluator.preparedTimeBeforeCrossing(
          threshold,
          now,
          evaluator.preparedLogOdds(now),
          3 * 365,
          1 / 24,
        );
        if (Number.isNaN(before)) {
          // Searched instead: then the guess was no help, and the crossing is near (or now).
          expect(Number.isFinite(crossing)).toBe(true);
          return;
        }
        if (before === Infinity) {
          expect(crossing).toBe(Infinity);
          return;
        }
        early++;
        expect(before).toBeGreaterThan(now);
        expect(visitChurn(v, PRIOR, before).pStopped).toBeLessThan(threshold);
        expect(crossing).toBeGreaterThan(before);
      }),
      { numRuns: 300, seed: 5 },
    );
    // The case that saves a search must be common here too (many drawn customers are past their crossing already).
    expect(early).toBeGreaterThan(60);
  });

  it('evaluators share no state: one prepared customer is unaffected by another evaluator asked in between (fast-check)', () => {
    // Each worker's churn process owns an evaluator; module-level scratch would mix their customers.
    const other = new VisitChurnEvaluator();
    fc.assert(
      fc.property(stats, stats, fc.double({ min: 0, max: 400, noNaN: true }), (a, b, ahead) => {
        evaluator.prepare(a.v, PRIOR);
        other.prepare(b.v, { ...PRIOR, priorVisits: 3, lapsedVisitRatio: 0.4 });
        other.preparedPStopped(b.now + ahead);
        expect(evaluator.preparedVisitChurn(a.now)).toEqual(visitChurn(a.v, PRIOR, a.now));
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  it('the log odds alone, then the evidence, are exactly what preparedVisitChurn gives (fast-check)', () => {
    fc.assert(
      fc.property(stats, fc.double({ min: 0, max: 400, noNaN: true }), ({ v, now }, ahead) => {
        evaluator.prepare(v, PRIOR);
        const e = evaluator.preparedVisitChurn(now);
        evaluator.preparedPStopped(now + ahead); // another evaluation in between, as a check makes
        const logOdds = evaluator.preparedLogOdds(now);
        expect(logOdds).toBe(evidenceLogOdds(e));
        expect(stoppedProbability(logOdds)).toBe(e.pStopped);
        expect(evaluator.preparedEvidence()).toEqual(e);
      }),
      { numRuns: 300 },
    );
  });
});
