import type { VigilConfig } from '../config/schema.js';
import type { OutcomeCountsJson } from '../../state/outcome-counters.js';
import type { Alert } from '../../alerts/alert.js';
import type { Rejection } from '../../core/batch.js';
import type { RejectReason } from '../../core/errors.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { StateSignal } from '../../state/signals.js';
import type { PartitionCapture } from './partition-graph.js';
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
  | { type: 'adopt'; capture: PartitionCapture; alertIds: string[] }
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
  | { type: 'others'; marker: number; totals: SketchPart | null; scalars: [number, ScalarPart | null][] };

export interface PartitionResult {
  partition: number;
  /** Sorted by customer id: [id, keyed-state view as of the partition's watermark]. */
  dump: [string, unknown][] | null;
  alertIds: string[];
  counters: OutcomeCountsJson;
  watermark: number;
}

/** Worker → main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; messages: number }
  | { type: 'maxEventTime'; value: number }
  | { type: 'finished' }
  | { type: 'results'; partitions: PartitionResult[]; graphMs: number; alerts: number; messages: number }
  | { type: 'released'; capture: PartitionCapture; alertIds: string[] }
  | { type: 'adopted'; partition: number }
  | { type: 'partials'; marker: number; partials: [number, GlobalPartial][] }
  | LiveOutputs;

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
}
