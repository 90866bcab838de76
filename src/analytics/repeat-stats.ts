import type { TransactionStats } from '../state/customer-store.js';
import type { RepeatStats } from './bgnbd.js';
import type { SpendStats } from './gamma-gamma.js';

/** Time units the models are fitted in; parameters are only meaningful in their own unit. */
export const TIME_UNITS = { day: 86_400_000, week: 604_800_000 } as const;
export type TimeUnit = keyof typeof TIME_UNITS;

/**
 * BG/NBD's (x, t_x, T) from a customer's transactions, observed until `asOf` (event time),
 * in `unit`s measured from the first purchase. A purchase after `asOf` (a replay's holdout)
 * must not be in `t`; `asOf` before the last purchase is clamped so that t_x ≤ T.
 */
export function repeatStats(t: TransactionStats, asOf: number, unit: TimeUnit): RepeatStats {
  const u = TIME_UNITS[unit];
  const tx = t.repeat > 0 ? (t.last - t.first) / u : 0;
  const T = Math.max((asOf - t.first) / u, tx);
  return { x: t.repeat, tx, T };
}

/** Gamma-Gamma's (x, m̄): the mean value of the repeat transactions, the first left out. */
export function spendStats(t: TransactionStats): SpendStats {
  return { x: t.repeat, meanSpend: t.repeat > 0 ? t.repeatValue / t.repeat : 0 };
}
