import type { Engine } from '../engine.js';
import { CaptureArena, measuringCopy } from './capture-arena.js';
import { CheckpointWriter } from './checkpoint-codec.js';
import type { CheckpointHeader } from './checkpoint-store.js';
import { paced, type CaptureContext, type StateCapture, type Taken } from './state-capture.js';

/**
 * The single-threaded `Engine`'s checkpoint: its whole state, one document. The capture
 * copies the state's buffers into a `CaptureArena`, the engine's only pause; the copies are
 * then handed piece by piece, yielding to the event loop between pieces, to the checkpoint
 * writer thread, which hashes and stores them while batches keep flowing.
 */
export class EngineCapture implements StateCapture {
  private readonly arena = new CaptureArena();

  constructor(private readonly engine: Engine) {}

  get batchesCompleted(): number {
    return this.engine.batchesCompleted;
  }

  get retainedBytes(): number {
    return this.arena.retainedBytes;
  }

  /**
   * Readies the capture buffers for the next checkpoint (the state may have grown since the
   * last): a walk of the state measures its parts, and buffers that must grow are allocated
   * now and their pages mapped by the writer thread (`touch`), not during the capture.
   */
  prepare(touch: (memory: SharedArrayBuffer[]) => Promise<void>): number {
    const started = performance.now();
    const sizes: number[] = [];
    this.engine.state.capture(measuringCopy(sizes));
    const ms = performance.now() - started;
    const { reservation, memory } = this.arena.reserve(sizes);
    if (memory.length > 0)
      touch(memory).then(
        () => this.arena.adopt(reservation),
        () => {}, // the capture then allocates what it needs itself
      );
    return ms;
  }

  async take(ctx: CaptureContext): Promise<Taken> {
    const started = performance.now();
    const engine = this.engine;
    const covered = engine.batchesApplied;
    const position = { source: ctx.source, seq: engine.lastAppliedSeq, messages: engine.state.counters.input };
    const header: CheckpointHeader = {
      format: 'vigil-checkpoint',
      version: 1,
      number: ctx.number,
      createdAt: ctx.createdAt,
      position,
    };
    const grownBefore = this.arena.grownInCapture;
    const writer = new CheckpointWriter(header, engine.state.capture(this.arena.begin()), ctx.chunkBytes);
    const captureMs = performance.now() - started;
    ctx.captured(captureMs, this.arena.grownInCapture > grownBefore);
    const engineMs = { total: captureMs };
    const sha256 = await ctx.write(ctx.name, paced(writer.chunks(), engineMs));
    ctx.engineTime(engineMs.total);
    return { covered, position, bytes: writer.bytes, sha256 };
  }

  release(): void {
    this.arena.release();
  }
}
