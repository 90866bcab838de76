/**
 * The Gamma–Gamma model of spend per transaction (Colombo & Jiang 1999; Fader, Hardie
 * & Lee 2005, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", Journal
 * of Marketing Research 42(4); Fader & Hardie 2013, note 025). Each transaction value
 * of a customer is Gamma(p, ν); ν varies across customers as Gamma(q, γ). A customer's
 * mean spend over x transactions is then a sufficient statistic for their ν.
 *
 * The model assumes spend is independent of purchase frequency; it is fitted on
 * customers with at least one repeat transaction, using the mean of the repeat
 * transactions only (the first purchase is left out, as in the paper).
 */
import { VigilError } from '../core/errors.js';
import {
  fitProblem,
  LogLikelihoodSum,
  minimizeNelderMead,
  type FitProblem,
  type NelderMeadOptions,
} from './optimize.js';
import { lgamma } from './special-functions.js';

export interface GammaGammaParams {
  /** Shape of the Gamma distribution of a single transaction value. */
  p: number;
  /** Shape of the Gamma distribution of the customer-level rate ν. */
  q: number;
  /** Scale of the Gamma distribution of ν, in money units (the paper's γ; lifetimes' v). */
  gamma: number;
}

export interface SpendStats {
  /** Repeat transactions. */
  x: number;
  /** Mean value of those transactions (ignored when x = 0). */
  meanSpend: number;
}

export interface GammaGammaFitOptions {
  /** Starting point; by default p = 1, q = 2 and γ = the mean of meanSpend. */
  readonly start?: GammaGammaParams;
  readonly nelderMead?: NelderMeadOptions;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  logLikelihood: number;
  iterations: number;
  /** Whether Nelder–Mead met its tolerances before its iteration limit. */
  converged: boolean;
}

/**
 * Σ ln f(m̄ | p, q, γ, x) over the customers with x > 0, where
 * f(m̄) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m̄^(px−1) x^(px) / (γ + x m̄)^(px+q)
 * is the density of the mean spend with ν integrated out.
 */
export function gammaGammaLogLikelihood(params: GammaGammaParams, customers: readonly SpendStats[]): number {
  checkParams(params);
  const repeaters = customers.filter((c) => c.x > 0);
  repeaters.forEach(checkStats);
  return new GammaGammaLogLikelihood(params, repeaters).logLikelihood();
}

/** The log-likelihood a chunk of repeaters at a time (a live refit spreads one evaluation over events). */
class GammaGammaLogLikelihood extends LogLikelihoodSum {
  private readonly shared: number;

  constructor(
    private readonly params: GammaGammaParams,
    private readonly repeaters: readonly SpendStats[],
  ) {
    super(repeaters.length);
    this.shared = params.q * Math.log(params.gamma) - lgamma(params.q);
  }

  protected addTerms(from: number, to: number, total: number): number {
    const { p, q, gamma } = this.params;
    const { shared, repeaters } = this;
    for (let i = from; i < to; i++) {
      const { x, meanSpend } = repeaters[i]!;
      const px = p * x;
      total +=
        lgamma(px + q) -
        lgamma(px) +
        shared +
        (px - 1) * Math.log(meanSpend) +
        px * Math.log(x) -
        (px + q) * Math.log(gamma + x * meanSpend);
    }
    return total;
  }
}

/** Maximum-likelihood fit by Nelder–Mead on (ln p, ln q, ln γ). */
export function fitGammaGamma(customers: readonly SpendStats[], options: GammaGammaFitOptions = {}): GammaGammaFit {
  const problem = gammaGammaFitProblem(customers, options);
  const minimum = minimizeNelderMead(problem.objective, problem.start, options.nelderMead);
  return {
    params: problem.params(minimum.point),
    logLikelihood: -minimum.value,
    iterations: minimum.iterations,
    converged: minimum.converged,
  };
}

/** `fitGammaGamma` as a problem for Nelder–Mead, for a caller that steps the search itself (the live refit). */
export function gammaGammaFitProblem(
  customers: readonly SpendStats[],
  options: Pick<GammaGammaFitOptions, 'start'> = {},
): FitProblem<GammaGammaParams> {
  const repeaters = customers.filter((c) => c.x > 0);
  if (repeaters.length === 0) {
    throw new VigilError('VIGIL_ERR_USAGE', 'fitGammaGamma needs at least one customer with a repeat transaction');
  }
  repeaters.forEach(checkStats);
  const meanOfMeans = repeaters.reduce((sum, c) => sum + c.meanSpend, 0) / repeaters.length;
  const start = options.start ?? { p: 1, q: 2, gamma: meanOfMeans };
  checkParams(start);
  const fromLog = (v: readonly number[]): GammaGammaParams => ({
    p: Math.exp(v[0] as number),
    q: Math.exp(v[1] as number),
    gamma: Math.exp(v[2] as number),
  });
  return fitProblem(
    [Math.log(start.p), Math.log(start.q), Math.log(start.gamma)],
    repeaters.length,
    (v) => new GammaGammaLogLikelihood(fromLog(v), repeaters),
    fromLog,
  );
}

/**
 * E[mean transaction value | x, m̄] = p (γ + x m̄) / (p x + q − 1): a weighted average of
 * the population mean p γ / (q − 1) and the customer's own m̄, with weight p x / (p x + q − 1)
 * on m̄, so more transactions mean more trust in the customer's own history. x = 0 gives
 * the population mean. The expectation is infinite when p x + q ≤ 1 (for x = 0: q ≤ 1).
 */
export function expectedMeanSpend(params: GammaGammaParams, x: number, meanSpend: number): number {
  checkParams(params);
  if (x > 0) checkSpend(x, meanSpend);
  else if (x !== 0) throw new VigilError('VIGIL_ERR_USAGE', `x must be ≥ 0 (got ${x})`);
  const { p, q, gamma } = params;
  const denominator = p * x + q - 1;
  if (denominator <= 0) return Infinity;
  return (p * (gamma + (x > 0 ? x * meanSpend : 0))) / denominator;
}

function checkParams(params: GammaGammaParams): void {
  // The common case without allocating: this runs at every purchase.
  const { p, q, gamma } = params;
  if (p > 0 && p < Infinity && q > 0 && q < Infinity && gamma > 0 && gamma < Infinity) return;
  const bad = (['p', 'q', 'gamma'] as const).filter((k) => !(params[k] > 0 && Number.isFinite(params[k])));
  if (bad.length > 0) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      'Gamma–Gamma parameters must be positive and finite',
      bad.map((k) => `${k}=${params[k]}`),
    );
  }
}

function checkStats({ x, meanSpend }: SpendStats): void {
  checkSpend(x, meanSpend);
}

function checkSpend(x: number, meanSpend: number): void {
  if (!(Number.isFinite(x) && x > 0 && meanSpend > 0 && Number.isFinite(meanSpend))) {
    throw new VigilError('VIGIL_ERR_USAGE', 'a repeat customer needs x > 0 and a positive, finite meanSpend', [
      `x=${x}`,
      `meanSpend=${meanSpend}`,
    ]);
  }
}
