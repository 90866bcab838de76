import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { AlertOutput } from '../alerts/alert-emitter.js';
import type { SuppressionList } from '../alerts/suppression.js';
import type { Batch } from '../core/batch.js';
import type { BatchSink } from '../core/batch-sink.js';
import { VigilError, type ErrorCode } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { AlertLatency } from './alert-latency.js';
import { generatedToken, OriginPolicy, TokenTable } from './auth.js';
import type { ServerConfig, ServerToken } from './config.js';
import { ConnectionGuard } from './connection-guard.js';
import type { CustomerEraser, EngineView } from './engine-view.js';
import { InlineFanout } from './fanout/inline-fanout.js';
import { ProcessFanout } from './fanout/process-fanout.js';
import type { StreamFanout } from './fanout/stream-fanout.js';
import { HttpApi, type Readiness } from './http-api.js';
import { hubSink } from './hub-sink.js';
import { KpiTracker } from './kpi.js';
import type { LatencyRecorder } from './latency.js';
import { OpsMetrics } from './metrics.js';
import { route } from './routes/router.js';
import { shutDown } from './shutdown.js';
import { StaticFiles } from './static-files.js';
import { StreamCaps } from './stream-caps.js';
import { StreamHub } from './stream-hub.js';
import { startTicks } from './ticks.js';
import { StreamUpgrade } from './upgrade.js';

export interface OpsServerOptions {
  readonly config: { readonly server: ServerConfig };
  readonly engine: { readonly state: EngineView };
  /** Defaults to "always ready" (the embedded demo). */
  readonly readiness?: Readiness;
  readonly logger?: Logger;
  /** Ops destinations receive every alert (suppression is for marketing ones); given, it is consulted all the same. */
  readonly suppression?: SuppressionList;
  /** Erasure (src/app/erasure/): DELETE /v1/customers/:id, and the hub forgets erased customers' alerts. */
  readonly erasure?: CustomerEraser;
}

export interface OpsServer {
  /** http://host:port */
  readonly url: string;
  /** Pass to `Engine.run` sinks: each processed batch feeds the stream, the kpis and the metrics. */
  readonly sink: BatchSink<Batch & AlertOutput>;
  /** When `server.tokens` is empty, the full-scope token generated for this run. */
  readonly generatedToken: string | undefined;
  /** The stream's fan-out, inline or in its child process (`server.fanout`). */
  readonly fanout: StreamFanout;
  /** The hub itself with `server.fanout` inline; with `process` it lives in the child, and reading this throws. */
  readonly hub: StreamHub;
  readonly metrics: OpsMetrics;
  readonly latency: LatencyRecorder;
  /** Per-address and total connection caps (counters of what they refused or pushed out). */
  readonly guard: ConnectionGuard;
  close(): Promise<void>;
}

/** Sockets for plain HTTP (API, metrics, files, health) beside `server.maxConnections` stream connections. */
const HTTP_SOCKETS = 256;

/**
 * The ops server: one HTTP server carrying the live stream (`/v1/stream`, ws with
 * `noServer`), the HTTP API, `/metrics`, health and the dashboard's files. Its parts:
 * routes (`routes/`), the stream's upgrade and auth (`upgrade.ts`), connection caps
 * (`connection-guard.ts`, `stream-caps.ts`), the hub (`stream-hub.ts`) fed by `hub-sink.ts`,
 * periodic frames (`ticks.ts`) and shutdown (`shutdown.ts`). The hub runs on this thread
 * or, with `server.fanout` process, in a child process of its own (`fanout/`).
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const cfg = opts.config.server;
  const log = opts.logger ?? createLogger(cfg.logLevel);
  const state = opts.engine.state;
  const generated: ServerToken | undefined = cfg.tokens.length === 0 ? generatedToken() : undefined;
  const tokens = new TokenTable(generated ? [generated] : cfg.tokens);
  const alertLatency = await AlertLatency.create();
  // Idle and slow connections must not starve health checks, the API or the stream (connection-guard.ts).
  const guard = new ConnectionGuard({
    maxSockets: cfg.maxConnections + HTTP_SOCKETS,
    maxSocketsPerAddress: cfg.maxConnectionsPerAddress,
  });
  const fanout: StreamFanout =
    cfg.fanout === 'process'
      ? await ProcessFanout.start(cfg, alertLatency, guard, log)
      : new InlineFanout(cfg, new StreamHub(cfg, alertLatency, log), log);
  const kpi = new KpiTracker(state, alertLatency);
  const metrics = new OpsMetrics(state, fanout, alertLatency);
  const refused = (code: ErrorCode) => metrics.refused.inc({ code });
  const readiness: Readiness = opts.readiness ?? { sourceConnected: () => true, stateReady: () => true };
  const api = new HttpApi(state, tokens, readiness, refused, opts.erasure);
  opts.erasure?.onErase((customerId) => fanout.erase(customerId));
  const routes = { api, state, metrics, files: new StaticFiles(), refused, log };
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    guard.used(req.socket);
    route(req, res, routes);
  });
  server.headersTimeout = cfg.headersTimeoutMs;
  server.requestTimeout = 30_000;
  // Sockets silent this long are destroyed; ws clears the timeout on the ones it upgrades.
  server.timeout = cfg.idleTimeoutMs;
  server.on('connection', (socket: Socket) => {
    if (!guard.admit(socket)) refused('VIGIL_ERR_CONNECTION_LIMIT');
  });

  const port = await listen(server, cfg).catch(async (e: unknown): Promise<never> => {
    await fanout.close();
    throw e;
  });
  const origins = new OriginPolicy(cfg.allowedOrigins, cfg.host, port);
  const upgrade = new StreamUpgrade({
    origins,
    tokens,
    caps: new StreamCaps(cfg.maxConnections),
    fanout,
    refused,
    log,
  });
  server.on('upgrade', (req, socket, head) => {
    guard.used(socket as Socket);
    upgrade.handle(req, socket, head);
  });
  const stopTicks = startTicks(cfg, fanout, kpi);

  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  log.info({ url, tokens: tokens.size }, 'ops server listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    sink: hubSink(fanout, kpi, metrics, state, opts.suppression),
    generatedToken: generated?.token,
    fanout,
    get hub(): StreamHub {
      if (fanout instanceof InlineFanout) return fanout.hub;
      throw new Error('server.fanout is process: the hub runs in the fan-out child (read ops.fanout)');
    },
    metrics,
    latency: alertLatency.total,
    guard,
    close: () => (closing ??= shutDown(stopTicks, fanout, server, alertLatency, log)),
  };
}

/** Listens on `server.host:port` (0: a free port) and returns the port. */
async function listen(server: Server, cfg: ServerConfig): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new VigilError('VIGIL_ERR_SERVER_LISTEN', `ops server cannot listen on ${cfg.host}:${cfg.port}`, [
          (e as Error).message,
        ]),
      ),
    );
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
