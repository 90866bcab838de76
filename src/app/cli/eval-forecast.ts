import { readCdnowPurchases } from '../../ingest/adapters/cdnow.js';
import { expectedPurchases, fitBgNbd, type BgNbdParams } from '../../analytics/bgnbd.js';
import type { DemandConfig } from '../../analytics/demand/config.js';
import { DAY, seriesModels, ALL_CATEGORIES, type Granularity } from '../../analytics/demand/demand-process.js';
import { demandMeasures, type DemandMeasure } from '../../analytics/demand/demand-series.js';
import { rollingOrigin, type RollingOriginResult } from '../../analytics/demand/evaluate.js';
import { selectModel, type TrendForm } from '../../analytics/demand/model-selection.js';
import { HoltWinters, type HoltWintersConfig } from '../../analytics/demand/holt-winters.js';
import { repeatStats } from '../../analytics/repeat-stats.js';
import { encodePayload } from '../../edges/encode.js';
import { loadConfig } from '../config/load.js';
import type { VigilConfig } from '../config/schema.js';
import { Engine } from '../engine.js';
import { VigilError } from '../../core/errors.js';
import { readEventFile } from '../../edges/files/event-file.js';
import { InProcessSource } from '../../edges/in-process.js';
import type { RawMessage } from '../../core/source.js';
import { buyers, buyersOfLines } from './fit.js';
import { customerLinesOnWorkers } from './replay-on-workers.js';
import { workersFor } from './workers-option.js';

/**
 * `vigil eval forecast FILE`: replays canonical events through the engine, takes one of the
 * demand series it closed (a category, a granularity, a measure), and scores the engine's
 * Holt-Winters forecasts against the seasonal-naive baseline over rolling origins (see
 * `evaluate.ts`). Weekly series are the daily ones summed seven days at a time from the
 * first day, forecast without a season.
 *
 * `--format cdnow` reads a CDNOW log instead and follows the BTYD tracking protocol
 * (Fader, Hardie & Lee 2005, fig. 3): weekly repeat transactions of the cohort from
 * 1997-01-01, calibration to 1997-09-30 (39 weeks), holdout 39 weeks. Holt-Winters runs
 * without a season; its trend form and weights are chosen on the calibration weeks after
 * the cohort's acquisition (`selectModel`: least one-step squared error per form, then
 * AICc), and stay fixed over the holdout. Beside the rolling scores over the holdout it
 * reports, from the calibration end, the Holt-Winters forecast,
 * the BG/NBD aggregate (the sum over customers of the conditional expectation, fitted by
 * the engine on its calibration state) and the actual series, with the cumulative error
 * at week 39 of the holdout.
 */
export const EVAL_GRANULARITIES = ['hourly', 'daily', 'weekly'] as const;
export type EvalGranularity = (typeof EVAL_GRANULARITIES)[number];

export interface EvalForecastOptions {
  readonly file: string;
  readonly horizon?: number | undefined;
  readonly granularity?: string | undefined;
  readonly measure?: string | undefined;
  readonly category?: string | undefined;
  /** Bucket index of the first origin; default: half the series. */
  readonly firstOrigin?: number | undefined;
  readonly configFile?: string | undefined;
}

export interface EvalForecastReport extends RollingOriginResult {
  file: string;
  category: string;
  granularity: EvalGranularity;
  measure: DemandMeasure;
  buckets: number;
  firstBucket: string;
  horizon: number;
  firstOrigin: number;
  seasonalPeriod: number;
  /** Engine MASE over baseline MASE (below 1: the engine is better). */
  maseRatio: number;
}

const DEFAULT_HORIZON: Record<EvalGranularity, number> = { hourly: 24, daily: 28, weekly: 4 };
const SEASON: Record<EvalGranularity, number> = { hourly: 168, daily: 7, weekly: 1 };

