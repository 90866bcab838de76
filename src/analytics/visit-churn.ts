import { log1mExp, logAddExp, logExpm1 } from './special-functions.js';

/**
 * Churn from a customer's visits, as one posterior instead of rules that fire first-wins.
 *
 * Purchases alone cannot tell a lapsed buyer from an active one with long irregular gaps:
 * most shoppers visit many times per purchase. Visits can. While a customer is *buying*,
 * their sessions arrive as a Poisson process at their own rate λ and each carries buying
 * intent (a cart or a purchase) with their own probability q. Once they stop buying they
 * either stop visiting ("gone") or drop by now and then at a fraction ρ of their old rate,
 * never with a cart ("lapsed"). A session with intent proves they were still buying then,
 * so all evidence is what happened since the last one: time s since it, k sessions without
 * a cart since, and time u since the last session of any kind.
 *
 * λ is Gamma(r, α) a posteriori from the sessions up to the last intent (a prior of
 * `priorVisits` pseudo-gaps of the population's mean gap, plus the customer's own), q is
 * Beta a posteriori (a prior of `priorVisits` sessions at the population's intent share).
 * Integrating over λ makes a long silence of a customer with few visits much less damning
 * than of a regular: the customer's gap distribution is heavy-tailed (Pareto) unless they
 * have shown a steady rhythm. Stopping is a hazard h per day. The odds of stopped against
 * still buying are then closed forms (derivation in docs/analytics.md):
 *
 *   gone:   π_G h (α+s)/(R−1) · [((α+s)/(α+s−u))^(R−1) − 1]
 *   lapsed: π_L h ρ^k / E[(1−q)^k] · (α+s)^R · [(α+ρs)^(1−R) − (α+ρs+(1−ρ)s₁)^(1−R)] / ((1−ρ)(R−1))
 *
 * with R = r + k and s₁ the time from the last intent to the first cartless session after
 * it (the lapsed term assumes every cartless session came after the stop, a lower bound).
 * Everything is a pure function of a few numbers kept per customer.
 */
export interface VisitChurnPrior {
  /** Hazard of stopping, per day. */
  readonly hazardPerDay: number;
  /** Share of those who stop buying that keep browsing. */
  readonly lapsedShare: number;
  /** A lapsed browser's visit rate as a share of their rate while buying. */
  readonly lapsedVisitRatio: number;
  /** Weight of the population in the customer's rate and intent share, in sessions. */
  readonly priorVisits: number;
  /** The population's mean time between sessions, days. */
  readonly meanGapDays: number;
  /** The population's share of sessions with intent. */
  readonly intentShare: number;
}

/** A customer's visit history as sufficient statistics (times in days on any common origin). */
export interface VisitStats {
  /** Start of the first session. */
  firstSession: number;
  /** End of the latest session with a cart or a purchase. */
  lastIntent: number;
  /** End of the latest session. */
  lastSession: number;
  /** Start of the first session without intent after the last intent; NaN when none. */
  firstCartless: number;
  /** Sessions up to and including the last one with intent. */
  sessionsToIntent: number;
  /** Sessions with intent among those. */
  intentSessions: number;
  /** Sessions without intent since the last one with. */
  cartless: number;
}

export interface VisitChurnEvidence {
  /** ln odds of "stopped and gone" against "still buying". */
  logOddsGone: number;
  /** ln odds of "stopped and only browsing" against "still buying". */
  logOddsLapsed: number;
  /** P(stopped buying). */
  pStopped: number;
  /** The customer's expected time between sessions while buying, days (the posterior mean of 1/λ's scale). */
  meanGapDays: number;
  /** Posterior mean share of their sessions with intent. */
  intentShare: number;
}

/** Lapsed-term intervals summed at most: the earliest stops (most visits lapsed, the terms that matter for a lapsed browser) and the last one. */
const MAX_INTERVALS = 32;

/**
 * Everything about a customer that does not change with `now`, so a search over time costs
 * a few logarithms per step. Scratch of one `VisitChurnEvaluator`: evaluation is
 * synchronous and not re-entrant, and this keeps a churn check free of allocations.
 */
