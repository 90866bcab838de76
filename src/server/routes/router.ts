import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import { sendError } from '../http-api.js';
import type { OpsMetrics } from '../metrics.js';
import type { StaticFiles } from '../static-files.js';
import type { AggregateRouteParts } from './aggregate-route.js';
import { serveApiDocs } from './api-docs-route.js';
import { serveCampaign } from './campaigns-route.js';
import { serveClusters } from './clusters-route.js';
import { serveFile } from './files-route.js';
import { serveForecasts } from './forecasts-route.js';
import { serveMetrics } from './metrics-route.js';
import { requestUrl } from './request-url.js';

export interface RouterParts extends AggregateRouteParts {
  readonly metrics: OpsMetrics;
  readonly files: StaticFiles;
  readonly log: Logger;
}

/**
 * The plain HTTP routes, in the order they are tried: erasure (DELETE), then for GET and
 * HEAD `/metrics`, the API documents, the aggregates (demand forecasts, campaign reports, clusters), the
 * API (`HttpApi`: customers, items, health), and
 * last the dashboard's files. The stream is not here: it is an upgrade (`upgrade.ts`).
 */
export function route(req: IncomingMessage, res: ServerResponse, parts: RouterParts): void {
  const url = requestUrl(req);
  if (url === undefined) {
    sendError(res, 400, 'VIGIL_ERR_USAGE', 'the request target is not a valid path');
    return;
  }
  if (req.method === 'DELETE' && parts.api.handleDelete(req, res, url)) return;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, 'VIGIL_ERR_USAGE', 'only GET (and DELETE of a customer)', { Allow: 'GET, HEAD' });
    return;
  }
  if (url.pathname === '/metrics') return serveMetrics(req, res, parts.api, parts.metrics, parts.log);
  if (serveApiDocs(url.pathname, res)) return;
  if (serveForecasts(url.pathname, req, res, parts)) return;
  if (serveCampaign(url.pathname, req, res, parts)) return;
  if (serveClusters(url.pathname, req, res, parts)) return;
  if (parts.api.handle(req, res, url)) return;
  serveFile(url.pathname, res, req.method === 'HEAD', parts.files, parts.refused, parts.log);
}
