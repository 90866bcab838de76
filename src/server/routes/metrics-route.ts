import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import { sendError, type HttpApi } from '../http-api.js';
import type { OpsMetrics } from '../metrics.js';

/**
 * `GET /metrics`: counts per alert type, revenue, funnel, what the stream's kpi frames
 * carry, so under the same scope (`kpi:read`).
 */
export function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  api: HttpApi,
  metrics: OpsMetrics,
  log: Logger,
): void {
  if (api.authorize(req, res, 'kpi:read') === undefined) return;
  metrics.text().then(
    (text) => {
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    },
    (e: unknown) => {
      log.error({ err: e }, 'metrics collection failed');
      sendError(res, 500, 'VIGIL_ERR_SERVER_INTERNAL', 'metrics collection failed');
    },
  );
}
