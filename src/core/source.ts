import type { Observable } from 'rxjs';
import type { RejectReason } from './errors.js';

/** One message as a transport delivered it, before anything is decoded. */
export interface RawMessage {
  readonly bytes: Uint8Array;
  /** Transport subject (NATS) or a source-chosen label (`replay`, `demo`). */
  readonly subject: string;
  /** Stream sequence where the transport has one (JetStream); used for acks and dead letters. */
  readonly seq?: number;
  /** `performance.now()` when the message entered the process; for latency metrics only. */
  readonly receivedAt: number;
  /** Watermark partition; messages with the same partition are in event-time order-ish. */
  readonly partition?: string;
  /** The transport's verdict: rejected with this reason without being decoded (a JetStream poison message). */
  readonly rejectedBy?: RejectReason;
}
export type RawBatch = readonly RawMessage[];

/**
 * Where raw batches come from: NATS, a file, the embedded demo. The pipeline never knows
 * which. `commit` is called once a batch's every message has reached its outcome and its
 * side outputs have been handled; a transport with acknowledgements acks there.
 */
export interface Source {
  readonly name: string;
  /** A finite source (a file) ends event time when it ends; a live one does not. */
  readonly finite: boolean;
  batches(): Observable<RawBatch>;
  commit(batch: RawBatch): void | Promise<void>;
  /** Stop producing; in-flight batches still flow and `batches()` completes. */
  stop(): Promise<void>;
}
