import * as z from 'zod';
import { MAX_KEY_LENGTH } from '../../core/event.js';
import { eventTime } from '../alert-fields.js';

/**
 * The data of `demand.spike` and `demand.drop`: a demand bucket that closed outside the 95 %
 * prediction interval of the forecast made for it one bucket ahead
 * (src/analytics/demand/demand-alerts.ts).
 */
export const demandData = z.strictObject({
  /** The series: a category, `_all` (every category) or `_other`. */
  category: z.string().min(1).max(MAX_KEY_LENGTH),
  granularity: z.enum(['hourly', 'daily']),
  measure: z.enum(['units', 'orders', 'revenue']),
  /** Event time of the bucket's start; it spans `bucketMs`. */
  bucketStart: eventTime,
  bucketMs: z.number().int().min(1),
  actual: z.number().min(0),
  /** The one-step forecast's mean and 95 % interval. */
  forecast: z.number(),
  lo95: z.number(),
  hi95: z.number(),
});

/** What the two demand types' docs rows share. */
export const demandDocs = {
  data: '`category` (or `_all`, `_other`), `granularity` (`hourly` / `daily`), `measure` (`units` / `orders` / `revenue`), `bucketStart`, `bucketMs`, `actual`, `forecast`, `lo95`, `hi95` (the one-step forecast made for the bucket)',
  score:
    '2Φ(\\|actual − forecast\\| / σ) − 1, σ = (hi95 − forecast) / 1.96: the level of the narrowest central interval that leaves the actual out (0.95 on the 95 % bound)',
  occasion: 'category, granularity, measure (the customer id is null)',
} as const;