export async function evalForecast(opts: EvalForecastOptions): Promise<EvalForecastReport> {
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const granularity = pick(EVAL_GRANULARITIES, opts.granularity ?? 'daily', 'granularity');
  const measure = pick(demandMeasures, opts.measure ?? 'units', 'measure');
  const category = opts.category ?? ALL_CATEGORIES;
  const horizon = positive('horizon', opts.horizon ?? DEFAULT_HORIZON[granularity]);
  const runs = readEventFile(opts.file, { maxPayloadBytes: config.limits.maxPayloadBytes });
  const recorded = await demandSeries(config, runs);
  const buckets = recorded.get(`${category}/${granularity === 'hourly' ? 'hourly' : 'daily'}`);
  if (buckets === undefined)
    throw new VigilError('VIGIL_ERR_USAGE', `no demand series for category '${category}' in ${opts.file}`);
  const values = buckets.values.map((v) => v[demandMeasures.indexOf(measure)]!);
  const series = granularity === 'weekly' ? weeks(values) : values;
  return {
    file: opts.file,
    category,
    granularity,
    measure,
    ...score(series, buckets.first, config.demand, { granularity, horizon, firstOrigin: opts.firstOrigin }),
  };
}

/** The scores of one series: used by the command and by tests on in-memory input. */
export function score(
  series: readonly number[],
  first: number,
  demand: DemandConfig,
  opts: { granularity: EvalGranularity; horizon: number; firstOrigin?: number | undefined },
): Omit<EvalForecastReport, 'file' | 'category' | 'granularity' | 'measure'> {
  const model = modelFor(demand, opts.granularity);
  const seasonalPeriod = SEASON[opts.granularity];
  const firstOrigin = opts.firstOrigin ?? Math.floor(series.length / 2);
  if (!(firstOrigin > 2 * Math.max(seasonalPeriod, ...model.periods) && firstOrigin < series.length)) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `the series has ${series.length} buckets: too short to evaluate from origin ${firstOrigin}`,
    );
  }
  const r = rollingOrigin(series, { model, horizon: opts.horizon, firstOrigin, seasonalPeriod });
  return {
    buckets: series.length,
    firstBucket: new Date(first).toISOString(),
    horizon: opts.horizon,
    firstOrigin,
    seasonalPeriod,
    ...r,
    maseRatio: r.engine.mase / r.seasonalNaive.mase,
  };
}

export function modelFor(demand: DemandConfig, granularity: EvalGranularity): HoltWintersConfig {
  const models = seriesModels(demand);
  if (granularity !== 'weekly') return models[granularity];
  return { ...models.daily, periods: [], gammas: [] };
}

interface RecordedSeries {
  first: number;
  values: number[][];
}

/** Runs input through an engine and keeps every demand bucket it closes, by `category/granularity`. */
export async function demandSeries(
  config: VigilConfig,
  input: AsyncIterable<readonly RawMessage[]> | Iterable<RawMessage>,
): Promise<Map<string, RecordedSeries>> {
  if (!config.demand.enabled) throw new VigilError('VIGIL_ERR_USAGE', 'demand.enabled is false in the configuration');
  const engine = new Engine(config);
  const out = new Map<string, RecordedSeries>();
  engine.state.demand!.recorder = (
    category: string,
    granularity: Granularity,
    start: number,
    values: readonly number[],
  ) => {
    const key = `${category}/${granularity}`;
    let s = out.get(key);
    if (s === undefined) out.set(key, (s = { first: start, values: [] }));
    s.values.push([...values]);
  };
  await engine.run(new InProcessSource(input, { name: 'eval', batchSize: config.pipeline.batchSize, finite: true }));
  return out;
}

/** Whole weeks of a daily series (a trailing partial week is left out). */
function weeks(daily: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 7 <= daily.length; i += 7) out.push(daily.slice(i, i + 7).reduce((a, b) => a + b, 0));
  return out;
}

function pick<T extends string>(allowed: readonly T[], value: string, name: string): T {
  if (!allowed.includes(value as T))
    throw new VigilError('VIGIL_ERR_USAGE', `--${name} must be ${allowed.join(', ')}; got '${value}'`);
  return value as T;
}

