import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { InputPosition, PartitionLayout } from './checkpoint-store.js';

/** What one checkpoint's capture is given by the `Checkpointer`. */
export interface CaptureContext {
  readonly number: number;
  /** The name the manifest will point to (`checkpointName`). */
  readonly name: string;
  readonly createdAt: string;
  /** `InputPosition.source`. */
  readonly source: string;
  /** Largest piece written at once. */
  readonly chunkBytes: number;
  /** Writes pieces under a name in the store, through the writer thread; resolves to their hex SHA-256. */
  write(name: string, pieces: AsyncIterable<Uint8Array>): Promise<string>;
  /** Reports the capture's pause (ms) and whether it had to allocate buffers itself. */
  captured(pauseMs: number, grown: boolean): void;
  /** Reports the engine-thread ms the checkpoint cost in all (capture plus producing pieces). */
  engineTime(ms: number): void;
}

/** A checkpoint captured and written, not yet committed. */
export interface Taken {
  /** Batches the capture covers: the manifest waits until they have been through sinks and commit. */
  readonly covered: number;
  readonly position: InputPosition;
  /** Length and SHA-256 of what `CaptureContext.name` holds. */
  readonly bytes: number;
  readonly sha256: string;
  /** Bytes written in all, pieces included (default `bytes`). */
  readonly totalBytes?: number;
  /** A partitioned engine's layout (absent: the single-threaded engine's one document). */
  readonly partitioned?: PartitionLayout;
}

/**
 * How a `Checkpointer` captures one kind of engine between two batches and writes the
 * capture: the single-threaded `Engine` (`EngineCapture`) or the partitioned live engine
 * (`PartitionedCapture`). The checkpointer decides when, and commits what `take` wrote.
 */
export interface StateCapture {
  /** Batches that have been through the sinks and the commit (`onBatchCompleted`'s count). */
  readonly batchesCompleted: number;
  /** Bytes kept between checkpoints for capturing (capture buffers). */
  readonly retainedBytes: number;
  /** Readies the next capture ahead of time; returns the engine's pause for it, ms. */
  prepare(touch: (memory: SharedArrayBuffer[]) => Promise<void>): number;
  /** Captures between two batches and writes the capture; resolves once it is all written. */
  take(ctx: CaptureContext): Promise<Taken>;
  /** Gives back what capturing kept (checkpointing ends). */
  release(): void;
}

/**
 * Hands the pieces over one per turn of the event loop, so batches run between them; adds
 * the engine-thread time spent producing them to `spent.total`.
 */
export async function* paced(chunks: Iterable<Uint8Array>, spent: { total: number }): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.iterator]();
  for (;;) {
    const started = performance.now();
    const next = it.next();
    spent.total += performance.now() - started;
    if (next.done) return;
    yield next.value;
    await yieldToLoop();
  }
}
