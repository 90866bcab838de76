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

/** ln(eˣ − 1) for x > 0 without overflow. */
function logExpm1(x: number): number {
  return x > 30 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/** ln(1 − e⁻ˣ) for x > 0. */
function log1mExp(x: number): number {
  return x > 0.693 ? Math.log1p(-Math.exp(-x)) : Math.log(-Math.expm1(-x));
}

function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** The λ and q posteriors' parameters: the part that does not change with `now`. */
interface Posterior {
  r: number;
  alpha: number;
  /** The intent share's Beta(a, b). */
  a: number;
  b: number;
}

/** Lapsed-term intervals summed at most; earlier ones (a stop before all but the last 64 cartless visits) are left out, a lower bound. */
const MAX_INTERVALS = 64;

function posterior(v: VisitStats, prior: VisitChurnPrior): Posterior {
  const w = prior.priorVisits;
  return {
    r: w + Math.max(0, v.sessionsToIntent - 1),
    alpha: w * prior.meanGapDays + Math.max(0, v.lastIntent - v.firstSession),
    a: w * prior.intentShare + v.intentSessions,
    b: w * (1 - prior.intentShare) + Math.max(0, v.sessionsToIntent - v.intentSessions),
  };
}

/**
 * ln odds of gone and of lapsed against still buying, as of `now`. The lapsed term sums
 * over where the stop fell among the k cartless visits (j of them still while buying, the
 * rest lapsed); only the first and last visit times are kept, so the ones between are taken
 * as evenly spaced.
 */
function logOdds(v: VisitStats, prior: VisitChurnPrior, p: Posterior, now: number): [gone: number, lapsed: number] {
  const k = v.cartless;
  const R = p.r + k;
  const n = R - 1; // > 0: priorVisits > 1 is enforced by the config schema
  const s = Math.max(0, now - v.lastIntent);
  const sv = Math.min(s, Math.max(0, v.lastSession - v.lastIntent));
  const u = s - sv;
  const as = p.alpha + s;
  const logH = Math.log(prior.hazardPerDay);
  const gone = u > 0 ? Math.log(1 - prior.lapsedShare) + logH + Math.log(as / n) + logExpm1(n * Math.log(as / (as - u))) : -Infinity;
  if (!(prior.lapsedShare > 0) || s === 0) return [gone, -Infinity];
  const rho = prior.lapsedVisitRatio;
  const c1 = k > 0 && v.firstCartless > v.lastIntent ? Math.min(sv, v.firstCartless - v.lastIntent) : sv;
  const spacing = k > 1 ? (sv - c1) / (k - 1) : 0;
  const base = p.alpha + rho * s;
  const logBase = Math.log(base);
  // Term j: the stop fell between cartless visit j and j+1 (visit 0 = the last intent, visit k+1 = now).
  // ln of ρ^(k−j) · E[(1−q)^j] / E[(1−q)^k], built from j = k downwards.
  let logWeight = 0;
  let lapsed = -Infinity;
  const lowest = Math.max(0, k - MAX_INTERVALS);
  for (let j = k; j >= lowest; j--) {
    const from = j === 0 ? 0 : c1 + (j - 1) * spacing;
    const to = j === k ? s : c1 + j * spacing;
    if (to > from) {
      // ∫ (base + (1−ρ)τ)^(−R) dτ over (from, to), in logs: base^(−n)·[(1+(1−ρ)from/base)^(−n) − (1+(1−ρ)to/base)^(−n)]/((1−ρ)n)
      const lo = n * Math.log1p(((1 - rho) * from) / base);
      const hi = n * Math.log1p(((1 - rho) * to) / base);
      const integral = -n * logBase - lo + log1mExp(hi - lo) - Math.log((1 - rho) * n);
      lapsed = logAddExp(lapsed, logWeight + integral);
    }
    if (j > 0) logWeight += Math.log(rho) - Math.log((p.b + j - 1) / (p.a + p.b + j - 1));
  }
  return [gone, lapsed + Math.log(prior.lapsedShare) + logH + R * Math.log(as)];
}

/** The evidence as of `now` (≥ the last session's end). */
export function visitChurn(v: VisitStats, prior: VisitChurnPrior, now: number): VisitChurnEvidence {
  const p = posterior(v, prior);
  const [gone, lapsed] = logOdds(v, prior, p, now);
  const total = logAddExp(gone, lapsed);
  return { logOddsGone: gone, logOddsLapsed: lapsed, pStopped: 1 / (1 + Math.exp(-total)), meanGapDays: p.alpha / (p.r - 1), intentShare: p.a / (p.a + p.b) };
}

/**
 * The first time from `from` on at which P(stopped) reaches `threshold` if nothing else
 * happens (both odds grow with time), to `resolutionDays`; Infinity beyond `horizonDays`.
 */
export function timeWhenStoppedReaches(v: VisitStats, prior: VisitChurnPrior, threshold: number, from: number, horizonDays: number, resolutionDays: number): number {
  const p = posterior(v, prior);
  const target = Math.log(threshold / (1 - threshold));
  const reached = (t: number) => {
    const [g, l] = logOdds(v, prior, p, t);
    return logAddExp(g, l) >= target;
  };
  if (reached(from)) return from;
  let lo = from;
  let step = Math.min(horizonDays, Math.max(resolutionDays, 1));
  let hi = from + step;
  while (!reached(hi)) {
    if (step >= horizonDays) return Infinity;
    lo = hi;
    step = Math.min(horizonDays, 2 * step);
    hi = from + step;
  }
  while (hi - lo > resolutionDays) {
    const mid = 0.5 * (lo + hi);
    if (reached(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
