import * as z from 'zod';
import { alertsConfig } from '../alerts/config.js';
import { alertTypes } from '../alerts/alert.js';
import { analyticsConfig } from '../analytics/config.js';
import { backoffConfig } from '../marketing/backoff.js';
import { clustersConfig } from '../analytics/clusters/config.js';
import { demandConfig } from '../analytics/demand/config.js';
import { triggersConfig } from '../marketing/config.js';
import { scope, scopeNames } from '../server/scopes.js';
import { erasureConfig } from '../erasure/config.js';

/**
 * The whole configuration. Every key is required here and given its default in
 * `config/default.json`, so the defaults live in one place that users can read.
 * Objects are strict: a misspelt key is an error, not a silently ignored setting.
 */
const ms = z.number().int().min(0);
const positiveInt = z.number().int().min(1);

export const windowSpec = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9_]{1,16}$/),
    horizonMs: z.number().int().min(1000),
    buckets: z.number().int().min(1).max(64),
  })
  .refine((w) => w.horizonMs % w.buckets === 0, {
    message: 'horizonMs must be a whole multiple of buckets (bucket width in whole ms)',
    path: ['buckets'],
  });
export type WindowSpec = z.infer<typeof windowSpec>;

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

const serverConfig = z
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
    maxPayloadBytes: z.number().int().min(256).max(1024 * 1024),
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
  .refine((s) => s.hardBufferBytes > s.softBufferBytes, { message: 'must exceed softBufferBytes', path: ['hardBufferBytes'] });
export type ServerConfig = z.infer<typeof serverConfig>;

