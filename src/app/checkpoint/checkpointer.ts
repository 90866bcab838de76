import { Engine } from '../engine.js';
import {
  checkpointName,
  type CheckpointManifest,
  type CheckpointStore,
  type InputPosition,
} from './checkpoint-store.js';
import { CheckpointWriteThread } from './checkpoint-write-thread.js';
import { EngineCapture } from './engine-capture.js';
import type { StateCapture } from './state-capture.js';

export interface CheckpointerOptions {
  /** Scope of the checkpoints in their store: the consumer's name, `demo`. */
  readonly scope: string;
  /** What the engine reads (`InputPosition.source`); a checkpoint of another input is refused at restore. */
  readonly source: string;
  readonly intervalMs: number;
  /** Complete checkpoints kept; older ones are deleted once a newer one is committed. */
  readonly keep: number;
  /** Largest piece of a checkpoint written at once. */
  readonly chunkBytes: number;
  /** The latest committed checkpoint, restored from (undefined: none yet). */
  readonly last: CheckpointManifest | undefined;
  readonly log: (line: string) => void;
  /** Processing-time clock (ms) for the interval; injectable for tests. */
  readonly now?: () => number;
}

/** What checkpointing has done, for the summary line, /metrics and the bench. */
export interface CheckpointStats {
  written: number;
  failed: number;
  lastNumber: number;
  lastBytes: number;
  /** Capture to commit, wall-clock ms, of the last checkpoint. */
  lastWriteMs: number;
  /** The engine's pause for the consistent capture, ms: last and longest. */
  lastCaptureMs: number;
  maxCaptureMs: number;
  /** The engine's pause for the walk that sizes the next capture (`prepare`), ms: longest. */
  maxPrepareMs: number;
  /** Engine-thread ms of the last checkpoint: capture plus producing its pieces (encoding the array parts). */
  lastEngineMs: number;
  /** Captures that had to allocate capture buffers themselves (prepare's were not ready). */
  capturesGrown: number;
  lastPosition: InputPosition | undefined;
}

/**
 * Takes checkpoints of a running engine: periodically (`intervalMs` after the previous one
 * started) and once more when it stops.
 *
 * A checkpoint is taken between two batches, when the state reflects exactly the batches
 * that have left the graph (`Engine.batchesApplied`; with workers, the batches routed
 * before the capture) and the input position they reached. How the state is captured and
 * written is the engine's (`StateCapture`: `EngineCapture`, `PartitionedCapture`); the
 * pieces go to the checkpoint writer thread, which hashes and stores them while batches
 * keep flowing. The manifest naming it is written
 * only once (1) all of it is durable, (2) every batch it covers has been through its
 * sinks and committed, and (3) the background outputs have passed their barriers: a
 * restored engine never skips a batch whose outputs were not done.
 *
 * One checkpoint is in flight at a time; a failed one is logged and counted, the engine
 * goes on, and the next interval tries again (a restart then resumes from an older one).
 */
export class Checkpointer {
  readonly stats: CheckpointStats = {
    written: 0,
    failed: 0,
    lastNumber: 0,
    lastBytes: 0,
    lastWriteMs: 0,
    lastCaptureMs: 0,
    maxCaptureMs: 0,
    maxPrepareMs: 0,
    lastEngineMs: 0,
    capturesGrown: 0,
    lastPosition: undefined,
  };
  private readonly engine: StateCapture;
  private readonly writes: CheckpointWriteThread;
  private readonly now: () => number;
  private inFlight: Promise<void> | undefined;
  private lastStart: number;
  private prepared = false;
  private completed = 0;
  private waiters: { batches: number; wake: () => void }[] = [];
  private closed = false;
  private readonly barriers: (() => Promise<void>)[] = [];

  constructor(
    engine: Engine | StateCapture,
    private readonly store: CheckpointStore,
    private readonly opts: CheckpointerOptions,
  ) {
    this.engine = engine instanceof Engine ? new EngineCapture(engine) : engine;
    this.writes = new CheckpointWriteThread(store.spec);
    this.now = opts.now ?? (() => performance.now());
    this.lastStart = this.now();
    this.stats.lastNumber = opts.last?.number ?? 0;
    this.stats.lastBytes = opts.last?.bytes ?? 0;
    this.stats.lastPosition = opts.last?.position;
    this.prepare();
  }

