import { HoltWinters, type HoltWintersConfig } from './holt-winters.js';

/**
 * Rolling-origin evaluation of demand forecasts (Tashman 2000; Hyndman & Athanasopoulos,
 * "Forecasting: Principles and Practice", 3rd ed., §5.8–5.10): at every origin t the model
 * has seen y[0..t) and forecasts y[t..t+horizon); the same (origin, step) pairs score the
 * engine's Holt-Winters and the seasonal-naive baseline.
 *
 * - MASE: mean absolute error over the mean absolute in-sample seasonal-naive error of
 *   y[0..firstOrigin) (one scale for every origin, so the two methods share it);
 * - sMAPE: mean of 200·|y − ŷ| / (|y| + |ŷ|), 0 where both are 0;
 * - coverage: the share of actual values inside the 80 % and 95 % intervals.
 *
 * The baseline's intervals are the seasonal-naive ones of FPP §5.5: σ of the one-season
 * differences seen so far, times √(k + 1) with k the whole seasons in h − 1.
 */
export interface ForecastScore {
  mase: number;
  smape: number;
  coverage80: number;
  coverage95: number;
  /** Scored (origin, step) pairs. */
  forecasts: number;
}

export interface RollingOriginOptions {
  readonly model: HoltWintersConfig;
  readonly horizon: number;
  /** First origin (index of the first forecast bucket); every later one up to the end is an origin too. */
  readonly firstOrigin: number;
  /** Season of the baseline and of the MASE scale (1: naive). */
  readonly seasonalPeriod: number;
}

export interface RollingOriginResult {
  engine: ForecastScore;
  seasonalNaive: ForecastScore;
  origins: number;
}

class Scorer {
  private absErr = 0;
  private smape = 0;
  private in80 = 0;
  private in95 = 0;
  private n = 0;

  add(y: number, mean: number, lo80: number, hi80: number, lo95: number, hi95: number): void {
    this.absErr += Math.abs(y - mean);
    const denom = Math.abs(y) + Math.abs(mean);
    this.smape += denom === 0 ? 0 : (200 * Math.abs(y - mean)) / denom;
    if (y >= lo80 && y <= hi80) this.in80++;
    if (y >= lo95 && y <= hi95) this.in95++;
    this.n++;
  }

  score(scale: number): ForecastScore {
    const n = this.n;
    return {
      mase: this.absErr / n / scale,
      smape: this.smape / n,
      coverage80: this.in80 / n,
      coverage95: this.in95 / n,
      forecasts: n,
    };
  }
}

const Z80 = 1.2815515655446004;
const Z95 = 1.959963984540054;

export function rollingOrigin(series: readonly number[], opts: RollingOriginOptions): RollingOriginResult {
  const { horizon, firstOrigin, seasonalPeriod: m } = opts;
  if (!(firstOrigin > m && firstOrigin < series.length))
    throw new Error(`first origin must be in (${m}, ${series.length}), not ${firstOrigin}`);
  let scaleSum = 0;
  for (let i = m; i < firstOrigin; i++) scaleSum += Math.abs(series[i]! - series[i - m]!);
  const scale = scaleSum / (firstOrigin - m);
  const model = new HoltWinters(opts.model);
  const engine = new Scorer();
  const naive = new Scorer();
  let diffSq = 0;
  let diffs = 0;
  let origins = 0;
  for (let t = 0; t < series.length; t++) {
    if (t >= firstOrigin && model.ready && diffs > 1) {
      origins++;
      const steps = Math.min(horizon, series.length - t);
      const fc = model.forecast(steps);
      const sigma = Math.sqrt(diffSq / (diffs - 1));
      for (let h = 1; h <= steps; h++) {
        const y = series[t + h - 1]!;
        const f = fc[h - 1]!;
        engine.add(y, f.mean, f.lo80, f.hi80, f.lo95, f.hi95);
        const k = Math.floor((h - 1) / m);
        const mean = series[t + h - 1 - m * (k + 1)]!;
        const sd = sigma * Math.sqrt(k + 1);
        naive.add(y, mean, mean - Z80 * sd, mean + Z80 * sd, mean - Z95 * sd, mean + Z95 * sd);
      }
    }
    model.observe(series[t]!);
    if (t >= m) {
      const d = series[t]! - series[t - m]!;
      diffSq += d * d;
      diffs++;
    }
  }
  return { engine: engine.score(scale), seasonalNaive: naive.score(scale), origins };
}
