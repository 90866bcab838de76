import type { Alert } from '../../alerts/alert.js';
import type { AlertOutput } from '../../alerts/alert-emitter.js';
import type { GlobalProcess } from '../../state/operators/global-process.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { DemandConfig } from './config.js';
import type { DemandAlerts, DemandAlertsSnapshot } from './demand-alerts.js';
import {
  DemandSeries,
  demandMeasures,
  type ClosedBucket,
  type DemandMeasure,
  type SeriesSnapshot,
} from './demand-series.js';
import type { ForecastPoint, HoltWintersConfig } from './holt-winters.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** The series over every category. */
export const ALL_CATEGORIES = '_all';
/** Purchases of items without a category, or in categories beyond `maxCategories`. */
export const OTHER_CATEGORY = '_other';
/** The forecasts the API and dashboard show: the next 24 hours and the next 28 days. */
export const HOURLY_HORIZON = 24;
export const DAILY_HORIZON = 28;

export const granularities = ['hourly', 'daily'] as const;
export type Granularity = (typeof granularities)[number];

interface CategoryDemand {
  readonly hourly: DemandSeries;
  readonly daily: DemandSeries;
}

export interface MeasureView {
  recent: readonly ClosedBucket[];
  forecast: ForecastPoint[];
  /** One-step error spread of the model (relative for multiplicative seasonality). */
  sigma: number;
  observedBuckets: number;
}

export interface SeriesView {
  bucketMs: number;
  /** Start of the first forecast bucket; null before any purchase. */
  origin: number | null;
  measures: Record<DemandMeasure, MeasureView>;
}

export interface DemandView {
  category: string;
  hourly: SeriesView;
  daily: SeriesView;
}

export interface DemandSnapshot {
  /** Each series' `history` is empty here: it travels in `history` below. */
  categories: [string, { hourly: SeriesSnapshot; daily: SeriesSnapshot }][];
  /**
   * Every series' closed-bucket history as one flat array (per category, hourly then daily,
   * per measure: a count, then start, actual, forecast, lo95, hi95 per bucket), so a
   * checkpoint writes it in bounded runs instead of one large preamble.
   */
  history: number[];
  /** The spike/drop gates; null without alerts. */
  alerts: DemandAlertsSnapshot | null;
}

/** Holt-Winters settings of each granularity from the configuration. */
export function seriesModels(config: DemandConfig): Record<Granularity, HoltWintersConfig> {
  const { hourly, daily, seasonality } = config;
  return {
    hourly: {
      seasonality,
      periods: [24, 168],
      alpha: hourly.alpha,
      beta: hourly.beta,
      phi: hourly.phi,
      gammas: [hourly.gammaDaily, hourly.gammaWeekly],
      errorWindow: hourly.errorWindow,
    },
    daily: {
      seasonality,
      periods: [7],
      alpha: daily.alpha,
      beta: daily.beta,
      phi: daily.phi,
      gammas: [daily.gammaWeekly],
      errorWindow: daily.errorWindow,
    },
  };
}

/**
 * Demand forecasting as a global process: it spans customers, so it has no per-customer
 * fields and no per-customer timers. Its global state is one `DemandSeries` per category
 * and granularity (bounded by `maxCategories`), advanced by the watermark. It merges by
 * summing open buckets: series over disjoint customer partitions add up bucket by bucket
 * before a model sees a closed bucket, so a partitioned engine would merge the per-bucket
 * sums at the watermark-aligned close and feed one model.
 *
 * A purchase adds to the overall series once (its order, units and revenue) and to each
 * of its items' categories (that category's units and revenue, and the order once per
 * category it touches).
 */
export class DemandProcess implements GlobalProcess<Alert> {
  private readonly categories = new Map<string, CategoryDemand>();
  private readonly models: Record<Granularity, HoltWintersConfig>;
  /** Sees every closed bucket as the models do (evaluation, tests); values are [units, orders, revenue]. */
  recorder:
    ((category: string, granularity: Granularity, start: number, values: readonly number[]) => void) | undefined;

  private readonly alertMeasure: number;
  /**
   * The lowest watermark at which any series closes a bucket: below it `onWatermark` has
   * nothing to do, so the walk over every category runs once per closed bucket, not per event.
   */
  private dueAt = -Infinity;
  private readonly alertOn: Record<Granularity, boolean>;

  constructor(
    private readonly config: DemandConfig,
    private readonly latenessMs: number,
    /** `demand.spike` / `demand.drop` (demand-alerts.ts); none when undefined. */
    private readonly alerts?: DemandAlerts,
  ) {
    this.models = seriesModels(config);
    this.categoryDemand(ALL_CATEGORIES);
    this.alertMeasure = demandMeasures.indexOf(config.alerts.measure);
    this.alertOn = {
      hourly: config.alerts.granularities.includes('hourly'),
      daily: config.alerts.granularities.includes('daily'),
    };
  }

  begin(batch: Pick<AlertOutput, 'alerts'>): void {
    this.alerts?.begin(batch.alerts);
  }

  onApplied(event: CanonicalEvent, watermark: number): void {
    if (event.type === 'purchase') {
      let units = 0;
      let revenue = 0;
      const touched = new Map<string, [number, number]>();
      for (const item of event.items) {
        units += item.quantity;
        revenue += item.price * item.quantity;
        const key = this.categoryKey(item.category);
        const t = touched.get(key);
        if (t === undefined) touched.set(key, [item.quantity, item.price * item.quantity]);
        else {
          t[0] += item.quantity;
          t[1] += item.price * item.quantity;
        }
      }
      this.addTo(ALL_CATEGORIES, event.ts, units, revenue);
      for (const [key, [u, r]] of touched) this.addTo(key, event.ts, u, r);
    }
    this.onWatermark(watermark);
  }

