import * as z from 'zod';
import { campaignReportData } from '../alerts/types/campaign-report-data.js';

/**
 * Response bodies of the aggregate routes (demand forecasts, campaign cohorts), for the
 * OpenAPI document (api-specs.ts). Aggregates over customers: no customer id in any of them.
 * NaN (a bucket closed while its model warmed up) is sent as JSON null.
 */
const maybe = z.number().nullable();
const closedBucket = z.strictObject({
  start: z.number(),
  actual: z.number(),
  forecast: maybe,
  lo95: maybe,
  hi95: maybe,
});
const forecastPoint = z.strictObject({
  h: z.number().int(),
  mean: maybe,
  lo80: maybe,
  hi80: maybe,
  lo95: maybe,
  hi95: maybe,
});
const measureView = z.strictObject({
  recent: z.array(closedBucket).describe('closed buckets, oldest first, beside the one-step forecast made for each'),
  forecast: z.array(forecastPoint).describe('the next buckets from origin: 24 hours, or 28 days'),
  sigma: maybe.describe('one-step error spread (relative when seasonality is multiplicative)'),
  observedBuckets: z.number().int(),
});
const seriesView = z.strictObject({
  bucketMs: z.number().int(),
  origin: z.number().nullable().describe('start of the first forecast bucket; null before any purchase'),
  measures: z.strictObject({ units: measureView, orders: measureView, revenue: measureView }),
});
export const forecastListBody = z.strictObject({ asOf: z.number().nullable(), categories: z.array(z.string()) });
export const forecastBody = z.strictObject({
  asOf: z.number().nullable(),
  category: z.string(),
  hourly: seriesView,
  daily: seriesView,
});

/** The live report as of the watermark, or the final one once the cohort's window closed. */
export const campaignBody = campaignReportData;
export const campaignListBody = z.strictObject({
  asOf: maybe.describe('the watermark; null before any event'),
  live: z.array(campaignReportData).describe('live reports of the campaigns seen most recently (at most 10)'),
  liveCount: z.number().int().describe('campaigns whose window is open'),
  final: z.array(campaignReportData).describe('the latest final reports, latest close first (at most 20)'),
});
export const clusterListBody = z.strictObject({
  publishedAt: maybe.describe('event time of the publication; null before the first'),
  clusters: z.array(
    z.strictObject({
      id: z.number().int(),
      label: z.string(),
      size: z.number().int().describe("points of the clustering's sample (sampled events) nearest the centroid"),
      share: z.number(),
    }),
  ),
});
export const clusterBody = z.strictObject({ id: z.number().int(), label: z.string() });
