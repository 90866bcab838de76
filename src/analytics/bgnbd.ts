/**
 * The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your
 * Customers the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science
 * 24(2)). While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
 * after each purchase they drop out with probability p ~ Beta(a, b).
 *
 * Everything here is a pure function of a customer's (x, t_x, T) and the population
 * parameters; fitting the parameters is a separate, occasional step (`fitBgNbd`).
 */
import { VigilError } from '../core/errors.js';
import {
  fitProblem,
  LogLikelihoodSum,
  minimizeNelderMead,
  type FitProblem,
  type NelderMeadOptions,
} from './optimize.js';
import { hyp2f1MinusOne, lbeta, lgamma, logAddExp, richardsonSymmetric } from './special-functions.js';

export interface BgNbdParams {
  /** Shape of the Gamma distribution of purchase rates λ. */
  r: number;
  /** Scale of the Gamma distribution of purchase rates, in the time unit of the data. */
  alpha: number;
  /** Beta(a, b) distribution of the drop-out probability p after each purchase. */
  a: number;
  b: number;
}

/** A customer's sufficient statistics, all times in one unit measured from the first purchase. */
export interface RepeatStats {
  /** Repeat transactions (the first purchase is not counted). */
  x: number;
  /** Time of the last transaction (0 when x = 0). */
  tx: number;
  /** Age: time from the first purchase to the end of observation. */
  T: number;
}

export interface BgNbdFitOptions {
  /** Starting point; by default r = a = b = 1 and α = the mean age T (α is in time units). */
  readonly start?: BgNbdParams;
  readonly nelderMead?: NelderMeadOptions;
}

export interface BgNbdFit {
  params: BgNbdParams;
  logLikelihood: number;
  iterations: number;
  /** Whether Nelder–Mead met its tolerances before its iteration limit. */
  converged: boolean;
}

/**
 * Σ ln L(r, α, a, b | x, t_x, T) over the customers (paper eq. 6):
 * L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
 *   + [x > 0] B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)).
 * Computed in log space (log-sum-exp of the two branches) so a customer with hundreds
 * of purchases neither overflows nor underflows.
 */
export function bgnbdLogLikelihood(params: BgNbdParams, customers: readonly RepeatStats[]): number {
  checkParams(params);
  customers.forEach(checkStats);
  return new BgNbdLogLikelihood(params, customers).logLikelihood();
}

/** The log-likelihood a chunk of customers at a time (a live refit spreads one evaluation over events). */
class BgNbdLogLikelihood extends LogLikelihoodSum {
  private readonly lnBetaAB: number;
  private readonly rLnAlphaMinusLgammaR: number;
  // The Gamma and Beta terms depend on x only; customers share few distinct x.
  private readonly byFrequency = new Map<number, { common: number; stay: number; leave: number }>();

  constructor(
    private readonly params: BgNbdParams,
    private readonly customers: readonly RepeatStats[],
  ) {
    super(customers.length);
    this.lnBetaAB = lbeta(params.a, params.b);
    this.rLnAlphaMinusLgammaR = params.r * Math.log(params.alpha) - lgamma(params.r);
  }

  protected addTerms(from: number, to: number, total: number): number {
    const { r, alpha, a, b } = this.params;
    const { lnBetaAB, rLnAlphaMinusLgammaR, byFrequency, customers } = this;
    for (let i = from; i < to; i++) {
      const { x, tx, T } = customers[i]!;
      let terms = byFrequency.get(x);
      if (terms === undefined) {
        terms = {
          common: lgamma(r + x) + rLnAlphaMinusLgammaR,
          stay: lbeta(a, b + x) - lnBetaAB,
          leave: x > 0 ? lbeta(a + 1, b + x - 1) - lnBetaAB : -Infinity,
        };
        byFrequency.set(x, terms);
      }
      const aliveAtT = terms.stay - (r + x) * Math.log(alpha + T);
      const goneAfterTx = terms.leave - (r + x) * Math.log(alpha + tx);
      total += terms.common + logAddExp(aliveAtT, goneAfterTx);
    }
    return total;
  }
}

/**
 * Maximum-likelihood fit by Nelder–Mead on (ln r, ln α, ln a, ln b), which keeps every
 * parameter positive without constraints.
 */
export function fitBgNbd(customers: readonly RepeatStats[], options: BgNbdFitOptions = {}): BgNbdFit {
  const problem = bgnbdFitProblem(customers, options);
  const minimum = minimizeNelderMead(problem.objective, problem.start, options.nelderMead);
  return {
    params: problem.params(minimum.point),
    logLikelihood: -minimum.value,
    iterations: minimum.iterations,
    converged: minimum.converged,
  };
}

