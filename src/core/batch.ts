import type { RejectReason } from './errors.js';
import type { CanonicalEvent } from './event.js';
import type { RawBatch } from './source.js';

/**
 * The unit that flows through the operator graph: one batch of raw messages and, index
 * aligned with them, what each stage learned. Operators loop over it in place, so RxJS
 * is paid per batch, not per event.
 *
 * `Batch` holds what ingest and event time write. A later stage declares its own outputs
 * in its own folder and adds them when the batch enters it (`KeyedBatch` in
 * state/operators/keyed-state.ts); the app names the whole (`EngineBatch`). So a layer
 * sees the outputs of the stages before it, and nothing of the ones after.
 */
export const Outcome = { pending: 0, applied: 1, duplicate: 2, late: 3, rejected: 4 } as const;
export type OutcomeCode = (typeof Outcome)[keyof typeof Outcome];

export interface Rejection {
  readonly index: number;
  readonly reason: RejectReason;
  /** The zod issue path (`items.0.price`), never the offending value; '' when not schema related. */
  readonly path: string;
}

export interface Batch {
  readonly messages: RawBatch;
  /** Outcome per message; every entry leaves the graph non-pending. */
  readonly outcome: Uint8Array;
  /** Decoded payloads (decode stage), then validated events (validate stage). */
  readonly decoded: unknown[];
  readonly events: (CanonicalEvent | undefined)[];
  /** Watermark in force after each message, written by the event-time stage. */
  readonly watermarkAt: Float64Array;
  readonly rejections: Rejection[];
  /** Side output: events behind the watermark by more than the allowed lateness. */
  readonly late: CanonicalEvent[];
  /** Index aligned with `late`: the message each late event came from (its original bytes go out as the late output). */
  readonly lateIndex: number[];
  /** The combined watermark when the batch left the event-time stage. */
  watermark: number;
  /** performance.now() when the batch entered the graph, for the batch processing time metric. */
  readonly startedAt: number;
  /** True for the final batch of a finite input: the watermark then jumps to the last event time. */
  readonly endOfInput: boolean;
  /**
   * With `endOfInput`: the input's last event time when it is known to be later than this
   * graph's own (a partition of a larger input ends where the whole input ends).
   */
  readonly eventTimeEnd: number;
}

export function newBatch(messages: RawBatch, endOfInput = false, eventTimeEnd = -Infinity): Batch {
  const n = messages.length;
  return {
    messages,
    outcome: new Uint8Array(n),
    decoded: new Array<unknown>(n),
    events: new Array<CanonicalEvent | undefined>(n),
    watermarkAt: new Float64Array(n),
    rejections: [],
    late: [],
    lateIndex: [],
    watermark: -Infinity,
    startedAt: performance.now(),
    endOfInput,
    eventTimeEnd,
  };
}

export function reject(batch: Batch, index: number, reason: RejectReason, path = ''): void {
  batch.outcome[index] = Outcome.rejected;
  batch.rejections.push({ index, reason, path });
}
