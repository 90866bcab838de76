import * as z from 'zod';
import { alertTypes } from '../alerts/alert.js';
import { scope, scopeNames } from './scopes.js';

/** A bearer token of the ops server: who may connect, and which alert types they may see. */
export const serverToken = z.strictObject({
  /** Shown in logs and metrics instead of the token. */
  name: z.string().regex(/^[a-z0-9_-]{1,32}$/),
  /** Long enough to resist guessing; only the characters a subprotocol name may carry. */
  token: z.string().regex(/^[A-Za-z0-9_-]{24,128}$/),
  /** What the token may read or do (src/server/scopes.ts); listed explicitly, none implied. */
  scopes: z.array(scope).min(1).max(scopeNames.length),
  /** With scope `stream`: the alert types this token may see; absent means every type. */
  types: z.array(z.enum(alertTypes)).min(1).optional(),
  /** Open WebSocket connections this token may hold at once. */
  maxConnections: z.number().int().min(1).max(10_000),
});
export type ServerToken = z.infer<typeof serverToken>;

export const serverConfig = z
  .strictObject({
    host: z.string().min(1),
    /** 0 picks a free port (tests). */
    port: z.number().int().min(0).max(65_535),
    /** Empty: `vigil start` generates a full-scope token for the run and prints it in the URL fragment. */
    tokens: z
      .array(serverToken)
      .max(1000)
      .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, { message: 'token names must be unique' }),
    /**
     * Origins a browser may connect from (`http://host:port`). Empty: the server's own origin
     * and its localhost spellings. A request without an Origin header (not a browser) passes.
     */
    allowedOrigins: z.array(z.string().regex(/^https?:\/\/[^/]+$/)).max(100),
    /** Largest client frame accepted; a larger one closes the connection with 1009. */
    maxPayloadBytes: z
      .number()
      .int()
      .min(256)
      .max(1024 * 1024),
    /** Recent alerts held for `since` and `replay`. */
    ringCapacity: z.number().int().min(1).max(1_000_000),
    /** Past this many bytes waiting in a socket's send buffer, alerts to it are dropped (and a gap sent). */
    softBufferBytes: z.number().int().min(1024),
    /** Past this many, the connection is closed with 4008. */
    hardBufferBytes: z.number().int().min(1024),
    /**
     * Alerts are written to the sockets in ticks at most this often (ms); an alert waits at
     * most this long for its tick. 0: a tick per processed batch.
     */
    flushIntervalMs: z.number().int().min(0).max(1000),
    /**
     * Where the stream's WebSocket fan-out runs: `inline` on the main thread beside the NATS
     * transport and the routing, or `process` in a forked child process of its own, which the
     * main thread hands each admitted upgrade's socket and posts each batch's alerts to
     * (src/server/fanout/). The door (path, origin, token, scope, caps) stays on the main thread.
     */
    fanout: z.enum(['inline', 'process']),
    /** A heartbeat frame on this period. */
    heartbeatMs: z.number().int().min(100),
    /** WebSocket ping on this period; a peer that has not answered the previous one is terminated. */
    pingIntervalMs: z.number().int().min(100),
    /** The kpi frame's period. */
    kpiIntervalMs: z.number().int().min(100),
    /** Open WebSocket connections in all. */
    maxConnections: z.number().int().min(1).max(100_000),
    /**
     * TCP connections one remote address may hold (HTTP and stream). Behind a reverse proxy
     * every client shares the proxy's address: raise it there.
     */
    maxConnectionsPerAddress: z.number().int().min(1).max(100_000),
    /** A request's headers must arrive within this (slowloris); checked every second. */
    headersTimeoutMs: z.number().int().min(1000).max(60_000),
    /** A connection silent this long before it is upgraded to the stream is closed (idle sockets). */
    idleTimeoutMs: z.number().int().min(1000).max(600_000),
    /** Subscriptions one connection may hold. */
    maxSubscriptions: z.number().int().min(1).max(64),
    /**
     * Client frames a connection may send per second (a burst of twice this is allowed): a
     * resume or replay costs the engine's thread a scan of the ring, so they are rationed.
     */
    clientFramesPerSecond: z.number().int().min(1).max(1000),
    /** Malformed client frames tolerated (each answered with an error frame) before a close with 4002. */
    maxBadFrames: z.number().int().min(1).max(1000),
    /** pino level of the ops server's logs (stderr); `VIGIL_SERVER__LOG_LEVEL=debug` in the environment. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  })
  .refine((s) => s.hardBufferBytes > s.softBufferBytes, {
    message: 'must exceed softBufferBytes',
    path: ['hardBufferBytes'],
  });
export type ServerConfig = z.infer<typeof serverConfig>;