const newPrep = () => ({
  r: 0,
  alpha: 0,
  /** The intent share's Beta(a, b). */
  a: 0,
  b: 0,
  k: 0,
  R: 0,
  n: 0,
  lastIntent: 0,
  /** Time of the last session after the last intent. */
  sv: 0,
  /** Time of the first cartless visit after the last intent. */
  c1: 0,
  spacing: 0,
  rho: 0,
  logGonePrior: 0,
  logLapsedPrior: 0,
  logN: 0,
  logIntegralScale: 0,
  /** Intervals j = 0 … terms−2, then the last (j = k). */
  terms: 0,
  /** ln of ρ^(k−j)·E[(1−q)^j]/E[(1−q)^k] per summed interval. */
  logWeight: new Float64Array(MAX_INTERVALS + 1),
  gone: 0,
  lapsed: 0,
  /** The time `evaluate` answers for, and its answer, ln odds of stopped against buying (fields, not an argument and a return value: see there). */
  now: 0,
  total: 0,
});

/**
 * Logs that `prepare` would otherwise take at every churn check although their arguments
 * hardly ever change: those of the configured parts of the prior (the same for a whole run),
 * kept with the values they were taken of, and those of the small whole numbers n = R − 1
 * and (1−ρ)·n that the default prior (`priorVisits` a whole number) gives. Each is what the
 * same `Math.log` call gave before, so the evidence is the same to the last bit.
 */
const newFixedLogs = () => ({
  hazardPerDay: NaN,
  lapsedShare: NaN,
  rho: NaN,
  logGonePrior: 0,
  logLapsedPrior: 0,
  logRho: 0,
});
/** n = R − 1 below this, a whole number, has its logs in the tables. */
const SMALL_N = 128;

/** One evaluator's scratch and caches (see `VisitChurnEvaluator`). */
function newScratch() {
  return {
    prep: newPrep(),
    fixedLogs: newFixedLogs(),
    /** ln n and −ln((1−ρ)·n) by whole n (NaN until taken); the second for `fixedLogs.rho`. */
    logNOf: new Float64Array(SMALL_N).fill(NaN),
    logScaleOf: new Float64Array(SMALL_N).fill(NaN),
    /** ln((b+i)/(a+b+i)) for the first `MAX_INTERVALS` i, taken once for both sums in `prepare`. */
    logNoIntentStep: new Float64Array(MAX_INTERVALS),
    searchLogs: newSearchLogs(),
    firstStep: { target: 0, step: 0 },
  };
}
type Scratch = ReturnType<typeof newScratch>;

