import { HoltWinters, type HoltWintersConfig } from './holt-winters.js';

/**
 * Model selection for a series the engine keeps no settings for (the weekly one of an
 * evaluation), the way exponential smoothing is chosen offline (Hyndman et al.,
 * "Forecasting with Exponential Smoothing" (2008), §2.5 and §7.1): for each trend form (none,
 * damped, linear) the smoothing weights that minimise the one-step squared error over a
 * calibration window, then the form with the least AICc. Never on the hot path: it runs once,
 * at the calibration end, and the chosen model is then updated one observation at a time.
 *
 * The errors are counted over `[from, to)` only, while the model runs from the series'
 * start: the window leaves out a stretch the forecasts are not about (for a cohort's repeat
 * purchases, the weeks in which the cohort was still being acquired).
 */
export const trendForms = ['none', 'damped', 'linear'] as const;
export type TrendForm = (typeof trendForms)[number];

export interface SelectedModel {
  readonly config: HoltWintersConfig;
  readonly trend: TrendForm;
  /** Corrected Akaike information criterion of the chosen model over the window (Gaussian errors). */
  readonly aicc: number;
  /** One-step errors scored in the window. */
  readonly errors: number;
}

export interface SelectionWindow {
  readonly from: number;
  readonly to: number;
}

const ALPHAS = Array.from({ length: 20 }, (_, i) => (i + 1) / 20);
const BETAS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3];
const PHIS = [0.8, 0.85, 0.9, 0.95, 0.98];
/**
 * Estimated quantities per trend form: the weights and the initial states (level, trend).
 * Seasonal states are the same for every form, so they do not change the ranking.
 */
const PARAMETERS: Record<TrendForm, number> = { none: 2, damped: 5, linear: 4 };

function candidates(base: HoltWintersConfig, trend: TrendForm): HoltWintersConfig[] {
  const out: HoltWintersConfig[] = [];
  for (const alpha of ALPHAS) {
    if (trend === 'none') {
      out.push({ ...base, alpha, beta: 0, phi: 1 });
      continue;
    }
    for (const beta of BETAS) {
      if (beta > alpha) continue;
      if (trend === 'linear') out.push({ ...base, alpha, beta, phi: 1 });
      else for (const phi of PHIS) out.push({ ...base, alpha, beta, phi });
    }
  }
  return out;
}

/** Sum of squared one-step errors over the window, and how many there were. */
export function oneStepSse(
  series: readonly number[],
  config: HoltWintersConfig,
  window: SelectionWindow,
): [number, number] {
  const model = new HoltWinters(config);
  let sse = 0;
  let n = 0;
  for (let t = 0; t < window.to; t++) {
    if (t >= window.from && model.ready) {
      sse += (series[t]! - model.next()) ** 2;
      n++;
    }
    model.observe(series[t]!);
  }
  return [sse, n];
}

export function selectModel(
  series: readonly number[],
  base: HoltWintersConfig,
  window: SelectionWindow,
): SelectedModel {
  if (!(window.from >= 0 && window.to <= series.length && window.from < window.to))
    throw new Error(`selection window [${window.from}, ${window.to}) is not inside the series`);
  let best: SelectedModel | undefined;
  for (const trend of trendForms) {
    let config: HoltWintersConfig | undefined;
    let bestSse = Infinity;
    let n = 0;
    for (const c of candidates(base, trend)) {
      const [sse, count] = oneStepSse(series, c, window);
      if (sse < bestSse) [bestSse, config, n] = [sse, c, count];
    }
    const k = PARAMETERS[trend];
    if (config === undefined || n <= k + 1) continue;
    const aicc = n * Math.log(bestSse / n) + 2 * k + (2 * k * (k + 1)) / (n - k - 1);
    if (best === undefined || aicc < best.aicc) best = { config, trend, aicc, errors: n };
  }
  if (best === undefined) throw new Error('the selection window is too short to fit a model');
  return best;
}
