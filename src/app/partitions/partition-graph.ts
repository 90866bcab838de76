import { Subject } from 'rxjs';
import type { Alert } from '../../alerts/alert.js';
import type { VigilConfig } from '../config/schema.js';
import { VigilError } from '../../core/errors.js';
import { newBatch, type Batch } from '../../core/batch.js';
import { pipeline, type PipelineClocks } from '../pipeline.js';
import type { RawBatch } from '../../core/source.js';
import { EngineState, type EngineStateOptions, type StateSnapshot } from '../engine-state.js';
import type { EngineBatch } from '../engine-batch.js';
import { PARTITION_HASH } from './partition-of.js';
import type { CopyBytes } from '../../state/copy-bytes.js';
import type { GlobalShareSnapshot, ReceivedBroadcast } from '../../analytics/processes/global-share.js';

/** A partition's state as captured on its own: what it is part of, then the state document. */
export interface PartitionCapture {
  header: { format: 'vigil-partition'; partitions: number; hash: typeof PARTITION_HASH; partition: number };
  state: StateSnapshot;
  /** Its side of the state across customers when merged over partitions (`engine.globalSyncMs`). */
  share?: GlobalShareSnapshot | null;
  /** The broadcasts it received and has not installed yet, oldest first. */
  pendingOthers?: ReceivedBroadcast[];
}

/**
 * A partition's checkpoint piece (under its header): the state document and its side of the
 * sync points (null without them). Pieces written before the sync state was checkpointed
 * hold the state document alone (restore-partitioned.ts tells them apart by the index).
 */
export interface PartitionPieceDocument {
  state: StateSnapshot;
  share: GlobalShareSnapshot | null;
}

export function pieceDocument(capture: PartitionCapture): PartitionPieceDocument {
  return { state: capture.state, share: capture.share ?? null };
}

/**
 * One partition: its own `EngineState` (records, windows, timers, remembered ids,
 * watermark, analytics) and its own run of the operator graph. Everything a partition
 * holds belongs to it alone, so it is captured and restored on its own and can move to
 * another thread (or, later, process) between batches. The graph's stages are all
 * synchronous maps, so `run` pushes a batch through and returns it processed.
 */
export class PartitionGraph {
  readonly state: EngineState;
  private readonly input = new Subject<Batch>();
  private out: EngineBatch | undefined;

  constructor(
    readonly partition: number,
    readonly partitions: number,
    config: VigilConfig,
    clocks: PipelineClocks = {},
    opts: EngineStateOptions = {},
  ) {
    this.state = new EngineState(config, opts);
    // Merged over partitions at sync points (see `GlobalSync`): the analytics keep their own share beside the views.
    if (config.engine.globalSyncMs > 0) this.state.analytics?.shareGlobals();
    this.input.pipe(pipeline(config, this.state, clocks)).subscribe((b) => (this.out = b));
  }

  /** The batch through the graph; `eventTimeEnd` with `endOfInput`: the whole input's last event time. */
  run(messages: RawBatch, endOfInput = false, eventTimeEnd = -Infinity): EngineBatch {
    this.out = undefined;
    this.input.next(newBatch(messages, endOfInput, eventTimeEnd));
    const out = this.out as EngineBatch | undefined;
    if (out === undefined)
      throw new Error(`partition ${this.partition}: the graph did not complete a batch synchronously`);
    return out;
  }

  /** Highest event time this partition has seen. */
  get maxEventTime(): number {
    return this.state.watermark.maxEventTime;
  }

  /** The partition's state under its header; `copy` as `EngineState.capture` takes it (a checkpoint's arena). */
  capture(copy?: CopyBytes): PartitionCapture {
    return {
      header: {
        format: 'vigil-partition',
        partitions: this.partitions,
        hash: PARTITION_HASH,
        partition: this.partition,
      },
      state: this.state.capture(copy),
      share: this.state.analytics?.shareSnapshot() ?? null,
    };
  }

  /** Restores a capture of this same partition under the same P and hash; anything else is refused. */
  restore(capture: PartitionCapture, now = performance.now()): void {
    const h = capture?.header;
    if (
      h?.format !== 'vigil-partition' ||
      h.partitions !== this.partitions ||
      h.hash !== PARTITION_HASH ||
      h.partition !== this.partition
    ) {
      throw new VigilError(
        'VIGIL_ERR_SNAPSHOT',
        `partition capture is of partition ${h?.partition} of ${h?.partitions} (${h?.hash}), not ${this.partition} of ${this.partitions} (${PARTITION_HASH})`,
      );
    }
    this.state.restoreCapture(capture.state, now);
    if (capture.share != null) this.state.analytics?.restoreShare(capture.share);
  }
}

/** Every customer's keyed state as of `asOf`, sorted by id: the per-customer state dump as data. */
export function keyedStateDump(state: EngineState, asOf: number): [string, unknown][] {
  const store = state.store;
  return [...store.customerIds()].sort().map((id) => [id, store.view(id, asOf)]);
}

export type { Alert };
