/**
 * Holt-Winters exponential smoothing, updated one observation at a time, in the
 * error-correction (state space) form of Hyndman et al., "Forecasting with Exponential
 * Smoothing" (2008), ch. 2: ETS(A,A,A) for additive seasonality and ETS(A,A,M) for
 * multiplicative, with one or two seasonal periods (Taylor 2003's double seasonal form for
 * hourly series: a daily and a weekly cycle).
 *
 * Contract: `observe(y)` is the only way state moves, and it is O(1) (no refit, no rescan);
 * the state is a fixed set of numbers, so a snapshot restores the model exactly.
 *
 * Until one full longest season has been seen the model is warming up: observations are
 * kept (at most one longest season) and the state is initialised from them, level as
 * their mean and each seasonal index as the mean deviation at its phase.
 *
 * Prediction intervals: the variance of the h-step error is σ²·(1 + Σ_{j<h} c_j²) with
 * c_j = α + β·j + Σ_k γ_k·[j ≡ 0 mod m_k] (Hyndman et al. 2008, Table 6.1, class 1, exact for
 * the additive model). For the multiplicative model errors are taken relative to the
 * one-step forecast and the same factor applies to the relative variance, the usual
 * approximation for ETS(M,·,·). σ² is a running mean of squared one-step errors that turns
 * into an exponentially weighted one after `errorWindow` observations, so it follows a
 * changing noise level.
 */
export type Seasonality = 'additive' | 'multiplicative';

export interface HoltWintersConfig {
  readonly seasonality: Seasonality;
  /** Seasonal periods in buckets, shortest first, each dividing the next (e.g. [24, 168]); empty: no season. */
  readonly periods: readonly number[];
  readonly alpha: number;
  readonly beta: number;
  /** One smoothing weight per period. */
  readonly gammas: readonly number[];
  /** Trend damping φ in (0, 1]; 1 is an undamped trend. */
  readonly phi: number;
  /** Observations over which σ² is a plain mean before it becomes exponentially weighted. */
  readonly errorWindow: number;
}

export interface ForecastPoint {
  /** Steps ahead (1 = the next bucket). */
  readonly h: number;
  readonly mean: number;
  readonly lo80: number;
  readonly hi80: number;
  readonly lo95: number;
  readonly hi95: number;
}

/** Two-sided standard normal quantiles. */
const Z80 = 1.2815515655446004;
const Z95 = 1.959963984540054;
/** Multiplicative indices are kept off zero so that a bucket that was empty does not pin a phase at 0 forever. */
const MIN_INDEX = 1e-3;

export interface HoltWintersSnapshot {
  n: number;
  level: number;
  trend: number;
  /** One array per period, indexed by phase. */
  seasons: number[][];
  sigma2: number;
  warmup: number[];
}

export class HoltWinters {
  private n = 0;
  private level = 0;
  private trend = 0;
  private readonly seasons: Float64Array[];
  private sigma2 = 0;
  /** Observations while warming up; emptied once the state is initialised. */
  private warmup: number[] = [];
  private readonly longest: number;

  constructor(readonly config: HoltWintersConfig) {
    const { periods, gammas } = config;
    if (periods.length !== gammas.length) throw new Error('one gamma per seasonal period');
    for (let k = 1; k < periods.length; k++) {
      if (periods[k]! % periods[k - 1]! !== 0) throw new Error('each seasonal period must divide the next');
    }
    this.seasons = periods.map((m) => new Float64Array(m).fill(config.seasonality === 'multiplicative' ? 1 : 0));
    this.longest = periods.length === 0 ? 2 : periods[periods.length - 1]!;
  }

  /** Observations seen, warm-up included. */
  get observed(): number {
    return this.n;
  }

  get ready(): boolean {
    return this.warmup.length === 0 && this.n >= this.longest;
  }

  /** Standard deviation of one-step errors (relative to the forecast for the multiplicative model). */
  get sigma(): number {
    return Math.sqrt(this.sigma2);
  }

  /** The one-step forecast for the next observation (NaN while warming up). */
  next(): number {
    return this.ready ? this.pointForecast(1) : NaN;
  }

  observe(y: number): void {
    const t = this.n++;
    if (!this.ready && this.warmup.length < this.longest) {
      this.warmup.push(y);
      if (this.warmup.length === this.longest) this.initialise();
      return;
    }
    const { alpha, beta, gammas, phi, errorWindow } = this.config;
    const mult = this.config.seasonality === 'multiplicative';
    const base = this.level + phi * this.trend;
    const s = this.seasonalAt(t);
    const yhat = mult ? base * s : base + s;
    const e = y - yhat;
    const rel = mult ? (yhat > 0 ? e / yhat : 0) : e;
    // The initial estimate counts as one observation.
    const weight = 1 / Math.min(this.n - this.longest + 1, errorWindow);
    this.sigma2 += (rel * rel - this.sigma2) * weight;
    if (mult) {
      const scaled = s > 0 ? e / s : 0;
      this.level = base + alpha * scaled;
      this.trend = phi * this.trend + beta * scaled;
      for (let k = 0; k < this.seasons.length; k++) {
        const idx = this.seasons[k]!;
        const p = t % idx.length;
        const others = s / idx[p]!;
        const denom = base * others;
        idx[p] = Math.max(MIN_INDEX, idx[p]! + (denom > 0 ? (gammas[k]! * e) / denom : 0));
      }
    } else {
      this.level = base + alpha * e;
      this.trend = phi * this.trend + beta * e;
      for (let k = 0; k < this.seasons.length; k++) {
        const idx = this.seasons[k]!;
        idx[t % idx.length] = idx[t % idx.length]! + gammas[k]! * e;
      }
    }
  }