  onWatermark(watermark: number): void {
    if (!Number.isFinite(watermark) || watermark < this.dueAt) return;
    let dueAt = Infinity;
    for (const [name, c] of this.categories) {
      c.hourly.advanceTo(watermark, this.onClose(name, 'hourly', c.hourly.widthMs));
      c.daily.advanceTo(watermark, this.onClose(name, 'daily', c.daily.widthMs));
      dueAt = Math.min(dueAt, c.hourly.closesAt, c.daily.closesAt);
    }
    this.dueAt = dueAt;
  }

  /** What a closed bucket goes to: the recorder, and the alerts when they judge this granularity. */
  private onClose(
    name: string,
    granularity: Granularity,
    widthMs: number,
  ): ((start: number, values: readonly number[], closed: readonly ClosedBucket[]) => void) | undefined {
    const rec = this.recorder;
    const alerts = this.alertOn[granularity] ? this.alerts : undefined;
    if (rec === undefined && alerts === undefined) return undefined;
    return (start, values, closed) => {
      rec?.(name, granularity, start, values);
      alerts?.onClosed(name, granularity, widthMs, closed[this.alertMeasure]!);
    };
  }

  /** Category names with a series, the overall one first. */
  categoryNames(): string[] {
    return [...this.categories.keys()];
  }

  view(category: string): DemandView | undefined {
    const c = this.categories.get(category);
    if (c === undefined) return undefined;
    return { category, hourly: seriesView(c.hourly, HOURLY_HORIZON), daily: seriesView(c.daily, DAILY_HORIZON) };
  }

  series(category: string, granularity: Granularity): DemandSeries | undefined {
    return this.categories.get(category)?.[granularity];
  }

  snapshot(): DemandSnapshot {
    const history: number[] = [];
    const flatten = (snap: SeriesSnapshot): SeriesSnapshot => {
      for (const h of snap.history) {
        history.push(h.length);
        for (const b of h) history.push(b.start, b.actual, b.forecast, b.lo95, b.hi95);
      }
      return { ...snap, history: [] };
    };
    return {
      categories: [...this.categories].map(([k, c]) => [
        k,
        { hourly: flatten(c.hourly.snapshot()), daily: flatten(c.daily.snapshot()) },
      ]),
      history,
      alerts: this.alerts?.snapshot() ?? null,
    };
  }

  restore(s: DemandSnapshot): void {
    this.categories.clear();
    let at = 0;
    const unflatten = (snap: SeriesSnapshot): SeriesSnapshot => {
      const history = demandMeasures.map(() => {
        const n = s.history[at++]!;
        const h: ClosedBucket[] = [];
        for (let i = 0; i < n; i++, at += 5)
          h.push({
            start: s.history[at]!,
            actual: s.history[at + 1]!,
            forecast: s.history[at + 2]!,
            lo95: s.history[at + 3]!,
            hi95: s.history[at + 4]!,
          });
        return h;
      });
      return { ...snap, history };
    };
    for (const [k, c] of s.categories) {
      const d = this.categoryDemand(k);
      d.hourly.restore(unflatten(c.hourly));
      d.daily.restore(unflatten(c.daily));
    }
    if (at !== s.history.length) throw new Error('demand history does not match its series');
    if ((s.alerts === null) !== (this.alerts === undefined))
      throw new Error('demand alerts (analytics.enabled) differ from the snapshot');
    if (s.alerts !== null) this.alerts!.restore(s.alerts);
    this.dueAt = -Infinity;
  }

  private addTo(category: string, ts: number, units: number, revenue: number): void {
    const c = this.categoryDemand(category);
    c.hourly.add(ts, units, 1, revenue);
    c.daily.add(ts, units, 1, revenue);
    this.dueAt = Math.min(this.dueAt, c.hourly.closesAt, c.daily.closesAt);
  }

  private categoryKey(category: string | undefined): string {
    if (category === undefined) return OTHER_CATEGORY;
    if (this.categories.has(category)) return category;
    // Overall and other are always there; the rest fill up to maxCategories.
    const named = this.categories.size - 1 - (this.categories.has(OTHER_CATEGORY) ? 1 : 0);
    return named < this.config.maxCategories ? category : OTHER_CATEGORY;
  }

  private categoryDemand(category: string): CategoryDemand {
    let c = this.categories.get(category);
    if (c === undefined) {
      const { history } = this.config;
      c = {
        hourly: new DemandSeries(HOUR, this.latenessMs, this.models.hourly, history.hourly),
        daily: new DemandSeries(DAY, this.latenessMs, this.models.daily, history.daily),
      };
      this.categories.set(category, c);
    }
    return c;
  }
}

function seriesView(s: DemandSeries, horizon: number): SeriesView {
  const measures = {} as Record<DemandMeasure, MeasureView>;
  for (const m of demandMeasures) {
    const model = s.model(m);
    measures[m] = {
      recent: s.recent(m),
      forecast: model.forecast(horizon),
      sigma: model.sigma,
      observedBuckets: model.observed,
    };
  }
  return { bucketMs: s.widthMs, origin: s.forecastOrigin, measures };
}
