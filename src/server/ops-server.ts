import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { SuppressionList } from '../alerts/suppression.js';
import type { Erasure } from '../erasure/erasure.js';
import type { ServerToken, VigilConfig } from '../config/schema.js';
import type { BatchSink, Engine } from '../engine.js';
import { errorCodes, VigilError, type ErrorCode } from '../errors.js';
import type { Batch } from '../operators/batch.js';
import { generatedToken, OriginPolicy, presentedToken, TokenTable, type Principal } from './auth.js';
import { ConnectionGuard } from './connection-guard.js';
import { closeCodes, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from './frames.js';
import { HttpApi, sendError, sendJson, type Readiness } from './http-api.js';
import { KpiTracker } from './kpi.js';
import { AlertLatency } from './alert-latency.js';
import { asyncApiDocument, openApiDocument } from './api-specs.js';
import type { LatencyRecorder } from './latency.js';
import { createLogger, type Logger } from './logger.js';
import { OpsMetrics } from './metrics.js';
import { StaticFiles } from './static-files.js';
import { StreamHub } from './stream-hub.js';

export interface OpsServerOptions {
  readonly config: VigilConfig;
  readonly engine: Engine;
  /** Defaults to "always ready" (the embedded demo). */
  readonly readiness?: Readiness;
  readonly logger?: Logger;
  /** Ops destinations receive every alert (suppression is for marketing ones); given, it is consulted all the same. */
  readonly suppression?: SuppressionList;
  /** Erasure (src/erasure/): DELETE /v1/customers/:id, and the hub forgets erased customers' alerts. */
  readonly erasure?: Erasure;
}

export interface OpsServer {
  /** http://host:port */
  readonly url: string;
  /** Pass to `Engine.run` sinks: each processed batch feeds the stream, the kpis and the metrics. */
  readonly sink: BatchSink;
  /** When `server.tokens` is empty, the full-scope token generated for this run. */
  readonly generatedToken: string | undefined;
  readonly hub: StreamHub;
  readonly metrics: OpsMetrics;
  readonly latency: LatencyRecorder;
  /** Per-address and total connection caps (counters of what they refused or pushed out). */
  readonly guard: ConnectionGuard;
  close(): Promise<void>;
}

/** Sockets for plain HTTP (API, metrics, files, health) beside `server.maxConnections` stream connections. */
const HTTP_SOCKETS = 256;

const HTTP_STATUS: Partial<Record<ErrorCode, string>> = {
  VIGIL_ERR_AUTH: '401 Unauthorized',
  VIGIL_ERR_ORIGIN: '403 Forbidden',
  VIGIL_ERR_FORBIDDEN_SCOPE: '403 Forbidden',
  VIGIL_ERR_CONNECTION_LIMIT: '429 Too Many Requests',
  VIGIL_ERR_NOT_FOUND: '404 Not Found',
};

/**
 * The ops server: one HTTP server carrying the live stream (`/v1/stream`, ws with
 * `noServer`), the HTTP API, `/metrics`, health and the dashboard's files. Upgrades are
 * authenticated in the HTTP `upgrade` handler: a refused one gets a plain HTTP status and
 * the socket is closed before any WebSocket exists.
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const cfg = opts.config.server;
  const log = opts.logger ?? createLogger(cfg.logLevel);
  const state = opts.engine.state;
  let generated: ServerToken | undefined;
  if (cfg.tokens.length === 0) generated = generatedToken();
  const tokens = new TokenTable(generated ? [generated] : cfg.tokens);
  const alertLatency = await AlertLatency.create();
  const latency = alertLatency.total;
  const hub = new StreamHub(cfg, alertLatency, log);
  const kpi = new KpiTracker(state, alertLatency);
  const metrics = new OpsMetrics(state, hub, alertLatency);
  const refused = (code: ErrorCode) => metrics.refused.inc({ code });
  const readiness: Readiness = opts.readiness ?? { sourceConnected: () => true, stateReady: () => true };
  const api = new HttpApi(state, tokens, readiness, refused, opts.erasure);
  opts.erasure?.onErase((customerId) => hub.erase(customerId));
  const files = new StaticFiles();

  // Idle and slow connections must not starve health checks, the API or the stream (connection-guard.ts).
  const guard = new ConnectionGuard({ maxSockets: cfg.maxConnections + HTTP_SOCKETS, maxSocketsPerAddress: cfg.maxConnectionsPerAddress });
  const server: Server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    guard.used(req.socket);
    const url = requestUrl(req);
    if (url === undefined) {
      sendError(res, 400, 'VIGIL_ERR_USAGE', 'the request target is not a valid path');
      return;
    }
    if (req.method === 'DELETE' && api.handleDelete(req, res, url)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'VIGIL_ERR_USAGE', 'only GET (and DELETE of a customer)', { Allow: 'GET, HEAD' });
      return;
    }
    if (url.pathname === '/metrics') {
      // Counts per alert type, revenue, funnel: what the stream's kpi frames carry, under the same scope.
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
      return;
    }
    if (url.pathname === '/v1/openapi.json' || url.pathname === '/v1/asyncapi.json') {
      sendJson(res, 200, url.pathname === '/v1/openapi.json' ? openApiDocument() : asyncApiDocument());
      return;
    }
    if (api.handle(req, res, url)) return;
    files.serve(url.pathname, res, req.method === 'HEAD').then(
      (served) => {
        if (!served) {
          refused('VIGIL_ERR_NOT_FOUND');
          sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'no such path');
        }
      },
      (e: unknown) => {
        log.error({ err: e }, 'static file failed');
        sendError(res, 500, 'VIGIL_ERR_SERVER_INTERNAL', 'file could not be served');
      },
    );
  });
  server.headersTimeout = cfg.headersTimeoutMs;
  server.requestTimeout = 30_000;
  // Sockets silent this long are destroyed; ws clears the timeout on the ones it upgrades.
  server.timeout = cfg.idleTimeoutMs;
  server.on('connection', (socket: Socket) => {
    if (!guard.admit(socket)) refused('VIGIL_ERR_CONNECTION_LIMIT');
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: cfg.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
    // Selects the frame encoding; never the bearer subprotocol, which only carries the token.
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL_MSGPACK) ? SUBPROTOCOL_MSGPACK : offered.has(SUBPROTOCOL_JSON) ? SUBPROTOCOL_JSON : false),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new VigilError('VIGIL_ERR_SERVER_LISTEN', `ops server cannot listen on ${cfg.host}:${cfg.port}`, [(e as Error).message])));
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origins = new OriginPolicy(cfg.allowedOrigins, cfg.host, port);
  const perToken = new Map<string, number>();
  let open = 0;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    guard.used(socket as Socket);
    socket.on('error', () => socket.destroy());
    const refuse = (code: ErrorCode, message: string) => {
      refused(code);
      log.debug({ code }, 'stream upgrade refused'); // counted in vigil_http_refused_total; a flood must not flood the log
      const body = JSON.stringify({ error: { code, message } });
      socket.end(
        `HTTP/1.1 ${HTTP_STATUS[code] ?? '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `${code === 'VIGIL_ERR_AUTH' ? 'WWW-Authenticate: Bearer\r\n' : ''}Connection: close\r\n\r\n${body}`,
      );
    };
    const path = requestUrl(req)?.pathname;
    if (path !== '/v1/stream') return refuse('VIGIL_ERR_NOT_FOUND', 'the stream is at /v1/stream');
    if (!origins.allows(req.headers.origin)) return refuse('VIGIL_ERR_ORIGIN', errorCodes.VIGIL_ERR_ORIGIN.summary);
    const principal: Principal | undefined = tokens.authenticate(presentedToken(req));
    if (principal === undefined) return refuse('VIGIL_ERR_AUTH', 'a bearer token from server.tokens is required');
    if (!principal.scopes.has('stream')) return refuse('VIGIL_ERR_FORBIDDEN_SCOPE', 'this token lacks the scope stream');
    const held = perToken.get(principal.name) ?? 0;
    if (held >= principal.maxConnections || open >= cfg.maxConnections) return refuse('VIGIL_ERR_CONNECTION_LIMIT', 'too many stream connections');
    // Counted from here, released when the socket closes: however the handshake ends.
    perToken.set(principal.name, held + 1);
    open++;
    socket.once('close', () => {
      open--;
      perToken.set(principal.name, (perToken.get(principal.name) ?? 1) - 1);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      hub.attach(ws, socket as Socket, principal);
      log.debug({ principal: principal.name, protocol: ws.protocol }, 'stream client connected');
    });
  });

  const timers = [
    setInterval(() => {
      kpi.tick();
      // The frame counts segments over all of state: built only when someone will read it,
      // and sent only to tokens holding kpi:read.
      if (hub.hasReader('kpi:read')) hub.broadcast(kpi.frame(), 'kpi:read');
    }, cfg.kpiIntervalMs),
    setInterval(() => hub.heartbeat(), cfg.heartbeatMs),
    setInterval(() => hub.pingAll(), cfg.pingIntervalMs),
  ];
  for (const t of timers) t.unref();

  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  log.info({ url, tokens: tokens.size }, 'ops server listening');

  const sink: BatchSink = {
    handle(batch: Batch) {
      metrics.observeBatch(batch);
      kpi.observe(batch);
      if (batch.alerts.length === 0) return;
      if (opts.suppression === undefined && state.suppressed.size === 0) {
        hub.publish(batch.alerts, batch.alertEnteredAt);
        return;
      }
      const alerts = [];
      const enteredAt = [];
      for (let i = 0; i < batch.alerts.length; i++) {
        const alert = batch.alerts[i]!;
        // A batch processed before an erasure may still carry the customer's alerts.
        if (alert.customerId !== null && state.suppressed.has(alert.customerId)) continue;
        if (opts.suppression !== undefined && !opts.suppression.mayDeliver(alert, 'ops')) continue;
        alerts.push(batch.alerts[i]!);
        enteredAt.push(batch.alertEnteredAt[i]!);
      }
      hub.publish(alerts, enteredAt);
    },
  };

  let closing: Promise<void> | undefined;
  return {
    url,
    sink,
    generatedToken: generated?.token,
    hub,
    metrics,
    latency,
    guard,
    close: () =>
      (closing ??= (async () => {
        for (const t of timers) clearInterval(t);
        hub.flush();
        const conns = [...hub.connections];
        hub.closeAll(closeCodes.goingAway, 'server shutting down');
        // Give clients a moment to answer the close handshake, then cut whoever did not.
        const grace = setTimeout(() => conns.forEach((c) => c.ws.terminate()), 500);
        await Promise.all(conns.map((c) => (c.ws.readyState === c.ws.CLOSED ? undefined : once(c.ws, 'close'))));
        clearTimeout(grace);
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        alertLatency.close();
        log.info('ops server closed');
        log.flush();
      })()),
  };
}

/** The request target as a URL, or undefined when it does not parse (`//[`): never a throw in a handler. */
function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}