/**
 * `fitBgNbd` as a problem for Nelder–Mead, for a caller that steps the search itself (the
 * live refit): the same start, objective and mapping, so its result is the same fit.
 */
export function bgnbdFitProblem(
  customers: readonly RepeatStats[],
  options: Pick<BgNbdFitOptions, 'start'> = {},
): FitProblem<BgNbdParams> {
  if (customers.length === 0) throw new VigilError('VIGIL_ERR_USAGE', 'fitBgNbd needs at least one customer');
  customers.forEach(checkStats);
  const meanAge = customers.reduce((sum, c) => sum + c.T, 0) / customers.length;
  const start = options.start ?? { r: 1, alpha: meanAge > 0 ? meanAge : 1, a: 1, b: 1 };
  checkParams(start);
  const fromLog = (p: readonly number[]): BgNbdParams => ({
    r: Math.exp(p[0] as number),
    alpha: Math.exp(p[1] as number),
    a: Math.exp(p[2] as number),
    b: Math.exp(p[3] as number),
  });
  return fitProblem(
    [Math.log(start.r), Math.log(start.alpha), Math.log(start.a), Math.log(start.b)],
    customers.length,
    (p) => new BgNbdLogLikelihood(fromLog(p), customers),
    fromLog,
  );
}

/**
 * P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
 * (paper eq. 11). A customer who never came back (x = 0) has had no chance to drop out,
 * since in BG/NBD drop-out happens only right after a purchase: P(alive) = 1.
 */
export function probabilityAlive(params: BgNbdParams, stats: RepeatStats): number {
  checkParams(params);
  checkStats(stats);
  return aliveProbability(params, stats);
}

function aliveProbability(params: BgNbdParams, { x, tx, T }: RepeatStats): number {
  if (x === 0) return 1;
  return 1 / (1 + Math.exp(logDeadOdds(params, x, tx, T)));
}

/** ln of a/(b+x−1) · ((α+T)/(α+t_x))^(r+x): the odds of having dropped out, for x > 0. */
function logDeadOdds({ r, alpha, a, b }: BgNbdParams, x: number, tx: number, T: number): number {
  return Math.log(a) - Math.log(b + x - 1) + (r + x) * Math.log1p((T - tx) / (alpha + tx));
}

/**
 * P(no purchase in the next `horizon` units | x, t_x, T): dead, or alive and silent. A
 * customer alive at T has λ ~ Gamma(r+x, α+T) a posteriori, and drop-out only follows a
 * purchase, so while silent they stay alive: P = 1 − P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).
 * Unlike P(alive) it sees that a one-time buyer (P(alive) = 1) with a slow rate will likely
 * not come back soon; as the horizon grows it tends to 1 − P(alive).
 */
export function probabilityNoPurchase(params: BgNbdParams, stats: RepeatStats, horizon: number): number {
  checkParams(params);
  checkStats(stats);
  if (!(horizon >= 0)) throw new VigilError('VIGIL_ERR_USAGE', `horizon must be ≥ 0 (got ${horizon})`);
  const { r, alpha } = params;
  const silentIfAlive = Math.exp(-(r + stats.x) * Math.log1p(horizon / (alpha + stats.T)));
  return 1 - aliveProbability(params, stats) * (1 - silentIfAlive);
}

/** Within this distance of a = 1 the closed form is 0/0; see `expectedPurchases`. */
const A_NEAR_ONE = 1e-4;
const A_STEP = 5e-4;

/**
 * E[Y(t) | x, t_x, T]: expected purchases in the next `horizon` time units (paper eq. 10):
 *
 *   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)] · P(alive),
 *   z = t / (α+T+t).
 *
 * By Euler's transformation the bracketed product equals (1−z)^(a−1) ₂F₁(a+b−1−r, a−1;
 * a+b+x−1; z): the same value, but without the (1−z)^(−x)-sized ₂F₁ that overflows for
 * large x, and with parameters that make the series converge fast when x is large.
 * z grows to 1 with the horizon; `hyp2f1` switches to the 1 − z form there.
 * At a = 1 the formula is 0/0 with a finite limit; near it the value is extrapolated
 * from a ± δ. An infinite horizon gives the expected lifetime purchases, finite only for
 * a > 1 (E[1/p] diverges otherwise).
 */
export function expectedPurchases(params: BgNbdParams, stats: RepeatStats, horizon: number): number {
  checkParams(params);
  checkStats(stats);
  if (!(horizon >= 0)) throw new VigilError('VIGIL_ERR_USAGE', `horizon must be ≥ 0 (got ${horizon})`);
  if (horizon === 0) return 0;
  if (Math.abs(params.a - 1) < A_NEAR_ONE) {
    return richardsonSymmetric((a) => conditionalExpectation({ ...params, a }, stats, horizon), params.a, A_STEP);
  }
  return conditionalExpectation(params, stats, horizon);
}

