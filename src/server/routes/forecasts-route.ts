import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../../core/errors.js';
import type { EngineView } from '../engine-view.js';
import { decodeId, sendError, sendJson, type HttpApi } from '../http-api.js';

const FORECASTS = /^\/v1\/forecasts(?:\/([^/]+))?$/;

/**
 * `GET /v1/forecasts`: the categories with a demand series; `GET /v1/forecasts/<category>`
 * (`_all`: every category): its forecasts. Aggregates over customers, business figures like
 * the KPIs, so under `kpi:read`; no customer id is involved. False when the path is not this
 * route's.
 */
export function serveForecasts(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  api: HttpApi,
  state: EngineView,
  refused: (code: ErrorCode) => void,
): boolean {
  const match = FORECASTS.exec(path);
  if (match === null) return false;
  if (api.authorize(req, res, 'kpi:read') === undefined) return true;
  const demand = state.demand;
  const asOf = state.watermark.watermark;
  if (demand === undefined) {
    refused('VIGIL_ERR_NOT_FOUND');
    sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'demand forecasts are off (demand.enabled)');
    return true;
  }
  const rawCategory = match[1];
  if (rawCategory === undefined) {
    sendJson(res, 200, { asOf: Number.isFinite(asOf) ? asOf : null, categories: demand.categoryNames() });
    return true;
  }
  const category = decodeId(rawCategory);
  const view = category === undefined ? undefined : demand.view(category);
  if (view === undefined) {
    refused('VIGIL_ERR_NOT_FOUND');
    sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'no demand series for this category');
    return true;
  }
  sendJson(res, 200, { asOf: Number.isFinite(asOf) ? asOf : null, ...view });
  return true;
}
