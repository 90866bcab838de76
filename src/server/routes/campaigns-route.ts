import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../../core/errors.js';
import type { EngineView } from '../engine-view.js';
import { decodeId, sendError, sendJson, type HttpApi } from '../http-api.js';

const CAMPAIGNS = /^\/v1\/campaigns(?:\/([^/]+))?$/;
/** Reports in the list: live ones are computed per request (a scan of the cohort entries each). */
export const LISTED_LIVE = 10;
export const LISTED_FINAL = 20;

/**
 * `GET /v1/campaigns/<id>`: the campaign's cohort report as of the watermark at `campaigns.level`,
 * or its final report once its window closed (the data of its `campaign.report`).
 * `GET /v1/campaigns`: the live reports of the campaigns seen most recently and the latest
 * final ones (the dashboard's tile). Aggregates over customers, business figures like the
 * KPIs, so under `kpi:read`. False when the path is not this route's.
 */
export function serveCampaign(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  api: HttpApi,
  state: EngineView,
  refused: (code: ErrorCode) => void,
): boolean {
  const match = CAMPAIGNS.exec(path);
  if (match === null) return false;
  if (api.authorize(req, res, 'kpi:read') === undefined) return true;
  const asOf = state.watermark.watermark;
  const cohorts = state.campaigns?.cohorts;
  if (match[1] === undefined) {
    if (cohorts === undefined) {
      refused('VIGIL_ERR_NOT_FOUND');
      sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'campaign cohorts are off (analytics.enabled)');
      return true;
    }
    sendJson(res, 200, {
      asOf: Number.isFinite(asOf) ? asOf : null,
      live: Number.isFinite(asOf) ? cohorts.liveReports(asOf, LISTED_LIVE) : [],
      liveCount: cohorts.liveCount(),
      final: cohorts.finalReports(LISTED_FINAL),
    });
    return true;
  }
  const id = decodeId(match[1]);
  const report = id === undefined || !Number.isFinite(asOf) ? undefined : state.campaigns?.report(id, asOf);
  if (report === undefined) {
    refused('VIGIL_ERR_NOT_FOUND');
    sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'no such campaign in state');
    return true;
  }
  sendJson(res, 200, report);
  return true;
}
