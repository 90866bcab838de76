import { defineAlertType } from '../alert-type.js';
import { campaignReportData } from './campaign-report-data.js';

export const campaignReport = defineAlertType({
  type: 'campaign.report',
  data: campaignReportData,
  // About a campaign's cohort, not a customer: a figure for the people planning promotions.
  audience: 'ops',
  subject: 'aggregate',
  // One final report per campaign: its close (the alert's ts) and id tell reports apart.
  occasion: (d) => [d.campaign],
  policyKey: 'campaignReport',
  severities: ['info'],
  dashboard: { label: 'campaign', colour: '#4fc3f7' },
  status: 'camp',
  docs: {
    data: '`campaign`, `asOf`, `final` (true), `level`, `firstSeen`, `lastSeen`, `reached`, `converted`, `firstTimeBuyers`, `returningBuyers`, `revenuePerCustomer`, `repeat` (30/60/90 days: campaign and baseline rates, uplift with its Newcombe interval, `supported`), `verdict` (`uplift` / `lower` / `inconclusive` / `no-data`)',
    score:
      'the highest of 0.8, 0.9, 0.95, 0.99 at which the 90-day uplift interval excludes 0 (either side); 0 when none does',
    occasion: 'campaign (the customer id is null; `ts` is the cohort window’s close)',
  },
});
