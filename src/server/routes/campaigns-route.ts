import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../../core/errors.js';
import type { EngineView } from '../engine-view.js';
import { decodeId, sendError, sendJson, type HttpApi } from '../http-api.js';

const CAMPAIGN = /^\/v1\/campaigns\/([^/]+)$/;

/**
 * `GET /v1/campaigns/<id>`: the campaign's cohort report as of the watermark at `campaigns.level`,
 * or its final report once its window closed (the data of its `campaign.report`).
 * An aggregate over customers, a business figure like the KPIs, so under `kpi:read`. False
 * when the path is not this route's.
 */
export function serveCampaign(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  api: HttpApi,
  state: EngineView,
  refused: (code: ErrorCode) => void,
): boolean {
  const match = CAMPAIGN.exec(path);
  if (match === null) return false;
  if (api.authorize(req, res, 'kpi:read') === undefined) return true;
  const id = decodeId(match[1]!);
  const asOf = state.watermark.watermark;
  const report = id === undefined || !Number.isFinite(asOf) ? undefined : state.campaigns?.report(id, asOf);
  if (report === undefined) {
    refused('VIGIL_ERR_NOT_FOUND');
    sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'no such campaign in state');
    return true;
  }
  sendJson(res, 200, report);
  return true;
}
