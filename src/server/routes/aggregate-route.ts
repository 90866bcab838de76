import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../../core/errors.js';
import type { EngineView } from '../engine-view.js';
import { sendError, sendJson, type HttpApi } from '../http-api.js';

/** What the aggregate routes need from the router. */
export interface AggregateRouteParts {
  readonly api: HttpApi;
  /** What the aggregate routes (forecasts, campaigns, clusters) read. */
  readonly state: EngineView;
  readonly refused: (code: ErrorCode) => void;
}

/** A matched request's answer: a JSON body (200), or why there is nothing (404). */
export type AggregateAnswer = { readonly body: unknown } | { readonly notFound: string };

/** True when the route answered the request (the path was its own). */
export type AggregateRoute = (
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  parts: AggregateRouteParts,
) => boolean;

/**
 * A `GET` route over aggregates of customers (demand forecasts, campaign reports): business
 * figures like the KPIs, so under the `kpi:read` scope, and no customer id in them. A path
 * `pattern` does not match is not this route's; a missing thing is a 404
 * `VIGIL_ERR_NOT_FOUND`, counted as refused.
 */
export function aggregateRoute(
  pattern: RegExp,
  answer: (match: RegExpExecArray, state: EngineView) => AggregateAnswer,
): AggregateRoute {
  return (path, req, res, { api, state, refused }) => {
    const match = pattern.exec(path);
    if (match === null) return false;
    if (api.authorize(req, res, 'kpi:read') === undefined) return true;
    const a = answer(match, state);
    if ('notFound' in a) {
      refused('VIGIL_ERR_NOT_FOUND');
      sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', a.notFound);
    } else sendJson(res, 200, a.body);
    return true;
  };
}
