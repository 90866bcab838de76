import * as z from 'zod';
import { eventTime, key, moneyTotal } from '../alert-fields.js';

/** A rate or difference; null while it has no customer to be taken over. */
const maybe = z.number().nullable();
const interval = z.strictObject({ estimate: maybe, lo: z.number(), hi: z.number() });
const count = z.number().int().min(0);

/** What the data support at the report's level, judged on the 90-day repeat rate (cohorts.ts). */
export const campaignVerdicts = ['uplift', 'lower', 'inconclusive', 'no-data'] as const;

/**
 * A campaign's cohort report (src/analytics/campaigns/cohorts.ts): what `GET /v1/campaigns/:id`
 * returns and the data of `campaign.report`. The single source of its type.
 */
export const campaignReportData = z.strictObject({
  campaign: key,
  /** Event time the repeat windows are judged at: the watermark (live), or the cohort's close (final). */
  asOf: z.number(),
  /** True once the cohort's window closed: every entrant's 90 days are over, the numbers are final. */
  final: z.boolean(),
  level: z.number().gt(0).lt(1),
  /** Event time of the first and the latest event attributed to the campaign. */
  firstSeen: eventTime,
  lastSeen: eventTime,
  /** Customers with any event attributed to the campaign. */
  reached: count,
  /** Customers who bought through it: first-time buyers (its cohort) plus returning buyers. */
  converted: count,
  firstTimeBuyers: count,
  returningBuyers: count,
  /** The cohort's revenue from entry through 90 days, per cohort customer. */
  revenuePerCustomer: moneyTotal,
  repeat: z
    .array(
      z.strictObject({
        days: z.number().int().min(1),
        eligible: count,
        baselineEligible: count,
        campaignRate: interval,
        baselineRate: interval,
        uplift: interval.describe('campaign minus baseline repeat rate, Newcombe interval'),
        supported: z.boolean().describe('true only when the uplift interval lies above 0'),
      }),
    )
    .max(3),
  /** `uplift` only when the 90-day difference's interval lies above 0, `lower` below 0. */
  verdict: z.enum(campaignVerdicts),
});
export type CampaignReport = z.infer<typeof campaignReportData>;