function prepare(s: Scratch, v: VisitStats, prior: VisitChurnPrior): void {
  const { prep, fixedLogs, logNOf, logScaleOf, logNoIntentStep } = s;
  const w = prior.priorVisits;
  const k = v.cartless;
  prep.r = w + Math.max(0, v.sessionsToIntent - 1);
  prep.alpha = w * prior.meanGapDays + Math.max(0, v.lastIntent - v.firstSession);
  prep.a = w * prior.intentShare + v.intentSessions;
  prep.b = w * (1 - prior.intentShare) + Math.max(0, v.sessionsToIntent - v.intentSessions);
  prep.k = k;
  prep.R = prep.r + k;
  const n = prep.R - 1; // > 0: priorVisits > 1 is enforced by the config schema
  prep.n = n;
  prep.lastIntent = v.lastIntent;
  prep.sv = Math.max(0, v.lastSession - v.lastIntent);
  prep.c1 = k > 0 && v.firstCartless > v.lastIntent ? Math.min(prep.sv, v.firstCartless - v.lastIntent) : prep.sv;
  prep.spacing = k > 1 ? (prep.sv - prep.c1) / (k - 1) : 0;
  const rho = prior.lapsedVisitRatio;
  prep.rho = rho;
  if (
    prior.hazardPerDay !== fixedLogs.hazardPerDay ||
    prior.lapsedShare !== fixedLogs.lapsedShare ||
    rho !== fixedLogs.rho
  ) {
    const logH = Math.log(prior.hazardPerDay);
    fixedLogs.logGonePrior = Math.log(1 - prior.lapsedShare) + logH;
    fixedLogs.logLapsedPrior = prior.lapsedShare > 0 ? Math.log(prior.lapsedShare) + logH : -Infinity;
    fixedLogs.logRho = Math.log(rho);
    if (rho !== fixedLogs.rho) logScaleOf.fill(NaN);
    fixedLogs.hazardPerDay = prior.hazardPerDay;
    fixedLogs.lapsedShare = prior.lapsedShare;
    fixedLogs.rho = rho;
  }
  prep.logGonePrior = fixedLogs.logGonePrior;
  prep.logLapsedPrior = fixedLogs.logLapsedPrior;
  if (Number.isInteger(n) && n >= 0 && n < SMALL_N) {
    let logN = logNOf[n]!;
    if (Number.isNaN(logN)) logN = logNOf[n] = Math.log(n);
    let scale = logScaleOf[n]!;
    if (Number.isNaN(scale)) scale = logScaleOf[n] = -Math.log((1 - rho) * n);
    prep.logN = logN;
    prep.logIntegralScale = scale;
  } else {
    prep.logN = Math.log(n);
    prep.logIntegralScale = -Math.log((1 - rho) * n);
  }
  // ln E[(1−q)^j] = Σ_(i<j) ln((b+i)/(a+b+i)); the weight of interval j is ρ^(k−j)·E[(1−q)^j]/E[(1−q)^k].
  const logRho = fixedLogs.logRho;
  const early = Math.min(k, MAX_INTERVALS);
  let logNoIntentK = 0;
  for (let i = 0; i < k; i++) {
    const step = Math.log((prep.b + i) / (prep.a + prep.b + i));
    if (i < early) logNoIntentStep[i] = step;
    logNoIntentK += step;
  }
  let logNoIntentJ = 0;
  for (let j = 0; j < early; j++) {
    prep.logWeight[j] = (k - j) * logRho + logNoIntentJ - logNoIntentK;
    logNoIntentJ += logNoIntentStep[j]!;
  }
  prep.logWeight[early] = 0; // j = k
  prep.terms = early + 1;
}

/**
 * ∫ (base + (1−ρ)τ)^(−R) dτ over (from, to) in logs, without base^(−n) and 1/((1−ρ)n), is
 * −lo + ln(1 − e^(lo−hi)) with lo and hi the ends' n·ln(1 + (1−ρ)τ/base): see `evaluate`.
 */
function logEnd(n: number, rho: number, base: number, at: number): number {
  return n * Math.log1p(((1 - rho) * at) / base);
}

/**
 * ln odds of gone and of lapsed against still buying as of prep.now, into prep.gone and
 * prep.lapsed, and of stopped (both) into prep.total. The lapsed term sums over where the
 * stop fell among the k cartless visits (j of them still while buying, the rest lapsed);
 * only the first and last visit times are kept, so the ones between are taken as evenly
 * spaced. Time and answer are fields rather than an argument and a return value: a number
 * passed to or returned from a call V8 does not inline is boxed, an allocation each way per
 * evaluation (a churn check runs a bisection of them; a number field is updated in place).
 */
function evaluate(prep: Prep): void {
  const { n, R, rho, sv, now } = prep;
  const s = Math.max(sv, now - prep.lastIntent);
  const u = s - sv;
  const as = prep.alpha + s;
  const logAs = Math.log(as); // both terms need it
  const gone = u > 0 ? prep.logGonePrior + logAs - prep.logN + logExpm1(n * Math.log(as / (as - u))) : -Infinity;
  let lapsed = -Infinity;
  if (s > 0 && prep.logLapsedPrior > -Infinity) {
    const base = prep.alpha + rho * s;
    const k = prep.k;
    const last = prep.terms - 1;
    // Consecutive intervals share an end (the same sum, so the same number): its log is taken once.
    let endAt = NaN;
    let endLog = 0;
    for (let t = 0; t <= last; t++) {
      const j = t === last ? k : t;
      const from = j === 0 ? 0 : prep.c1 + (j - 1) * prep.spacing;
      const to = j === k ? s : prep.c1 + j * prep.spacing;
      if (to > from) {
        // The first interval starts at 0, where the log is 0: no call (the same value, n being finite).
        const lo = from === 0 ? 0 : from === endAt ? endLog : logEnd(n, rho, base, from);
        const hi = logEnd(n, rho, base, to);
        endAt = to;
        endLog = hi;
        lapsed = logAddExp(lapsed, prep.logWeight[t]! + (-lo + log1mExp(hi - lo)));
      }
    }
    lapsed += prep.logLapsedPrior + R * logAs - n * Math.log(base) + prep.logIntegralScale;
  }
  prep.gone = gone;
  prep.lapsed = lapsed;
  prep.total = logAddExp(gone, lapsed);
}