function conditionalExpectation(params: BgNbdParams, stats: RepeatStats, horizon: number): number {
  const { r, alpha, a, b } = params;
  const { x, T } = stats;
  const alive = aliveProbability(params, stats);
  if (horizon === Infinity) return a > 1 ? ((a + b + x - 1) / (a - 1)) * alive : Infinity;
  const z = horizon / (alpha + T + horizon);
  // 1 − (1−z)^(a−1) F  =  −expm1((a−1) ln(1−z)) − (1−z)^(a−1) (F − 1), exact for small z.
  const logOneMinusZ = Math.log1p(-z);
  let notYet = NaN;
  try {
    const power = Math.exp((a - 1) * logOneMinusZ);
    notYet = -Math.expm1((a - 1) * logOneMinusZ) - power * hyp2f1MinusOne(a + b - 1 - r, a - 1, a + b + x - 1, z);
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
  }
  if (!Number.isFinite(notYet)) {
    // With a − 1 and a + b − 1 − r both far above b + x (a degenerate fit: a in the hundreds,
    // as a refit on a small homogeneous sample can give) F overflows a double, or (1−z)^(a−1)
    // underflows, although their product is of order one. Undoing Euler's transformation gives
    // the same product as (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z), whose upper parameters are
    // then small.
    const power = Math.exp((r + x) * logOneMinusZ);
    notYet = -Math.expm1((r + x) * logOneMinusZ) - power * hyp2f1MinusOne(r + x, b + x, a + b + x - 1, z);
  }
  if (!Number.isFinite(notYet))
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `expected purchases out of a double's range (r=${r}, α=${alpha}, a=${a}, b=${b}; x=${x}, T=${T}, t=${horizon})`,
    );
  return ((a + b + x - 1) / (a - 1)) * notYet * alive;
}

/**
 * The age at which P(alive) falls to `threshold` if the customer makes no further
 * purchase: solving P(alive) = θ in T gives
 *   T* = (α + t_x) · ((1/θ − 1) · (b+x−1)/a)^(1/(r+x)) − α.
 * Returns the current T when P(alive) is already at or below θ, and Infinity when it
 * never gets there (x = 0 keeps P(alive) = 1; θ ≤ 0 is never reached).
 */
export function timeWhenAliveFallsTo(params: BgNbdParams, stats: RepeatStats, threshold: number): number {
  checkParams(params);
  checkStats(stats);
  if (Number.isNaN(threshold)) throw new VigilError('VIGIL_ERR_USAGE', 'threshold must be a number');
  const { x, tx, T } = stats;
  if (aliveProbability(params, stats) <= threshold) return T;
  if (x === 0 || threshold <= 0) return Infinity;
  const { r, alpha, a, b } = params;
  // ln of the dead-odds at the crossing, (1 − θ)/θ, minus the constant part of logDeadOdds.
  const logGrowth = Math.log1p(-threshold) - Math.log(threshold) - Math.log(a) + Math.log(b + x - 1);
  const crossing = (alpha + tx) * Math.exp(logGrowth / (r + x)) - alpha;
  // Rounding can land a hair before T when the crossing is at T itself.
  return Math.max(crossing, T);
}

function checkParams(params: BgNbdParams): void {
  // The common case without allocating: this runs several times per purchase and session.
  const { r, alpha, a, b } = params;
  if (r > 0 && r < Infinity && alpha > 0 && alpha < Infinity && a > 0 && a < Infinity && b > 0 && b < Infinity) return;
  const bad = (['r', 'alpha', 'a', 'b'] as const).filter((k) => !(params[k] > 0 && Number.isFinite(params[k])));
  if (bad.length > 0) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      'BG/NBD parameters must be positive and finite',
      bad.map((k) => `${k}=${params[k]}`),
    );
  }
}

function checkStats(stats: RepeatStats): void {
  const { x, tx, T } = stats;
  const ok = Number.isFinite(x) && Number.isFinite(T) && x >= 0 && tx >= 0 && tx <= T && (x > 0 || tx === 0);
  if (!ok) {
    throw new VigilError('VIGIL_ERR_USAGE', 'repeat statistics need x ≥ 0, 0 ≤ t_x ≤ T, and t_x = 0 when x = 0', [
      `x=${x}`,
      `tx=${tx}`,
      `T=${T}`,
    ]);
  }
}