function positive(name: string, n: number): number {
  if (!(Number.isInteger(n) && n >= 1))
    throw new VigilError('VIGIL_ERR_USAGE', `--${name} must be a positive integer, got ${n}`);
  return n;
}

// ---- CDNOW: the BTYD tracking protocol ----

const WEEK = 7 * DAY;
const CDNOW_ORIGIN = Date.UTC(1997, 0, 1);
const CALIBRATION_WEEKS = 39;
const HOLDOUT_WEEKS = 39;

export interface CdnowTrackingRow {
  week: number;
  actual: number;
  holtWinters: number;
  bgnbd: number;
  seasonalNaive: number;
}

export interface CdnowForecastReport {
  file: string;
  customers: number;
  calibrationRepeatTransactions: number;
  bgnbd: BgNbdParams;
  /** The Holt-Winters model chosen on calibration weeks `fittedFromWeek`..38 (0-based). */
  model: { trend: TrendForm; alpha: number; beta: number; phi: number; aicc: number; fittedFromWeek: number };
  /** Rolling origins over the holdout weeks, the horizon given. */
  rolling: RollingOriginResult & { horizon: number; maseRatio: number };
  /** Holdout weeks 1..39 from the calibration end: weekly repeat transactions. */
  tracking: CdnowTrackingRow[];
  cumulativeAtWeek39: { actual: number; holtWinters: number; bgnbd: number; seasonalNaive: number };
  /** (forecast − actual) / actual of the cumulative repeat transactions at holdout week 39. */
  cumulativeErrorAtWeek39: { holtWinters: number; bgnbd: number; seasonalNaive: number };
}

