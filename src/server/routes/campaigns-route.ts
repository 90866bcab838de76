import { decodeId } from '../http-api.js';
import { aggregateRoute } from './aggregate-route.js';

/** Reports in the list: live ones are computed per request (a scan of the cohort entries each). */
export const LISTED_LIVE = 10;
export const LISTED_FINAL = 20;

/**
 * `GET /v1/campaigns/<id>`: the campaign's cohort report as of the watermark at `campaigns.level`,
 * or its final report once its window closed (the data of its `campaign.report`).
 * `GET /v1/campaigns`: the live reports of the campaigns seen most recently and the latest
 * final ones (the dashboard's tile).
 */
export const serveCampaign = aggregateRoute(/^\/v1\/campaigns(?:\/([^/]+))?$/, (match, state) => {
  const asOf = state.watermark.watermark;
  const cohorts = state.campaigns?.cohorts;
  if (match[1] === undefined) {
    if (cohorts === undefined) return { notFound: 'campaign cohorts are off (analytics.enabled)' };
    return {
      body: {
        asOf: Number.isFinite(asOf) ? asOf : null,
        live: Number.isFinite(asOf) ? cohorts.liveReports(asOf, LISTED_LIVE) : [],
        liveCount: cohorts.liveCount(),
        final: cohorts.finalReports(LISTED_FINAL),
      },
    };
  }
  const id = decodeId(match[1]);
  const report = id === undefined || !Number.isFinite(asOf) ? undefined : state.campaigns?.report(id, asOf);
  return report === undefined ? { notFound: 'no such campaign in state' } : { body: report };
});