const configShape = z.strictObject({
  limits: z.strictObject({
    /** A larger message is rejected before it is decoded. */
    maxPayloadBytes: z.number().int().min(64).max(16 * 1024 * 1024),
    /** Events further ahead of the wall clock than this are rejected: one would drag the watermark. */
    maxFutureSkewMs: ms,
    /** Keyed state refuses new customers past this many (existing ones keep updating). */
    maxCustomers: positiveInt,
  }),
  pipeline: z.strictObject({
    /**
     * Replaying a finite input (a file, the benches): a batch closes at this many messages
     * (or at the end of the event loop's turn). Large batches spread RxJS's per-batch cost.
     */
    batchSize: z.number().int().min(1).max(65_536),
    /**
     * A live source (NATS, the demo feed): at most this many messages in a batch. A batch's
     * alerts leave when the whole batch is done, so while the engine works off a backlog
     * this bounds the wait it adds to each alert (≈ 16 µs an event with analytics: 64 ≈ 1 ms, 512 ≈ 8 ms).
     */
    liveBatchSize: z.number().int().min(1).max(65_536),
  }),
  dedupe: z.strictObject({
    /** How long (event time) an event id is remembered. */
    retentionMs: z.number().int().min(1000),
    /** Hard cap on remembered ids, whatever their age. */
    maxIds: z.number().int().min(1000),
  }),
  eventTime: z.strictObject({
    /** The watermark trails the highest event time seen by this much. */
    maxOutOfOrdernessMs: ms,
    /** Events behind the watermark by no more than this are still applied. */
    allowedLatenessMs: ms,
    /** A partition silent this long (processing time) stops holding the watermark back. */
    idleTimeoutMs: z.number().int().min(100),
  }),
  state: z.strictObject({
    windows: z
      .array(windowSpec)
      .min(1)
      .max(8)
      .refine((ws) => new Set(ws.map((w) => w.name)).size === ws.length, { message: 'window names must be unique' }),
    /** A customer's session ends after this much event time without activity. */
    sessionGapMs: z.number().int().min(1000),
    /** A customer with no event for this long (event time) is evicted from state. */
    ttlMs: z.number().int().min(60_000),
    /** The same for a customer who has bought: kept longer, since churn and value models need the history. */
    buyerTtlMs: z.number().int().min(60_000),
    /** How many recently touched products each customer keeps. */
    recentItems: z.number().int().min(1).max(32),
    /** Products the dictionary interns before new ones are folded into one overflow id. */
    maxProducts: positiveInt,
  }),
  nats: z.strictObject({
    /** Server to consume from; null runs the embedded demo instead. */
    url: z.string().regex(/^(nats|tls):\/\/.+/).nullable(),
    /** core: plain subscriptions (at most once); jetstream: a durable pull consumer (at least once). */
    mode: z.enum(['core', 'jetstream']),
    subjects: z.array(z.string().min(1)).min(1),
    stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    consumer: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    /** Create the stream over `subjects` if it does not exist (JetStream mode). */
    createStream: z.boolean(),
    /** Unacknowledged messages the server lets the consumer hold: the engine's flow control. */
    maxAckPending: z.number().int().min(1).max(1_000_000),
    /** The server redelivers a message not acknowledged within this time. */
    ackWaitMs: z.number().int().min(1000),
    /** Messages asked for per pull request. */
    pullBatch: z.number().int().min(1).max(100_000),
    /** Rejected messages go to `<deadLetterPrefix>.<reason>` with their original bytes. */
    deadLetterPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/),
    /** Late events go to `<lateSubjectPrefix>.<type>` with their original bytes (docs/nats.md). */
    lateSubjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/),
    /**
     * Dead letters and late events must land in a JetStream stream: with no stream capturing
     * their subject the engine stops acknowledging input until one does. Off, they are then
     * published on core NATS, unconfirmed (logged once).
     */
    requireCaptureStream: z.boolean(),
    /** How long a side output publish waits for the stream's ack before it is retried. */
    outputAckTimeoutMs: z.number().int().min(100).max(600_000),
    /** Delay between retries of a side output the stream refused (back-pressure: input waits). */
    outputRetry: backoffConfig,
    /** A message JetStream delivers more often than this is dead-lettered as VIGIL_ERR_POISON, unprocessed. */
    maxDeliveries: z.number().int().min(2).max(1000),
  }),
  /**
   * Durable state (docs/nats.md). With JetStream input, checkpoints go to the Object Store
   * bucket `bucket` (manifest in the KV bucket of the same name); without NATS, to `dir`
   * when it is set (`--state-dir`). The demo without `dir`, and core NATS, keep none.
   */
  checkpoint: z.strictObject({
    enabled: z.boolean(),
    /** A checkpoint starts this long (processing time) after the previous one started. */
    intervalMs: z.number().int().min(100),
    /** Complete checkpoints kept; older ones are deleted once a newer one is committed. */
    keep: z.number().int().min(1).max(100),
    bucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    dir: z.string().min(1).nullable(),
    /** Largest piece written at once (also the Object Store chunk size, up to the server's max_payload). */
    chunkBytes: z.number().int().min(4096).max(64 * 1024 * 1024),
  }),
  analytics: analyticsConfig,
  /** Demand series per category with Holt-Winters forecasts. */
  demand: demandConfig,
  /** Behavioural clusters by streaming k-means. */
  clusters: clustersConfig,
  alerts: alertsConfig,
  triggers: triggersConfig,
  demo: z.strictObject({
    seed: z.number().int(),
    customers: positiveInt,
    products: positiveInt,
    /** Target input rate of the embedded demo (events per wall-clock second). */
    eventsPerSecond: positiveInt,
    /** How many days of shop history the demo replays before it catches up with the wall clock. */
    historyDays: z.number().min(0).max(365),
    /**
     * After catching up, the shop's further events at this rate (events per wall-clock second,
     * stamped with the time they are sent); 0: at the shop's own pace, a few events a minute.
     */
    liveEventsPerSecond: z.number().min(0).max(100_000),
  }),
  /** The ops server: live stream, HTTP API, metrics, health and the dashboard. */
  server: serverConfig,
  /** Erasure of a customer: the suppression list and the NATS request subject. */
  erasure: erasureConfig,
});
/**
 * An event whose id de-duplication has forgotten must already count as late, or a
 * redelivery of it would be applied twice: ids are remembered longer than the out-of-order
 * bound plus the allowed lateness.
 */
export const configSchema = configShape
  .refine((c) => c.dedupe.retentionMs > c.eventTime.maxOutOfOrdernessMs + c.eventTime.allowedLatenessMs, {
    message: 'must exceed eventTime.maxOutOfOrdernessMs + eventTime.allowedLatenessMs, or a late redelivery could be applied twice',
    path: ['dedupe', 'retentionMs'],
  })
  /*
   * A churn score is an alert only at or past the churn.risk hysteresis `enter`: a bar below
   * it would arm timers whose alerts the gate then holds back, silently.
   */
  .refine((c) => c.analytics.churn.warnAt >= (c.alerts.policies.churnRisk.hysteresis?.enter ?? 0), {
    message: 'must be at least alerts.policies.churnRisk.hysteresis.enter, or the gate holds its alerts back',
    path: ['analytics', 'churn', 'warnAt'],
  })
  .refine((c) => c.analytics.churn.corroborateAt >= (c.alerts.policies.churnRisk.hysteresis?.enter ?? 0), {
    message: 'must be at least alerts.policies.churnRisk.hysteresis.enter, or the gate holds its alerts back',
    path: ['analytics', 'churn', 'corroborateAt'],
  });
export type VigilConfig = z.infer<typeof configSchema>;
