import { decodeId } from '../http-api.js';
import { aggregateRoute } from './aggregate-route.js';

/** `GET /v1/campaigns/<id>`: the campaign's cohort report as of the watermark, 95 % intervals. */
export const serveCampaign = aggregateRoute(/^\/v1\/campaigns\/([^/]+)$/, (match, state) => {
  const id = decodeId(match[1]!);
  const asOf = state.watermark.watermark;
  const report = id === undefined || !Number.isFinite(asOf) ? undefined : state.campaigns?.report(id, asOf);
  return report === undefined ? { notFound: 'no such campaign in state' } : { body: report };
});
