import * as z from 'zod';
import { alertsConfig } from '../../alerts/config.js';
import { analyticsConfig } from '../../analytics/config.js';
import { campaignsConfig } from '../../analytics/campaigns/config.js';
import { clustersConfig } from '../../analytics/clusters/config.js';
import { demandConfig } from '../../analytics/demand/config.js';
import { triggersConfig } from '../../delivery/marketing/config.js';
import { serverConfig } from '../../server/config.js';
import { natsConfig } from '../../edges/nats/config.js';
import { demoConfig } from '../../edges/demo/config.js';
import { windowSpec } from '../../state/config.js';
import { erasureConfig } from '../erasure/config.js';

/**
 * The whole configuration. Every key is required here and given its default in
 * `config/default.json`, so the defaults live in one place that users can read.
 * Objects are strict: a misspelt key is an error, not a silently ignored setting.
 */
const ms = z.number().int().min(0);
const positiveInt = z.number().int().min(1);

const configShape = z.strictObject({
  limits: z.strictObject({
    /** A larger message is rejected before it is decoded. */
    maxPayloadBytes: z
      .number()
      .int()
      .min(64)
      .max(16 * 1024 * 1024),
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
     * this bounds the wait it adds to each alert: the batch's size times the engine's time an
     * event (`npm run bench -- core` gives that time).
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
  /** How the graph runs (docs/architecture.md, "Threads"). */
  engine: z.strictObject({
    /**
     * Worker threads running the graph, by customer partition (32 partitions). 1: the graph
     * runs on the thread that consumes the input (today's engine). More: the main thread
     * consumes and delivers, the workers run the graph, and checkpoints hold one piece per
     * partition: a checkpoint of 1 worker and one of more do not restore into each other.
     */
    workers: z.number().int().min(1).max(32),
    /**
     * P: the customer partitions of the partitioned engine (`engine.workers` > 1). Fixed per
     * deployment: checkpoints record it, and one of another P is refused
     * (`VIGIL_ERR_CHECKPOINT_LAYOUT`); the repartition step's subjects use it too. More
     * partitions than workers lets a partition move between workers and, later, processes.
     */
    partitions: z.number().int().min(1).max(4096),
    /**
     * With customers in partitions, the state across customers (RFM and CLV sketches, session
     * and purchase-gap statistics) is merged over partitions at every multiple of this much
     * event time and broadcast back (docs/architecture.md, "Partitions"). 0: each partition
     * keeps its own. The single-threaded engine holds every customer and never merges.
     */
    globalSyncMs: z.number().int().min(0),
  }),
  nats: natsConfig,
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
    chunkBytes: z
      .number()
      .int()
      .min(4096)
      .max(64 * 1024 * 1024),
  }),
  analytics: analyticsConfig,
  /** Demand series per category with Holt-Winters forecasts. */
  demand: demandConfig,
  /** Behavioural clusters by streaming k-means. */
  clusters: clustersConfig,
  /** Campaign cohorts: how many are tracked at once, how many final reports are kept. */
  campaigns: campaignsConfig,
  alerts: alertsConfig,
  triggers: triggersConfig,
  demo: demoConfig,
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
    message:
      'must exceed eventTime.maxOutOfOrdernessMs + eventTime.allowedLatenessMs, or a late redelivery could be applied twice',
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
