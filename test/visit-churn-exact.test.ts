/**
 * The visit posterior's evaluation is tuned for speed (logs kept across checks, shared
 * interval ends taken once); churn alerts and timer due times must not move by a bit for it.
 * The oracle here is the straightforward formulation the tuned one replaced, every log
 * taken where the formula has it: the evidence must be the same numbers exactly (Object.is),
 * and so the crossing search, run on each, the same time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { log1mExp, logAddExp, logExpm1 } from '../src/analytics/special-functions.js';
import {
  visitChurn,
  VisitChurnEvaluator,
  type VisitChurnPrior,
  type VisitStats,
} from '../src/analytics/visit-churn.js';

const MAX_INTERVALS = 32;

/** ln odds of gone and lapsed as of `now`, computed afresh (the formulation before tuning). */
function reference(v: VisitStats, prior: VisitChurnPrior, now: number): { gone: number; lapsed: number } {
  const w = prior.priorVisits;
  const k = v.cartless;
  const r = w + Math.max(0, v.sessionsToIntent - 1);
  const alpha = w * prior.meanGapDays + Math.max(0, v.lastIntent - v.firstSession);
  const a = w * prior.intentShare + v.intentSessions;
  const b = w * (1 - prior.intentShare) + Math.max(0, v.sessionsToIntent - v.intentSessions);
  const R = r + k;
  const n = R - 1;
  const sv = Math.max(0, v.lastSession - v.lastIntent);
  const c1 = k > 0 && v.firstCartless > v.lastIntent ? Math.min(sv, v.firstCartless - v.lastIntent) : sv;
  const spacing = k > 1 ? (sv - c1) / (k - 1) : 0;
  const rho = prior.lapsedVisitRatio;
  const logH = Math.log(prior.hazardPerDay);
  const logGonePrior = Math.log(1 - prior.lapsedShare) + logH;
  const logLapsedPrior = prior.lapsedShare > 0 ? Math.log(prior.lapsedShare) + logH : -Infinity;
  const logN = Math.log(n);
  const logIntegralScale = -Math.log((1 - rho) * n);
  const logRho = Math.log(rho);
  let logNoIntentK = 0;
  for (let i = 0; i < k; i++) logNoIntentK += Math.log((b + i) / (a + b + i));
  const early = Math.min(k, MAX_INTERVALS);
  const logWeight: number[] = [];
  let logNoIntentJ = 0;
  for (let j = 0; j < early; j++) {
    logWeight[j] = (k - j) * logRho + logNoIntentJ - logNoIntentK;
    logNoIntentJ += Math.log((b + j) / (a + b + j));
  }
  logWeight[early] = 0;
  const terms = early + 1;
  const s = Math.max(sv, now - v.lastIntent);
  const u = s - sv;
  const as = alpha + s;
  const logAs = Math.log(as);
  const gone = u > 0 ? logGonePrior + logAs - logN + logExpm1(n * Math.log(as / (as - u))) : -Infinity;
  let lapsed = -Infinity;
  if (s > 0 && logLapsedPrior > -Infinity) {
    const base = alpha + rho * s;
    const last = terms - 1;
    for (let t = 0; t <= last; t++) {
      const j = t === last ? k : t;
      const from = j === 0 ? 0 : c1 + (j - 1) * spacing;
      const to = j === k ? s : c1 + j * spacing;
      if (!(to > from)) continue;
      const lo = from === 0 ? 0 : n * Math.log1p(((1 - rho) * from) / base);
      const hi = n * Math.log1p(((1 - rho) * to) / base);
      lapsed = logAddExp(lapsed, logWeight[t]! + (-lo + log1mExp(hi - lo)));
    }
    lapsed += logLapsedPrior + R * logAs - n * Math.log(base) + logIntegralScale;
  }
  return { gone, lapsed };
}

