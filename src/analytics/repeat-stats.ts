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
  return repeatStatsInto(t, asOf, unit, { x: 0, tx: 0, T: 0 });
}

/** `repeatStats` written into `out` (and returned), for a hot path that keeps one scratch object. */
export function repeatStatsInto(t: TransactionStats, asOf: number, unit: TimeUnit, out: RepeatStats): RepeatStats {
  const u = TIME_UNITS[unit];
  const tx = t.repeat > 0 ? (t.last - t.first) / u : 0;
  out.x = t.repeat;
  out.tx = tx;
  out.T = Math.max((asOf - t.first) / u, tx);
  return out;
}

/** Gamma-Gamma's (x, m̄): the mean value of the repeat transactions, the first left out. */
export function spendStats(t: TransactionStats): SpendStats {
  return { x: t.repeat, meanSpend: meanRepeatSpend(t) };
}

/** `spendStats(t).meanSpend` without the object. */
export function meanRepeatSpend(t: TransactionStats): number {
  return t.repeat > 0 ? t.repeatValue / t.repeat : 0;
}