export async function evalForecastCdnow(opts: {
  file: string;
  horizon?: number | undefined;
  configFile?: string | undefined;
  /** Worker threads (`--workers`, else `engine.workers`): the fit reads per-customer state, the same for any number. */
  workers?: string | number | undefined;
}): Promise<CdnowForecastReport> {
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const workers = workersFor(config, opts.workers);
  const horizon = positive('horizon', opts.horizon ?? 4);
  const purchases = readCdnowPurchases(opts.file);
  const series = weeklyRepeatTransactions(purchases, CALIBRATION_WEEKS + HOLDOUT_WEEKS);

  // BG/NBD on the engine's calibration state, as `vigil fit bgnbd --calibration-end 1997-09-30` does.
  const calibrationEnd = CDNOW_ORIGIN + CALIBRATION_WEEKS * WEEK - DAY; // 1997-09-30: T counts whole days to it
  const messages = purchases
    .filter((p) => p.ts < calibrationEnd + DAY)
    .map((p) => ({ bytes: encodePayload(p, 'msgpack'), subject: 'cdnow', receivedAt: 0 }));
  let transactions;
  if (workers > 1) transactions = buyersOfLines((await customerLinesOnWorkers(config, messages, workers)).lines);
  else {
    const engine = new Engine(config);
    await engine.run(
      new InProcessSource(messages, { name: 'cdnow', batchSize: config.pipeline.batchSize, finite: true }),
    );
    transactions = buyers(engine.state.store);
  }
  const stats = transactions.map((t) => repeatStats(t, calibrationEnd, 'week'));
  const fit = fitBgNbd(stats);
  // The holdout starts the day after the calibration end: horizons count from there, as in the paper's tracking plot.
  const expectedBy = (weeks: number): number =>
    stats.reduce((sum, s) => sum + expectedPurchases(fit.params, s, weeks), 0);
  const calibrationDay = expectedBy(1 / 7);
  const bgnbdCumulative = (w: number): number => expectedBy(w + 1 / 7) - calibrationDay;

  // The engine keeps no weekly series: the weekly model is chosen on calibration weeks only,
  // from the week after the cohort's last first purchase: before it, repeat transactions
  // grow with the cohort itself, a stretch the holdout (a closed cohort) never repeats.
  const fittedFromWeek = acquisitionWeeks(purchases);
  const selected = selectModel(series, modelFor(config.demand, 'weekly'), {
    from: fittedFromWeek,
    to: CALIBRATION_WEEKS,
  });
  const model = selected.config;
  const hw = new HoltWinters(model);
  for (let w = 0; w < CALIBRATION_WEEKS; w++) hw.observe(series[w]!);
  const hwForecast = hw.forecast(HOLDOUT_WEEKS);
  const lastWeek = series[CALIBRATION_WEEKS - 1]!;
  const tracking: CdnowTrackingRow[] = [];
  let prevBg = 0;
  for (let w = 1; w <= HOLDOUT_WEEKS; w++) {
    const cum = bgnbdCumulative(w);
    tracking.push({
      week: CALIBRATION_WEEKS + w,
      actual: series[CALIBRATION_WEEKS + w - 1]!,
      holtWinters: hwForecast[w - 1]!.mean,
      bgnbd: cum - prevBg,
      seasonalNaive: lastWeek,
    });
    prevBg = cum;
  }
  const sum = (k: keyof CdnowTrackingRow): number => tracking.reduce((a, r) => a + r[k], 0);
  const cumulative = {
    actual: sum('actual'),
    holtWinters: sum('holtWinters'),
    bgnbd: sum('bgnbd'),
    seasonalNaive: sum('seasonalNaive'),
  };
  const rel = (x: number): number => (x - cumulative.actual) / cumulative.actual;
  const rolling = rollingOrigin(series, { model, horizon, firstOrigin: CALIBRATION_WEEKS, seasonalPeriod: 1 });
  return {
    file: opts.file,
    customers: stats.length,
    calibrationRepeatTransactions: series.slice(0, CALIBRATION_WEEKS).reduce((a, b) => a + b, 0),
    bgnbd: fit.params,
    model: {
      trend: selected.trend,
      alpha: model.alpha,
      beta: model.beta,
      phi: model.phi,
      aicc: selected.aicc,
      fittedFromWeek,
    },
    rolling: { ...rolling, horizon, maseRatio: rolling.engine.mase / rolling.seasonalNaive.mase },
    tracking,
    cumulativeAtWeek39: cumulative,
    cumulativeErrorAtWeek39: {
      holtWinters: rel(cumulative.holtWinters),
      bgnbd: rel(cumulative.bgnbd),
      seasonalNaive: rel(cumulative.seasonalNaive),
    },
  };
}

/**
 * Weekly repeat transactions from 1997-01-01: purchases of one customer on one day are one
 * transaction, and each customer's first is not a repeat (the conventions of the CDNOW
 * studies).
 */
export function weeklyRepeatTransactions(
  purchases: readonly { customerId: string; ts: number }[],
  weeksCount: number,
): number[] {
  const out = new Array<number>(weeksCount).fill(0);
  const days = new Map<string, Set<number>>();
  for (const p of purchases) {
    let d = days.get(p.customerId);
    if (d === undefined) days.set(p.customerId, (d = new Set()));
    d.add(p.ts);
  }
  for (const d of days.values()) {
    const sorted = [...d].sort((a, b) => a - b);
    for (const ts of sorted.slice(1)) {
      const w = Math.floor((ts - CDNOW_ORIGIN) / WEEK);
      if (w >= 0 && w < weeksCount) out[w]!++;
    }
  }
  return out;
}

/** Weeks from 1997-01-01 up to and including the one of the cohort's last first purchase. */
export function acquisitionWeeks(purchases: readonly { customerId: string; ts: number }[]): number {
  const first = new Map<string, number>();
  for (const p of purchases) {
    const f = first.get(p.customerId);
    if (f === undefined || p.ts < f) first.set(p.customerId, p.ts);
  }
  let last = CDNOW_ORIGIN;
  for (const ts of first.values()) if (ts > last) last = ts;
  return Math.floor((last - CDNOW_ORIGIN) / WEEK) + 1;
}
