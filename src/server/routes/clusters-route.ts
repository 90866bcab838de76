import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../../core/errors.js';
import type { EngineView } from '../engine-view.js';
import { sendError, sendJson, type HttpApi } from '../http-api.js';

/**
 * `GET /v1/clusters`: the published behavioural clusters, their ids, labels and sizes (points
 * of the clustering's sample nearest each; docs/analytics.md). An aggregate over customers
 * with no customer in it, so under `kpi:read` like the other aggregates. 404 when clusters
 * are off; `clusters` empty before the first publication. False when the path is not this
 * route's.
 */
export function serveClusters(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  api: HttpApi,
  state: EngineView,
  refused: (code: ErrorCode) => void,
): boolean {
  if (path !== '/v1/clusters') return false;
  if (api.authorize(req, res, 'kpi:read') === undefined) return true;
  if (state.clusters === undefined) {
    refused('VIGIL_ERR_NOT_FOUND');
    sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'behavioural clusters are off (clusters.enabled)');
    return true;
  }
  const p = state.clusters.clusters;
  const total = p === undefined ? 0 : p.sizes.reduce((a, b) => a + b, 0);
  const clusters =
    p === undefined
      ? []
      : p.ids
          .map((id, q) => ({ id, label: p.labels[q]!, size: p.sizes[q]!, share: total > 0 ? p.sizes[q]! / total : 0 }))
          .sort((a, b) => a.id - b.id);
  sendJson(res, 200, { publishedAt: p?.at ?? null, clusters });
  return true;
}