/** The crossing search of visit-churn.ts, run on the reference evaluation. */
function referenceCrossing(
  v: VisitStats,
  prior: VisitChurnPrior,
  threshold: number,
  from: number,
  horizonDays: number,
  resolutionDays: number,
): number {
  const f = (at: number) => {
    const e = reference(v, prior, at);
    return logAddExp(e.gone, e.lapsed);
  };
  const target = Math.log(threshold / (1 - threshold));
  let fa = f(from) - target;
  if (fa >= 0) return from;
  let a = 0;
  const w = prior.priorVisits;
  const r = w + Math.max(0, v.sessionsToIntent - 1);
  const alpha = w * prior.meanGapDays + Math.max(0, v.lastIntent - v.firstSession);
  const logGonePrior = Math.log(1 - prior.lapsedShare) + Math.log(prior.hazardPerDay);
  const rate = (r - 1) / alpha;
  const sv = Math.max(0, v.lastSession - v.lastIntent);
  const guess = Math.log1p(Math.exp(target - logGonePrior) * rate) / rate - Math.max(0, from - v.lastIntent - sv);
  let step = Math.min(horizonDays, Math.max(resolutionDays, guess));
  let b = step;
  let fb = f(from + b) - target;
  while (fb < 0) {
    if (step >= horizonDays) return Infinity;
    a = b;
    fa = fb;
    step = Math.min(horizonDays, 2 * step);
    b = step;
    fb = f(from + b) - target;
  }
  if (!Number.isFinite(fa)) fa = -1e3;
  let side = 0;
  let width = Infinity;
  while (b - a > resolutionDays) {
    let c = (a * fb - b * fa) / (fb - fa);
    if (b - a > 0.5 * width) c = 0.5 * (a + b);
    width = b - a;
    c = Math.min(b - 0.25 * resolutionDays, Math.max(a + 0.25 * resolutionDays, c));
    const fc = f(from + c) - target;
    if (fc >= 0) {
      b = c;
      fb = fc;
      if (side === 1) fa *= 0.5;
      side = 1;
    } else {
      a = c;
      fa = fc;
      if (side === -1) fb *= 0.5;
      side = -1;
    }
  }
  return from + b;
}

const priors = fc.record({
  hazardPerDay: fc.constantFrom(0.5 / 365, 2 / 365, 0.01),
  lapsedShare: fc.constantFrom(0, 0.3, 0.6),
  lapsedVisitRatio: fc.constantFrom(0.2, 0.05, 0.5),
  // Whole numbers take the logs from the tables; others compute them.
  priorVisits: fc.oneof(fc.integer({ min: 2, max: 6 }), fc.double({ min: 1.01, max: 8, noNaN: true })),
  meanGapDays: fc.double({ min: 0.001, max: 30, noNaN: true }),
  intentShare: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
});

const stats = fc
  .record({
    firstSession: fc.double({ min: 0, max: 100, noNaN: true }),
    span: fc.double({ min: 0, max: 200, noNaN: true }),
    sessions: fc.integer({ min: 1, max: 150 }),
    intentShare: fc.double({ min: 0, max: 1, noNaN: true }),
    // Past MAX_INTERVALS too, where the earliest intervals and the last are summed.
    cartless: fc.integer({ min: 0, max: 45 }),
    firstAfter: fc.double({ min: 0, max: 30, noNaN: true }),
    between: fc.double({ min: 0, max: 60, noNaN: true }),
  })
  .map(({ firstSession, span, sessions, intentShare, cartless, firstAfter, between }): VisitStats => {
    const lastIntent = firstSession + span;
    const firstCartless = cartless > 0 ? lastIntent + firstAfter : NaN;
    return {
      firstSession,
      lastIntent,
      lastSession: cartless > 0 ? firstCartless + (cartless > 1 ? between : 0) : lastIntent,
      firstCartless,
      sessionsToIntent: sessions,
      intentSessions: Math.min(sessions, Math.max(1, Math.round(intentShare * sessions))),
      cartless,
    };
  });

/** The bars a run uses (the same one search after search, under changing priors), and others. */
const bars = fc.oneof(fc.constantFrom(0.8, 0.9), fc.double({ min: 0.5, max: 0.99, noNaN: true }));

/** One evaluator for the file, as a churn process keeps one: its log caches carry over between customers. */
const evaluator = new VisitChurnEvaluator();

describe('visit churn evaluation, tuned', () => {
  it('gives exactly the evidence of the straightforward formulation, whatever prior came before (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(stats, priors, fc.double({ min: 0, max: 500, noNaN: true })), { minLength: 1, maxLength: 4 }),
        (cases) => {
          for (const [v, prior, ahead] of cases) {
            const now = v.lastSession + ahead;
            const e = visitChurn(v, prior, now);
            const o = reference(v, prior, now);
            expect(Object.is(e.logOddsGone, o.gone)).toBe(true);
            expect(Object.is(e.logOddsLapsed, o.lapsed)).toBe(true);
          }
        },
      ),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('finds exactly the crossing the straightforward formulation does, with the logs the search keeps (fast-check)', () => {
    fc.assert(
      fc.property(stats, priors, fc.double({ min: 0, max: 60, noNaN: true }), bars, (v, prior, ahead, threshold) => {
        const now = v.lastSession + ahead;
        evaluator.prepare(v, prior);
        expect(evaluator.preparedTimeWhenStoppedReaches(threshold, now, 3 * 365, 1 / 24)).toBe(
          referenceCrossing(v, prior, threshold, now, 3 * 365, 1 / 24),
        );
      }),
      { numRuns: 500, seed: 5 },
    );
  });
});