  /** Forecasts for 1..horizon buckets ahead with 80 % and 95 % intervals; empty while warming up. */
  forecast(horizon: number): ForecastPoint[] {
    if (!this.ready) return [];
    const out: ForecastPoint[] = [];
    const { alpha, beta, gammas, phi, periods } = this.config;
    const mult = this.config.seasonality === 'multiplicative';
    let sumC2 = 0;
    let dampedJ = 0;
    for (let h = 1; h <= horizon; h++) {
      const mean = Math.max(0, this.pointForecast(h));
      const variance = this.sigma2 * (1 + sumC2);
      const sd = mult ? mean * Math.sqrt(variance) : Math.sqrt(variance);
      out.push({
        h,
        mean,
        lo80: Math.max(0, mean - Z80 * sd),
        hi80: mean + Z80 * sd,
        lo95: Math.max(0, mean - Z95 * sd),
        hi95: mean + Z95 * sd,
      });
      // c_j for j = h, used from step h + 1 on.
      dampedJ = dampedJ * phi + 1;
      let c = alpha + beta * (phi === 1 ? h : phi * dampedJ);
      for (let k = 0; k < periods.length; k++) if (h % periods[k]! === 0) c += gammas[k]!;
      sumC2 += c * c;
    }
    return out;
  }

  private pointForecast(h: number): number {
    const { phi } = this.config;
    let damp = 0;
    let f = 1;
    for (let j = 1; j <= h; j++) {
      f *= phi;
      damp += f;
    }
    const base = this.level + (phi === 1 ? h : damp) * this.trend;
    const s = this.seasonalAt(this.n + h - 1);
    return this.config.seasonality === 'multiplicative' ? base * s : base + s;
  }

  /** The combined seasonal term for observation index t (product or sum over periods). */
  private seasonalAt(t: number): number {
    const mult = this.config.seasonality === 'multiplicative';
    let s = mult ? 1 : 0;
    for (const idx of this.seasons) s = mult ? s * idx[t % idx.length]! : s + idx[t % idx.length]!;
    return s;
  }

  /**
   * Level: the mean of the first season; trend 0; each period's index the mean, over its
   * cycles, of what is left at its phase after the level and the shorter periods.
   */
  private initialise(): void {
    const ys = this.warmup;
    const mult = this.config.seasonality === 'multiplicative';
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    this.level = mult ? Math.max(mean, MIN_INDEX) : mean;
    this.trend = 0;
    const residual = ys.map((y) => (mult ? y / this.level : y - this.level));
    for (const idx of this.seasons) {
      const m = idx.length;
      const sums = new Float64Array(m);
      for (let t = 0; t < residual.length; t++) sums[t % m]! += residual[t]!;
      const cycles = residual.length / m;
      for (let p = 0; p < m; p++) idx[p] = mult ? Math.max(MIN_INDEX, sums[p]! / cycles) : sums[p]! / cycles;
      for (let t = 0; t < residual.length; t++)
        residual[t] = mult ? residual[t]! / idx[t % m]! : residual[t]! - idx[t % m]!;
    }
    // σ² starts from what the initial state leaves unexplained in the first season.
    let ss = 0;
    for (let t = 0; t < ys.length; t++) {
      const fitted = mult ? this.level * this.seasonalAt(t) : this.level + this.seasonalAt(t);
      const e = ys[t]! - fitted;
      const rel = mult ? (fitted > 0 ? e / fitted : 0) : e;
      ss += rel * rel;
    }
    this.sigma2 = ss / ys.length;
    this.warmup = [];
  }

  snapshot(): HoltWintersSnapshot {
    return {
      n: this.n,
      level: this.level,
      trend: this.trend,
      seasons: this.seasons.map((s) => [...s]),
      sigma2: this.sigma2,
      warmup: [...this.warmup],
    };
  }

  restore(s: HoltWintersSnapshot): void {
    if (s.seasons.length !== this.seasons.length || s.seasons.some((x, k) => x.length !== this.seasons[k]!.length)) {
      throw new Error('Holt-Winters seasonal periods differ from the snapshot');
    }
    this.n = s.n;
    this.level = s.level;
    this.trend = s.trend;
    s.seasons.forEach((x, k) => this.seasons[k]!.set(x));
    this.sigma2 = s.sigma2;
    this.warmup = [...s.warmup];
  }
}
