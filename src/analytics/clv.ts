import { expectedPurchases, type BgNbdParams, type RepeatStats } from './bgnbd.js';
import { expectedMeanSpend, type GammaGammaParams } from './gamma-gamma.js';

export interface ClvOptions {
  /** How far ahead, in the models' time unit. */
  readonly horizon: number;
  /** Discount rate per time unit (a yearly 10% is 0.0018 a week). */
  readonly discountPerUnit: number;
  /** Discounting steps over the horizon; purchases inside a step are discounted at its midpoint. */
  readonly steps: number;
}

/**
 * Customer lifetime value over a horizon (Fader, Hardie & Lee 2005, "RFM and CLV"): the
 * purchases BG/NBD expects in each step of the horizon, times the spend Gamma-Gamma expects
 * per transaction, discounted to today. Stepwise, because the discounted expected-purchase
 * integral has no closed form for BG/NBD. Discounting each step at its midpoint keeps the
 * error second order in the step: two half-year steps at 10% a year are within 0.1% of the
 * continuous value for a steady buyer, far under the models' own error.
 *
 * A customer whose repeat transactions are worth nothing (free orders, a zero-value repeat
 * day) has no spend Gamma-Gamma can condition on: the fit leaves such customers out, and so
 * does this, resting their spend on the population mean as for a customer with x = 0.
 */
export function customerLifetimeValue(
  bgnbd: BgNbdParams,
  spend: GammaGammaParams,
  stats: RepeatStats,
  meanSpend: number,
  opts: ClvOptions,
): { clv: number; expectedPurchases: number; expectedSpend: number } {
  const ownSpend = stats.x > 0 && meanSpend > 0 && Number.isFinite(meanSpend);
  const perTransaction = expectedMeanSpend(spend, ownSpend ? stats.x : 0, ownSpend ? meanSpend : 0);
  const step = opts.horizon / opts.steps;
  let clv = 0;
  let before = 0;
  for (let k = 1; k <= opts.steps; k++) {
    const upTo = expectedPurchases(bgnbd, stats, k * step);
    clv += (upTo - before) / Math.pow(1 + opts.discountPerUnit, (k - 0.5) * step);
    before = upTo;
  }
  return { clv: clv * perTransaction, expectedPurchases: before, expectedSpend: perTransaction };
}
