import { fitBgNbd, type BgNbdParams, type RepeatStats } from '../../analytics/bgnbd.js';
import { fitGammaGamma, type GammaGammaParams, type SpendStats } from '../../analytics/gamma-gamma.js';
import { repeatStats, spendStats, TIME_UNITS, type TimeUnit } from '../../analytics/repeat-stats.js';
import { checkFit } from '../../analytics/fit-verdict.js';
import { VigilError } from '../../core/errors.js';
import type { CustomerStore } from '../../state/customer-store.js';
import { runReplay } from './replay.js';
import type { TransactionStats } from '../../state/customer-store.js';

export const FIT_MODELS = ['bgnbd', 'gammagamma'] as const;
export type FitModel = (typeof FIT_MODELS)[number];

export interface FitOptions {
  readonly model: string;
  readonly file: string;
  readonly unit?: string | undefined;
  /** yyyy-mm-dd: purchases on that day are in the calibration period, later ones are not. */
  readonly calibrationEnd?: string | undefined;
  readonly configFile?: string | undefined;
  readonly progress?: boolean;
  /** Worker threads (`--workers`, else `engine.workers`); the fit is on per-customer state, the same for any number. */
  readonly workers?: string | number | undefined;
}

export interface FitReport {
  model: FitModel;
  unit: TimeUnit;
  /** End of observation (ISO): T is measured to it. */
  asOf: string;
  /** Customers the fit used (Gamma-Gamma: those with repeat transactions of positive value). */
  customers: number;
  /** Buyers left out, and why. */
  excluded: Record<string, number>;
  params: BgNbdParams | GammaGammaParams;
  logLikelihood: number;
  iterations: number;
}

const DAY = 86_400_000;

/**
 * `vigil fit`: replays a file of canonical events through the engine, then fits a model by
 * maximum likelihood on the customers' transaction statistics as the state holds them.
 *
 * With `--calibration-end D`, purchases up to and including day D are replayed and T is
 * counted in whole days to D, the convention of the published CDNOW summaries (a customer
 * who first bought on 1997-01-01 has T = 272 days = 38.86 weeks on 1997-09-30). Without it,
 * everything is replayed and T runs to the last event's time. The file is read whole and fed
 * in event-time order, so its own order does not matter; a fit that is no estimate (not
 * converged, or on a degenerate ridge) fails with `VIGIL_ERR_FIT`.
 */
export async function fit(opts: FitOptions): Promise<FitReport> {
  const model = opts.model as FitModel;
  if (!FIT_MODELS.includes(model))
    throw new VigilError('VIGIL_ERR_USAGE', `fit needs a model: ${FIT_MODELS.join(' or ')}`);
  const unit = (opts.unit ?? 'week') as TimeUnit;
  if (!(unit in TIME_UNITS))
    throw new VigilError('VIGIL_ERR_USAGE', `--unit must be ${Object.keys(TIME_UNITS).join(' or ')}`);
  const end = opts.calibrationEnd === undefined ? undefined : calibrationDay(opts.calibrationEnd);
  const r = await runReplay({
    file: opts.file,
    configFile: opts.configFile,
    progress: opts.progress ?? false,
    until: end === undefined ? undefined : end + DAY,
    order: 'eventTime',
    workers: opts.workers,
    customerLines: true,
  });
  const asOf = end ?? r.watermark;
  if (!Number.isFinite(asOf)) throw new VigilError('VIGIL_ERR_USAGE', `${opts.file} holds no events to fit on`);
  const all = r.engine !== undefined ? buyers(r.engine.state.store) : buyersOfLines(r.lines ?? []);
  const base = { model, unit, asOf: new Date(asOf).toISOString() };
  if (model === 'bgnbd') {
    const customers = all.map((t) => repeatStats(t, asOf, unit));
    if (customers.length === 0) throw new VigilError('VIGIL_ERR_USAGE', 'no purchases to fit on');
    const f = fitBgNbd(customers);
    checkFit('BG/NBD', f, customers.length);
    return {
      ...base,
      customers: customers.length,
      excluded: {},
      params: f.params,
      logLikelihood: f.logLikelihood,
      iterations: f.iterations,
    };
  }
  const spend = all.map(spendStats);
  const customers = spend.filter((c) => c.x > 0 && c.meanSpend > 0);
  const excluded = {
    noRepeatTransactions: spend.filter((c) => c.x === 0).length,
    zeroRepeatValue: spend.filter((c) => c.x > 0 && !(c.meanSpend > 0)).length,
  };
  if (customers.length === 0) throw new VigilError('VIGIL_ERR_USAGE', 'no repeat buyers to fit on');
  const f = fitGammaGamma(customers);
  checkFit('Gamma-Gamma', f, customers.length);
  return {
    ...base,
    customers: customers.length,
    excluded,
    params: f.params,
    logLikelihood: f.logLikelihood,
    iterations: f.iterations,
  };
}

/** Transaction statistics of every buyer in the store. */
export function buyers(store: CustomerStore): NonNullable<ReturnType<CustomerStore['transactionStats']>>[] {
  const out = [];
  for (const id of store.customerIds()) {
    const t = store.transactionStats(store.slotOf(id)!);
    if (t !== null) out.push(t);
  }
  return out;
}

/**
 * Transaction statistics of every buyer in dump lines gathered from partition workers (the
 * view's `transactions`), in customer-id order: the same statistics as `buyers` of the
 * single-threaded engine's store, which lists them in the order customers entered state.
 */
export function buyersOfLines(lines: readonly [string, unknown][]): TransactionStats[] {
  const out: TransactionStats[] = [];
  for (const [, line] of lines) {
    const t = (line as { transactions?: TransactionStats | null }).transactions;
    if (t !== null && t !== undefined) out.push(t);
  }
  return out;
}

export function calibrationDay(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new VigilError('VIGIL_ERR_USAGE', `--calibration-end must be a date yyyy-mm-dd (got ${date})`);
  }
  return ms;
}

export type { RepeatStats, SpendStats };