/** The evidence as of `now` (≥ the last session's end), from a fresh evaluator: for one-off questions. */
export function visitChurn(v: VisitStats, prior: VisitChurnPrior, now: number): VisitChurnEvidence {
  return new VisitChurnEvaluator().visitChurn(v, prior, now);
}

type Prep = ReturnType<typeof newPrep>;

/**
 * Evaluates the visit posterior with scratch and log caches of its own, so evaluators never
 * share mutable state (a churn process owns one; a worker thread has its own processes).
 * Calls are synchronous and not re-entrant on one evaluator.
 *
 * One customer asked several times (the evidence now, at an armed check, the crossing):
 * `prepare` once, then the `prepared…` methods, which answer exactly as `visitChurn` and
 * `timeWhenStoppedReaches` would for those statistics. Valid until the next call that
 * prepares another customer (any of the unprefixed methods).
 */
export class VisitChurnEvaluator {
  private readonly s = newScratch();

  /** The evidence as of `now` (≥ the last session's end). */
  visitChurn(v: VisitStats, prior: VisitChurnPrior, now: number): VisitChurnEvidence {
    prepare(this.s, v, prior);
    return preparedVisitChurn(this.s.prep, now);
  }

  prepare(v: VisitStats, prior: VisitChurnPrior): void {
    prepare(this.s, v, prior);
  }

  /** `visitChurn(v, prior, now)` for the customer last prepared. */
  preparedVisitChurn(now: number): VisitChurnEvidence {
    return preparedVisitChurn(this.s.prep, now);
  }

  /** `visitChurn(v, prior, now).pStopped` for the customer last prepared, without the evidence object. */
  preparedPStopped(now: number): number {
    return preparedPStopped(this.s.prep, now);
  }

  /** See `preparedLogOdds` below. */
  preparedLogOdds(now: number): number {
    return preparedLogOdds(this.s.prep, now);
  }

  /** The evidence of the last `preparedLogOdds` call, as `preparedVisitChurn` would have given it. */
  preparedEvidence(): VisitChurnEvidence {
    return preparedEvidence(this.s.prep);
  }

  /** See `timeWhenStoppedReaches` below. */
  timeWhenStoppedReaches(
    v: VisitStats,
    prior: VisitChurnPrior,
    threshold: number,
    from: number,
    horizonDays: number,
    resolutionDays: number,
  ): number {
    prepare(this.s, v, prior);
    return preparedTimeWhenStoppedReaches(this.s, threshold, from, horizonDays, resolutionDays);
  }

  /** `timeWhenStoppedReaches` for the customer last prepared. */
  preparedTimeWhenStoppedReaches(threshold: number, from: number, horizonDays: number, resolutionDays: number): number {
    return preparedTimeWhenStoppedReaches(this.s, threshold, from, horizonDays, resolutionDays);
  }

  /** See `preparedTimeBeforeCrossing` below. */
  preparedTimeBeforeCrossing(
    threshold: number,
    from: number,
    logOddsAtFrom: number,
    horizonDays: number,
    resolutionDays: number,
  ): number {
    return preparedTimeBeforeCrossing(this.s, threshold, from, logOddsAtFrom, horizonDays, resolutionDays);
  }

