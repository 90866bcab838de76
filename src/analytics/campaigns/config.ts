import * as z from 'zod';

/** The `campaigns` section of the configuration (defaults in config/default.json). */
export const campaignsConfig = z.strictObject({
  /**
   * Campaigns tracked at once (before their report). Events attributed to a further campaign
   * are counted (`overLimit`, metric `vigil_campaign_events_total{outcome="over_limit"}`) and
   * enter neither its cohort nor the baseline.
   */
  maxLive: z.number().int().min(1).max(100_000),
  /** Final reports kept (API, dashboard); the oldest close is dropped first. */
  keepReports: z.number().int().min(1).max(100_000),
  /** Level of the reports' intervals, also the final report's verdict. */
  level: z.union([z.literal(0.8), z.literal(0.9), z.literal(0.95), z.literal(0.99)]),
});
export type CampaignsConfig = z.infer<typeof campaignsConfig>;
