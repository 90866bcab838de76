import type { VigilConfig } from '../config/schema.js';
import type { OutcomeCountsJson } from '../../state/outcome-counters.js';
import type { Alert } from '../../alerts/alert.js';
import type { Rejection } from '../../core/batch.js';
import type { RejectReason } from '../../core/errors.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { StateSignal } from '../../state/signals.js';
import type { PartitionCapture } from './partition-graph.js';
import type { ChurnEvidence } from '../../analytics/churn-score.js';
import type { GlobalPartial, ScalarPart, SketchPart } from '../../analytics/processes/global-share.js';

/** What a partition worker is started with. */
export interface PartitionWorkerInit {
  readonly config: VigilConfig;
  /** P: partitions in the deployment. */
  readonly partitions: number;
  /** The partitions this worker runs at start. */
  readonly owned: readonly number[];
  /** Keep every alert id (tests); otherwise only counts. */
  readonly collectAlerts: boolean;
  /** Alerts of these types are kept whole, in order, per partition, and given in `results` (batch evaluations). */
  readonly keepAlertTypes?: readonly string[];
  /** A fixed wall clock (ms since epoch) for validation's future-time check, as tests pin it. */
  readonly wallClock?: number;
  /** The main thread's `performance.timeOrigin`: times cross threads on the main thread's clock. */
  readonly mainTimeOrigin: number;
}

/**
 * Main thread → worker. A `batch` carries raw message bytes back to back in one transferred
 * buffer, and per message (partition, start, end) in `index`: the bytes are not decoded on
 * the way, and one postMessage carries many messages.
 */
export type ToWorker =
  | { type: 'batch'; bytes: ArrayBuffer; index: Uint32Array }
  | { type: 'maxEventTime' }
  | { type: 'finish'; eventTimeEnd: number }
  | { type: 'results'; dump: boolean }
  | { type: 'release'; partition: number }
  | { type: 'adopt'; capture: PartitionCapture; alertIds: string[]; kept: Alert[] }
  /**
   * A live batch: like `batch`, and answered with its outputs (`applied`). `receivedAt` is per
   * message on the main thread's clock; `rejectedBy` lists [message, reason] of messages the
   * transport already rejected (a poison delivery), which the graph counts without decoding.
   */
  | {
      type: 'live';
      bytes: ArrayBuffer;
      index: Uint32Array;
      receivedAt: Float64Array;
      rejectedBy: [number, RejectReason][];
    }
  /** An empty batch through every partition: idleness and timers move on a quiet input. Answered with `applied`. */
  | { type: 'tick' }
  /** Erasure (src/app/erasure/): the partition forgets the customer and rejects its later events. */
  | { type: 'erase'; partition: number; customerId: string }
  /** What this worker holds in memory (the memory bench). Answered with `memory`. */
  | { type: 'memory' }
  /**
   * A checkpoint's barrier: every partition of the worker captured after the batches posted
   * before it, as checkpoint pieces (`CapturedPartition`). Answered with `captured`; the
   * pieces' shared memory is the worker's until the next `capture`.
   */
  | { type: 'capture'; chunkBytes: number }
  /** Every customer's state dump line (`customerDumpLine`, analytics included) as of `asOf`. */
  | { type: 'dumpLines'; asOf: number }
  /** A question about the worker's state (the HTTP API, erasure), answered with `answer` and the same `id`. */
  | { type: 'query'; id: number; query: StateQuery }
  /**
   * A sync point in the routed stream (`GlobalSync`): each partition installs the others'
   * part of the previous sync point (waiting for it if it has not come yet), then hands its
   * own partial. Answered with `partials`.
   */
  | { type: 'sync'; marker: number }
  /**
   * Sync point `marker`'s broadcast: the sketches of all partitions merged, and the others'
   * scalars per partition this worker runs (null: nobody else holds any); not answered, never
   * waits. Absent totals: no partition held anything.
   */
  | { type: 'others'; marker: number; totals: SketchPart | null; scalars: [number, ScalarPart | null][] }
  /**
   * Before anything else, in an engine restored from a checkpoint: the last (up to
   * `SYNC_LAG`) sync markers routed before its barrier, oldest first, whose broadcasts the
   * partitions install at the next markers (`SyncGate`); their `others` follow.
   */
  | { type: 'resume'; handled: number[] };

/**
 * What the main thread asks a worker, answered between two batches. `customer`: the
 * customer's API answer (`customerAnswer`) as of its partition's watermark, or null when the
 * partition does not hold it; `erase`: like the `erase` message, answered with whether the
 * partition held the customer; `population`: customers held and customers per segment,
 * summed over the worker's partitions.
 */