  /** The engine's `onBatchCompleted`: releases waiting commits, and starts a checkpoint when one is due. */
  readonly batchCompleted = (completed: number): void => {
    this.completed = completed;
    if (this.waiters.length > 0) {
      const ready = this.waiters.filter((w) => w.batches <= completed);
      this.waiters = this.waiters.filter((w) => w.batches > completed);
      for (const w of ready) w.wake();
    }
    if (this.closed || this.inFlight !== undefined) return;
    const since = this.now() - this.lastStart;
    if (since >= this.opts.intervalMs) this.start();
    else if (!this.prepared && since >= this.opts.intervalMs / 2) this.prepare();
  };

  /** Readies the next capture half an interval ahead (`StateCapture.prepare`). */
  private prepare(): void {
    this.prepared = true;
    const ms = this.engine.prepare((memory) => this.writes.touch(memory));
    this.stats.maxPrepareMs = Math.max(this.stats.maxPrepareMs, ms);
  }

  /**
   * An output that delivers in the background (NATS triggers) and must be durable for what
   * a checkpoint covers: the checkpoint waits for `barrier()` before its manifest is written.
   */
  addBarrier(barrier: () => Promise<void>): void {
    this.barriers.push(barrier);
  }

  /** Bytes the capture buffers hold between checkpoints. */
  get retainedBytes(): number {
    return this.engine.retainedBytes;
  }

  /**
   * Waits for the checkpoint in flight, then takes a final one (after the engine has
   * stopped). Resolves false when it failed or did not finish within `graceMs` (a store or
   * trigger stream that is down): the stop goes on, and a restart resumes from the previous one.
   */
  async final(graceMs = 30_000): Promise<boolean> {
    this.closed = true;
    this.batchCompleted(this.engine.batchesCompleted);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
    const failedBefore = this.stats.failed;
    const done = (async () => {
      await this.inFlight;
      await this.checkpoint();
      return this.stats.failed === failedBefore;
    })();
    const ok = await Promise.race([done, expired]);
    clearTimeout(timer);
    if (!ok && this.stats.failed === failedBefore)
      this.opts.log(
        `final checkpoint did not finish within ${graceMs} ms; a restart resumes from checkpoint ${this.stats.lastNumber}`,
      );
    this.engine.release();
    await this.writes.close();
    return ok;
  }

  /** Resolves once no checkpoint is in flight (committed or failed). */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** Takes a checkpoint now (unless one is in flight); resolves when it is committed or has failed. */
  checkpointNow(): Promise<void> {
    return this.inFlight ?? this.start();
  }

  private start(): Promise<void> {
    const p = this.checkpoint().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private async checkpoint(): Promise<void> {
    this.completed = Math.max(this.completed, this.engine.batchesCompleted);
    this.lastStart = this.now();
    this.prepared = false;
    const started = performance.now();
    const number = this.stats.lastNumber + 1;
    const name = checkpointName(this.opts.scope, number);
    const createdAt = new Date().toISOString();
    try {
      const taken = await this.engine.take({
        number,
        name,
        createdAt,
        source: this.opts.source,
        chunkBytes: this.opts.chunkBytes,
        write: (to, pieces) => this.writes.write(to, pieces),
        captured: (ms, grown) => {
          if (grown) this.stats.capturesGrown++;
          this.stats.lastCaptureMs = ms;
          this.stats.maxCaptureMs = Math.max(this.stats.maxCaptureMs, ms);
        },
        engineTime: (ms) => (this.stats.lastEngineMs = ms),
      });
      await this.coveredDone(taken.covered);
      await Promise.all(this.barriers.map((b) => b()));
      const manifest: CheckpointManifest = {
        format: 'vigil-checkpoint-manifest',
        version: 1,
        name,
        number,
        createdAt,
        bytes: taken.bytes,
        sha256: taken.sha256,
        position: taken.position,
        ...(taken.partitioned !== undefined && { partitioned: taken.partitioned }),
      };
      await this.store.commit(manifest);
      this.stats.written++;
      this.stats.lastNumber = number;
      this.stats.lastBytes = taken.totalBytes ?? taken.bytes;
      this.stats.lastWriteMs = performance.now() - started;
      this.stats.lastPosition = taken.position;
      await this.store.prune(this.opts.keep);
    } catch (e) {
      this.stats.failed++;
      this.opts.log(
        `checkpoint ${number} failed (${(e as Error)?.message ?? String(e)}); the engine goes on, a restart resumes from the previous one`,
      );
    }
  }

  private coveredDone(batches: number): Promise<void> {
    if (this.completed >= batches) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ batches, wake }));
  }
}
