import type { VigilConfig } from '../config/schema.js';
import type { OutcomeCountsJson } from '../../state/outcome-counters.js';
import type { PartitionCapture } from './partition-graph.js';

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
  | { type: 'adopt'; capture: PartitionCapture; alertIds: string[] };

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
  | { type: 'adopted'; partition: number };