export type StateQuery =
  | { kind: 'customer'; partition: number; customerId: string }
  | { kind: 'erase'; partition: number; customerId: string }
  | { kind: 'population' }
  | { kind: 'churn'; asOf: number; customerIds: string[] };

/**
 * The answer to a `churn` query, for `vigil eval churn` on workers: each asked customer the
 * worker holds with its churn evidence as of `asOf` (`ChurnProcess.churnEvidence`; absent when
 * it has none), and the worker's partitions' own sessions and sessions with intent (summed,
 * they give the population's intent share) and model errors.
 */
export interface ChurnAnswer {
  evidence: [string, ChurnEvidence][];
  sessions: number;
  intentSessions: number;
  modelErrors: number;
}

export interface Population {
  customers: number;
  segments: Record<string, number>;
}

/**
 * One partition's capture as a checkpoint piece: the codec's bytes in pieces (views of the
 * worker's capture arena, shared memory, where they are large), and what it had counted.
 */
export interface CapturedPartition {
  partition: number;
  pieces: Uint8Array[];
  /** Input messages the partition had reached an outcome for. */
  input: number;
}

export interface PartitionResult {
  partition: number;
  /** Sorted by customer id: [id, keyed-state view as of the partition's watermark]. */
  dump: [string, unknown][] | null;
  alertIds: string[];
  /** The alerts of `keepAlertTypes`, in the partition's order (absent without). */
  alerts?: Alert[];
  counters: OutcomeCountsJson;
  watermark: number;
  /** Customers in the partition's state. */
  customers?: number;
}

/** Worker → main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; messages: number; feed?: StageFeed }
  | { type: 'maxEventTime'; value: number }
  | { type: 'finished' }
  | { type: 'results'; partitions: PartitionResult[]; graphMs: number; alerts: number; messages: number }
  | { type: 'released'; capture: PartitionCapture; alertIds: string[]; kept: Alert[] }
  | { type: 'adopted'; partition: number }
  | { type: 'answer'; id: number; answer: unknown; error?: string }
  /** `pauseMs`: the worker's pause for the capture (copies and pieces); `grown`: it had to allocate capture buffers. */
  | { type: 'captured'; partitions: CapturedPartition[]; pauseMs: number; grown: boolean }
  | ({ type: 'memory' } & WorkerMemory)
  /** Per partition, its customers' dump lines sorted by id. */
  | { type: 'dumpLines'; partitions: { partition: number; lines: [string, unknown][] }[] }
  | { type: 'partials'; marker: number; partials: [number, GlobalPartial][] }
  | LiveOutputs;

/**
 * A worker's own isolate after a full GC (when the process runs with `--expose-gc`;
 * `settled` says whether it did): JS heap in use and array buffers (typed-array state lives
 * outside the JS heap), and the customers its partitions hold. Worker threads share the
 * process's RSS, so only per-isolate figures tell the workers apart.
 */
export interface WorkerMemory {
  heapUsed: number;
  arrayBuffers: number;
  customers: number;
  settled: boolean;
}

/**
 * What a live batch (or a tick) produced, index aligned with the messages the worker was
 * sent: outcomes and side outputs for the delivery sinks, and the alerts, whose
 * `alertEnteredAt` is on the main thread's clock. `events` holds applied events only (the
 * ops server's funnel reads them).
 */
export interface LiveOutputs {
  type: 'applied';
  outcome: Uint8Array;
  watermarkAt: Float64Array;
  events: (CanonicalEvent | undefined)[];
  rejections: Rejection[];
  late: CanonicalEvent[];
  lateIndex: number[];
  alerts: Alert[];
  alertEnteredAt: number[];
  signals: StateSignal[];
  /** Highest event time over the worker's partitions. */
  maxEventTime: number;
  /** Index aligned with `alerts`: the message each came from (its place in the batch); the batch's length for its close. */
  alertAt: number[];
  /** Places of the applied purchases that were their customer's first (campaign cohorts, global-stage.ts). */
  firstPurchase: number[];
}

/**
 * What the stage after the shuffle (global-stage.ts) needs of a replay batch, index aligned
 * with the messages the worker was sent: each one's partition watermark after it, and the
 * applied events it reads (`concernsGlobalStage`) with their places.
 */
export interface StageFeed {
  watermarkAt: Float64Array;
  /** Ascending places of `events`. */
  at: number[];
  events: CanonicalEvent[];
  /** Ascending places (among `at`) of first purchases. */
  firstPurchase: number[];
}
