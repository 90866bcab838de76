import type { Alert } from '../../alerts/alert.js';
import { withAlertId } from '../../alerts/alert-id.js';
import type { CampaignReport } from '../../alerts/types/campaign-report-data.js';
import { newcombeDifference } from './wilson.js';

const LEVELS = [0.8, 0.9, 0.95, 0.99] as const;

/**
 * `campaign.report` for a final report. Its `ts` is the cohort window's close (`asOf`), the
 * end of the evidence, so a replay gives the same id. The score is the highest of the levels
 * at which the 90-day difference's interval excludes 0, either side: how strongly the data
 * say the campaign changed the repeat rate; 0 when they do not say it even at 80 %.
 */
export function campaignReportAlert(report: CampaignReport): Alert {
  const longest = report.repeat[report.repeat.length - 1]!;
  const pct = (x: number | null) => (x === null ? '–' : `${Math.round(x * 1000) / 10} %`);
  const verdict = {
    uplift: `an uplift the ${report.level * 100} % interval supports`,
    lower: `a lower rate than the baseline at ${report.level * 100} %`,
    inconclusive: `no difference the ${report.level * 100} % interval supports`,
    'no-data': 'no comparison: a cohort is empty',
  }[report.verdict];
  return withAlertId({
    type: 'campaign.report',
    customerId: null,
    ts: report.asOf,
    severity: 'info',
    score: exclusionLevel(longest),
    reasons: [
      `${report.campaign}: ${report.firstTimeBuyers} first-time and ${report.returningBuyers} returning buyers of ${report.reached} reached; ` +
        `${longest.days}-day repeat ${pct(longest.campaignRate.estimate)} vs baseline ${pct(longest.baselineRate.estimate)}: ${verdict}`,
    ],
    segment: null,
    data: report,
  });
}

function exclusionLevel(r: CampaignReport['repeat'][number]): number {
  if (r.eligible === 0 || r.baselineEligible === 0) return 0;
  const s = Math.round(r.campaignRate.estimate! * r.eligible);
  const bs = Math.round(r.baselineRate.estimate! * r.baselineEligible);
  let best = 0;
  for (const level of LEVELS) {
    const d = newcombeDifference(s, r.eligible, bs, r.baselineEligible, level);
    if (d.lo > 0 || d.hi < 0) best = level;
  }
  return best;
}
