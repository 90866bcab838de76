import { VigilError } from '../core/errors.js';

/**
 * Bounds outside which a fitted parameter means the likelihood was flat along a ridge rather
 * than peaked at an estimate: every model here has positive shape and scale parameters of
 * moderate size on real data (CDNOW: r 0.24, α 4.4, a 0.79, b 2.4, p 6.3, q 3.7, γ 15),
 * and a fit that ends at 1e16 or 1e-38 has walked off to infinity on the log scale.
 */
export const FIT_PARAM_BOUNDS = { min: 1e-8, max: 1e4 } as const;

export interface FitOutcome {
  readonly params: object;
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Throws `VIGIL_ERR_FIT` when an offline fit is no estimate: it did not converge, its
 * log-likelihood is not finite, or a parameter lies outside `FIT_PARAM_BOUNDS`. The details
 * say what was seen, and on how many customers.
 */
export function checkFit(model: string, fit: FitOutcome, customers: number): void {
  const params = Object.entries(fit.params as Record<string, number>);
  const out = params.filter(([, v]) => !(v >= FIT_PARAM_BOUNDS.min && v <= FIT_PARAM_BOUNDS.max));
  const problems: string[] = [];
  if (!fit.converged) problems.push(`Nelder–Mead did not converge in ${fit.iterations} iterations`);
  if (!Number.isFinite(fit.logLikelihood)) problems.push(`log-likelihood ${fit.logLikelihood}`);
  if (out.length > 0) {
    problems.push(
      `${out.map(([k, v]) => `${k} = ${v.toPrecision(3)}`).join(', ')} outside [${FIT_PARAM_BOUNDS.min}, ${FIT_PARAM_BOUNDS.max}]: a degenerate ridge, not an estimate`,
    );
  }
  if (problems.length === 0) return;
  throw new VigilError('VIGIL_ERR_FIT', `${model} fit on ${customers} customers gave no usable estimate`, [
    ...problems,
    `parameters seen: ${params.map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(', ')}; log-likelihood ${fit.logLikelihood.toFixed(2)}`,
  ]);
}
