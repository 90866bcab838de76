import * as z from 'zod';

const unit = z.number().min(0).max(1);
const smoothing = z.strictObject({
  alpha: unit,
  beta: unit,
  /** Trend damping φ; 1 keeps the trend undamped. */
  phi: z.number().gt(0).max(1),
  /** Buckets over which σ² of one-step errors is a plain mean before it becomes exponentially weighted. */
  errorWindow: z.number().int().min(2),
});

/** The `demand` section of the configuration (defaults in config/default.json). */
export const demandConfig = z.strictObject({
  /** Off: no demand series, no forecasts. */
  enabled: z.boolean(),
  /** Categories with their own series; purchases in later-seen categories count under `_other`. */
  maxCategories: z.number().int().min(1).max(1000),
  seasonality: z.enum(['additive', 'multiplicative']),
  /** Hourly series: a daily (24) and a weekly (168) cycle. */
  hourly: smoothing.extend({ gammaDaily: unit, gammaWeekly: unit }),
  /** Daily series: a weekly (7) cycle. */
  daily: smoothing.extend({ gammaWeekly: unit }),
  /** Closed buckets kept per series with the forecast that was made for them (API, dashboard). */
  history: z.strictObject({
    hourly: z
      .number()
      .int()
      .min(1)
      .max(24 * 28),
    daily: z.number().int().min(1).max(366),
  }),
  /**
   * `demand.spike` / `demand.drop` (gates: `alerts.policies.demandSpike` / `demandDrop`):
   * the measure watched and the granularities whose closed buckets are judged; [] for none.
   * Alerts need `analytics.enabled` (the alert emitter).
   */
  alerts: z.strictObject({
    measure: z.enum(['units', 'orders', 'revenue']),
    granularities: z.array(z.enum(['hourly', 'daily'])).max(2),
    /**
     * Units and orders are counts: a bucket is judged only once its actual or its forecast
     * reaches this many (a category selling one or two a day cannot spike meaningfully).
     * Revenue is not a count and ignores it.
     */
    minCount: z.number().int().min(0),
  }),
});
export type DemandConfig = z.infer<typeof demandConfig>;