  /** See `preparedTimeWhenStoppedReachesFrom` below. */
  preparedTimeWhenStoppedReachesFrom(
    threshold: number,
    from: number,
    logOddsAtFrom: number,
    horizonDays: number,
    resolutionDays: number,
  ): number {
    return preparedTimeWhenStoppedReachesFrom(this.s, threshold, from, logOddsAtFrom, horizonDays, resolutionDays);
  }
}

/** `visitChurn(v, prior, now)` for the customer last prepared. */
function preparedVisitChurn(prep: Prep, now: number): VisitChurnEvidence {
  prep.now = now;
  evaluate(prep);
  return evidenceOf(prep, prep.total);
}

/** `visitChurn(v, prior, now).pStopped` for the customer last prepared, without the evidence object. */
function preparedPStopped(prep: Prep, now: number): number {
  prep.now = now;
  evaluate(prep);
  return stoppedProbability(prep.total);
}

/**
 * ln odds of stopped against buying as of `now` for the customer last prepared: what
 * `evidenceLogOdds(preparedVisitChurn(now))` gives, without the evidence object (a check that
 * does not warn needs only this). `preparedEvidence` then gives the object, until the next evaluation.
 */
function preparedLogOdds(prep: Prep, now: number): number {
  prep.now = now;
  evaluate(prep);
  return prep.total;
}

/** The evidence of the last `preparedLogOdds` call, as `preparedVisitChurn` would have given it. */
function preparedEvidence(prep: Prep): VisitChurnEvidence {
  return evidenceOf(prep, logAddExp(prep.gone, prep.lapsed));
}

/** P(stopped buying) from its ln odds. */
export function stoppedProbability(logOdds: number): number {
  return 1 / (1 + Math.exp(-logOdds));
}

function evidenceOf(prep: Prep, total: number): VisitChurnEvidence {
  return {
    logOddsGone: prep.gone,
    logOddsLapsed: prep.lapsed,
    pStopped: stoppedProbability(total),
    meanGapDays: prep.alpha / (prep.r - 1),
    intentShare: prep.a / (prep.a + prep.b),
  };
}

/**
 * The first time from `from` on at which P(stopped) reaches `threshold` if nothing else
 * happens (both odds grow with time), to `resolutionDays`; Infinity beyond `horizonDays`.
 * The log odds are smooth and increasing in time, so after bracketing (doubling from a
 * tenth of the customer's mean gap) a safeguarded regula falsi (Illinois) takes a handful
 * of steps where bisection would take a dozen.
 */
export function timeWhenStoppedReaches(
  v: VisitStats,
  prior: VisitChurnPrior,
  threshold: number,
  from: number,
  horizonDays: number,
  resolutionDays: number,
): number {
  return new VisitChurnEvaluator().timeWhenStoppedReaches(v, prior, threshold, from, horizonDays, resolutionDays);
}

/** `timeWhenStoppedReaches` for the customer last prepared. */
function preparedTimeWhenStoppedReaches(
  s: Scratch,
  threshold: number,
  from: number,
  horizonDays: number,
  resolutionDays: number,
): number {
  const prep = s.prep;
  prep.now = from;
  evaluate(prep);
  return preparedTimeWhenStoppedReachesFrom(s, threshold, from, prep.total, horizonDays, resolutionDays);
}

/** ln odds of stopped against buying in evidence as `preparedVisitChurn` gives it: what the search evaluates first. */
export function evidenceLogOdds(e: VisitChurnEvidence): number {
  return logAddExp(e.logOddsGone, e.logOddsLapsed);
}

/**
 * The search's target ln odds and e^(target − ln prior of gone), kept with the bar and prior
 * they were taken of: a run has one or two bars and one prior, so each search would take the
 * same two logarithms again (the same calls, so the same numbers).
 */
const newSearchLogs = () => ({ threshold: NaN, target: 0, logGonePrior: NaN, targetOverGone: 0 });

