import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../core/errors.js';
import { MAX_KEY_LENGTH } from '../core/event.js';
import type { EngineView } from './engine-view.js';
import { customerAnswer, type CustomerAnswer } from './customer-answer.js';
import { presentedToken, type Principal, type TokenTable } from './auth.js';
import type { Scope } from './scopes.js';
import type { CustomerEraser } from './engine-view.js';
import { SECURITY_HEADERS } from './static-files.js';

/**
 * Readiness as the process sees it: the input is connected, state is loaded (restored or
 * fresh), and side outputs (dead letters, late events) are being stored, not refused.
 */
export interface Readiness {
  sourceConnected(): boolean;
  stateReady(): boolean;
  /** False while a stream refuses side outputs and input waits for them; absent means true. */
  outputsFlowing?(): boolean;
}

const MAX_SIMILAR = 50;
const DEFAULT_SIMILAR = 10;

export function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...extra,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  extra: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { code, message } }, extra);
}

/**
 * The HTTP API over the live state. Customer and item endpoints need a bearer token in the
 * Authorization header holding the route's scope (customer data leaves the process there);
 * health needs none.
 * Ids arrive percent-encoded in the path and are never echoed back or logged.
 */
export class HttpApi {
  constructor(
    private readonly state: EngineView,
    private readonly tokens: TokenTable,
    private readonly readiness: Readiness,
    private readonly onRefused: (code: ErrorCode) => void,
    private readonly erasure?: CustomerEraser,
  ) {}

  /**
   * `DELETE /v1/customers/:id` (scope `admin`): erases the customer (src/app/erasure/erasure.ts).
   * 200 `{erased: true, existed}` whether or not the customer was in state (the suppression
   * holds either way); 503 `VIGIL_ERR_ERASURE` when it could not be recorded. False for
   * any other path.
   */
  handleDelete(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const customer = /^\/v1\/customers\/([^/]+)$/.exec(url.pathname);
    if (!customer || this.erasure === undefined) return false;
    if (this.authorize(req, res, 'admin') === undefined) return true;
    const id = decodeId(customer[1]!);
    if (id === undefined) {
      this.onRefused('VIGIL_ERR_NOT_FOUND');
      sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'not a valid id');
      return true;
    }
    this.erasure.erase(id, 'http').then(
      (r) => sendJson(res, 200, { erased: true, existed: r.existed }),
      () => sendError(res, 503, 'VIGIL_ERR_ERASURE', 'the erasure could not be recorded; nothing was erased'),
    );
    return true;
  }

  /** Handles the request if it is an API route; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname;
    if (path === '/livez') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      const source = this.readiness.sourceConnected();
      const state = this.readiness.stateReady();
      const outputs = this.readiness.outputsFlowing?.() ?? true;
      const ready = source && state && outputs;
      sendJson(res, ready ? 200 : 503, {
        status: ready ? 'ready' : 'not_ready',
        sourceConnected: source,
        stateReady: state,
        outputsFlowing: outputs,
      });
      return true;
    }
    const customer = /^\/v1\/customers\/([^/]+)$/.exec(path);
    const similar = /^\/v1\/items\/([^/]+)\/similar$/.exec(path);
    const whoami = path === '/v1/token';
    if (!customer && !similar && !whoami) return false;
    // Each route names its scope; /v1/token only needs a valid token.
    const principal = this.authorize(req, res, customer ? 'customers:read' : similar ? 'items:read' : undefined);
    if (principal === undefined) return true;
    // What the token is (never the token): lets a page tell a refused token from a down server,
    // which a browser cannot read off a refused WebSocket upgrade (it only sees 1006).
    if (whoami) {
      sendJson(res, 200, { name: principal.name, scopes: [...principal.scopes], types: [...principal.types] });
      return true;
    }
    const id = decodeId((customer ?? similar)![1]!);
    if (id === undefined) {
      this.onRefused('VIGIL_ERR_NOT_FOUND');
      sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'not a valid id');
      return true;
    }
    if (customer) this.customer(res, id);
    else this.similar(res, id, url.searchParams.get('k'));
    return true;
  }

  /**
   * The request's principal when its bearer token is valid and holds `scope` (any valid
   * token when undefined); otherwise the 401 or 403 has been sent and the answer is undefined.
   */
  authorize(req: IncomingMessage, res: ServerResponse, scope: Scope | undefined): Principal | undefined {
    const principal = this.tokens.authenticate(bearerOnly(req));
    if (principal === undefined) {
      this.onRefused('VIGIL_ERR_AUTH');
      sendError(res, 401, 'VIGIL_ERR_AUTH', 'a bearer token from server.tokens is required', {
        'WWW-Authenticate': 'Bearer',
      });
      return undefined;
    }
    if (scope !== undefined && !principal.scopes.has(scope)) {
      this.onRefused('VIGIL_ERR_FORBIDDEN_SCOPE');
      sendError(res, 403, 'VIGIL_ERR_FORBIDDEN_SCOPE', `this token lacks the scope ${scope}`);
      return undefined;
    }
    return principal;
  }

  private customer(res: ServerResponse, id: string): void {
    const found = (answer: CustomerAnswer | undefined) => {
      if (answer === undefined) {
        this.onRefused('VIGIL_ERR_NOT_FOUND');
        sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'no such customer in state');
      } else sendJson(res, 200, answer);
    };
    const remote = this.state.partitions;
    if (remote === undefined) {
      found(customerAnswer(this.state, id, this.state.watermark.watermark));
      return;
    }
    remote.customer(id).then(found, (e: unknown) => {
      this.onRefused('VIGIL_ERR_WORKER_QUERY');
      sendError(res, 503, 'VIGIL_ERR_WORKER_QUERY', (e as Error).message);
    });
  }

  private similar(res: ServerResponse, productId: string, kParam: string | null): void {
    const k = kParam === null ? DEFAULT_SIMILAR : Number(kParam);
    if (!Number.isInteger(k) || k < 1 || k > MAX_SIMILAR) {
      sendError(res, 400, 'VIGIL_ERR_USAGE', `k must be an integer from 1 to ${MAX_SIMILAR}`);
      return;
    }
    const asOf = this.state.watermark.watermark;
    const items = this.state.analytics?.similarItems(productId, k, asOf);
    if (items === undefined) {
      this.onRefused('VIGIL_ERR_NOT_FOUND');
      sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'no such product in state');
      return;
    }
    sendJson(res, 200, { productId, asOf: Number.isFinite(asOf) ? asOf : null, similar: items });
  }
}

/** HTTP endpoints take the token from the Authorization header only (subprotocols are a WebSocket matter). */
function bearerOnly(req: IncomingMessage): string | undefined {
  return req.headers.authorization === undefined ? undefined : presentedToken(req);
}

/** A path segment as an id: decoded, 1 to MAX_KEY_LENGTH characters; undefined otherwise (never a throw). */
export function decodeId(raw: string): string | undefined {
  try {
    const id = decodeURIComponent(raw);
    return id.length >= 1 && id.length <= MAX_KEY_LENGTH ? id : undefined;
  } catch {
    return undefined;
  }
}
