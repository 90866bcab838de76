import { HoltWinters, type ForecastPoint, type HoltWintersConfig, type HoltWintersSnapshot } from './holt-winters.js';

/** What a bucket of demand counts: units sold, orders placed, revenue taken. */
export const demandMeasures = ['units', 'orders', 'revenue'] as const;
export type DemandMeasure = (typeof demandMeasures)[number];

/** One closed bucket beside the one-step forecast the model had made for it. */
export interface ClosedBucket {
  /** Event time of the bucket's start. */
  readonly start: number;
  readonly actual: number;
  /** NaN while the model was warming up (JSON: null). */
  readonly forecast: number;
  readonly lo95: number;
  readonly hi95: number;
}

export interface SeriesSnapshot {
  /** Start of the oldest bucket not yet closed; null before the first purchase. */
  nextClose: number | null;
  /** Open buckets: [start, units, orders, revenue]. */
  open: [number, number, number, number][];
  models: HoltWintersSnapshot[];
  history: ClosedBucket[][];
}

/**
 * One category's demand at one bucket width, in event time: open buckets collect
 * purchases; a bucket closes once the watermark is past its end by the allowed lateness
 * (no accepted event can fall into it after that), in order, empty buckets included, and
 * each closed bucket updates one Holt-Winters model per measure.
 *
 * Because a bucket closes only when no later input can change it, the models see the
 * same sequence of buckets whatever the batch boundaries were.
 */
export class DemandSeries {
  private nextClose: number | null = null;
  /** start → [units, orders, revenue] */
  private readonly open = new Map<number, [number, number, number]>();
  private readonly models: HoltWinters[];
  private readonly history: ClosedBucket[][];

  constructor(
    readonly widthMs: number,
    private readonly latenessMs: number,
    model: HoltWintersConfig,
    private readonly keep: number,
  ) {
    this.models = demandMeasures.map(() => new HoltWinters(model));
    this.history = demandMeasures.map(() => []);
  }

  /** Adds a purchase's share of demand at event time `ts`. */
  add(ts: number, units: number, orders: number, revenue: number): void {
    const start = ts - (((ts % this.widthMs) + this.widthMs) % this.widthMs);
    if (this.nextClose === null) this.nextClose = start;
    if (start < this.nextClose) {
      // A bucket that closed: an accepted event cannot land there (see advanceTo); kept safe.
      if (this.models[0]!.observed > 0) return;
      // Nothing closed yet: the series began at a later purchase, and this earlier one is within the lateness.
      this.nextClose = start;
    }
    let b = this.open.get(start);
    if (b === undefined) {
      b = [0, 0, 0];
      this.open.set(start, b);
    }
    b[0] += units;
    b[1] += orders;
    b[2] += revenue;
  }

  /**
   * Closes every bucket whose end is at least `latenessMs` behind the watermark. Returns the
   * closed buckets' starts through `onClose`, called after the models saw the bucket.
   */
  advanceTo(
    watermark: number,
    onClose?: (start: number, actual: readonly number[], predicted: readonly ClosedBucket[]) => void,
  ): void {
    if (this.nextClose === null) return;
    for (
      let start: number = this.nextClose;
      start + this.widthMs + this.latenessMs <= watermark;
      start = this.nextClose
    ) {
      const b = this.open.get(start) ?? [0, 0, 0];
      this.open.delete(start);
      const closed: ClosedBucket[] = [];
      for (let k = 0; k < this.models.length; k++) {
        const model = this.models[k]!;
        const f = model.forecast(1)[0];
        const bucket: ClosedBucket = {
          start,
          actual: b[k]!,
          forecast: f?.mean ?? NaN,
          lo95: f?.lo95 ?? NaN,
          hi95: f?.hi95 ?? NaN,
        };
        model.observe(b[k]!);
        const h = this.history[k]!;
        h.push(bucket);
        if (h.length > this.keep) h.shift();
        closed.push(bucket);
      }
      this.nextClose = start + this.widthMs;
      onClose?.(start, b, closed);
    }
  }

  /** The lowest watermark at which `advanceTo` closes a bucket; Infinity before any purchase. */
  get closesAt(): number {
    return this.nextClose === null ? Infinity : this.nextClose + this.widthMs + this.latenessMs;
  }

  /** Start of the next bucket to close (the first one the forecasts are for); null before any purchase. */
  get forecastOrigin(): number | null {
    return this.nextClose;
  }

  model(measure: DemandMeasure): HoltWinters {
    return this.models[demandMeasures.indexOf(measure)]!;
  }

  forecast(measure: DemandMeasure, horizon: number): ForecastPoint[] {
    return this.model(measure).forecast(horizon);
  }

  recent(measure: DemandMeasure): readonly ClosedBucket[] {
    return this.history[demandMeasures.indexOf(measure)]!;
  }

  snapshot(): SeriesSnapshot {
    return {
      nextClose: this.nextClose,
      open: [...this.open].map(([s, b]) => [s, b[0], b[1], b[2]]),
      models: this.models.map((m) => m.snapshot()),
      history: this.history.map((h) => h.map((b) => ({ ...b }))),
    };
  }

  restore(s: SeriesSnapshot): void {
    this.nextClose = s.nextClose;
    this.open.clear();
    for (const [start, u, o, r] of s.open) this.open.set(start, [u, o, r]);
    s.models.forEach((m, k) => this.models[k]!.restore(m));
    s.history.forEach((h, k) => {
      this.history[k]!.length = 0;
      this.history[k]!.push(...h);
    });
  }
}