/** The search's target ln odds (what P(stopped) = `threshold` is) and its first step from `from`, days; into `s.firstStep`. */
function firstStepOf(s: Scratch, threshold: number, from: number, horizonDays: number, resolutionDays: number): void {
  const { prep, searchLogs, firstStep } = s;
  if (threshold !== searchLogs.threshold) {
    searchLogs.threshold = threshold;
    searchLogs.target = Math.log(threshold / (1 - threshold));
    searchLogs.logGonePrior = NaN;
  }
  firstStep.target = searchLogs.target;
  // First guess: when the gone odds alone would reach the target for a Poisson visitor at
  // the posterior mean rate, (1−π_L)·h/λ·(e^(λu) − 1); the heavy tail only makes it later.
  if (prep.logGonePrior !== searchLogs.logGonePrior) {
    searchLogs.logGonePrior = prep.logGonePrior;
    searchLogs.targetOverGone = Math.exp(searchLogs.target - prep.logGonePrior);
  }
  const rate = (prep.r - 1) / prep.alpha;
  const guess = Math.log1p(searchLogs.targetOverGone * rate) / rate - Math.max(0, from - prep.lastIntent - prep.sv);
  firstStep.step = Math.min(horizonDays, Math.max(resolutionDays, guess));
}

/**
 * A time from which the crossing is still ahead, for a caller that would rather not search
 * now: most customers come back long before their crossing (in the core bench, 10 of 50k
 * searched crossings were ever reached), and their next session asks again anyway. It is
 * the search's first guess, `from + step`, proved early by one evaluation: the log odds
 * grow with time, so below the target there means the crossing lies beyond. Infinity when
 * that point is the horizon (the search would give Infinity too); NaN when the guess is
 * already at or past the crossing (about one search in 200 on the core bench): search then,
 * as `preparedTimeWhenStoppedReachesFrom` would, with the same answer. `logOddsAtFrom` as there.
 */
function preparedTimeBeforeCrossing(
  s: Scratch,
  threshold: number,
  from: number,
  logOddsAtFrom: number,
  horizonDays: number,
  resolutionDays: number,
): number {
  const { prep, firstStep } = s;
  firstStepOf(s, threshold, from, horizonDays, resolutionDays);
  if (logOddsAtFrom - firstStep.target >= 0) return NaN;
  const step = firstStep.step;
  prep.now = from + step;
  evaluate(prep);
  if (prep.total - firstStep.target >= 0) return NaN;
  return step >= horizonDays ? Infinity : from + step;
}

/**
 * `preparedTimeWhenStoppedReaches` for a caller that judged the customer as of `from`
 * already: `logOddsAtFrom` is `evidenceLogOdds(preparedVisitChurn(from))`, the search's first
 * evaluation, so the answer is the same with one evaluation fewer.
 */
function preparedTimeWhenStoppedReachesFrom(
  s: Scratch,
  threshold: number,
  from: number,
  logOddsAtFrom: number,
  horizonDays: number,
  resolutionDays: number,
): number {
  const { prep, firstStep } = s;
  firstStepOf(s, threshold, from, horizonDays, resolutionDays);
  const target = firstStep.target;
  let fa = logOddsAtFrom - target;
  if (fa >= 0) return from;
  let a = 0;
  let step = firstStep.step;
  let b = step;
  prep.now = from + b;
  evaluate(prep);
  let fb = prep.total - target;
  while (fb < 0) {
    if (step >= horizonDays) return Infinity;
    a = b;
    fa = fb;
    step = Math.min(horizonDays, 2 * step);
    b = step;
    prep.now = from + b;
    evaluate(prep);
    fb = prep.total - target;
  }
  if (!Number.isFinite(fa)) fa = -1e3; // −∞ log odds at from (nothing yet): any finite stand-in keeps the secant going
  let side = 0;
  let width = Infinity;
  while (b - a > resolutionDays) {
    // The secant point, kept a quarter resolution inside; a bisection when the last step did not halve the bracket.
    let c = (a * fb - b * fa) / (fb - fa);
    if (b - a > 0.5 * width) c = 0.5 * (a + b);
    width = b - a;
    c = Math.min(b - 0.25 * resolutionDays, Math.max(a + 0.25 * resolutionDays, c));
    prep.now = from + c;
    evaluate(prep);
    const fc = prep.total - target;
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
