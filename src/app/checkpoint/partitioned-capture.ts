import * as z from 'zod';
import type { PartitionedLiveEngine } from '../partitions/partitioned-live.js';
import type { SentBroadcast } from '../partitions/global-sync.js';
import { PARTITION_HASH } from '../partitions/partition-of.js';
import { CheckpointWriter } from './checkpoint-codec.js';
import {
  checkpointPieceName,
  checkpointStagePieceName,
  type CheckpointHeader,
  type PartitionLayout,
} from './checkpoint-store.js';
import { paced, type CaptureContext, type StateCapture, type Taken } from './state-capture.js';

const piece = z.strictObject({
  name: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/**
 * The sync points' state at the barrier (`GlobalSyncSnapshot`): the router's position and
 * the broadcasts of the last markers, which no partition had installed yet. The sketches
 * and scalars are checked where they are restored.
 */
const syncState = z.strictObject({
  everyMs: z.number().positive(),
  highWater: z.number().nullable(),
  point: z.number().int().nullable(),
  markers: z.number().int().min(0),
  recent: z.array(
    z.strictObject({
      marker: z.number().int(),
      totals: z.custom<SentBroadcast['totals']>((v) => v === null || (typeof v === 'object' && !Array.isArray(v))),
      scalars: z.array(z.custom<SentBroadcast['scalars'][number]>((v) => v === null || typeof v === 'object')),
    }),
  ),
});

/**
 * A partitioned checkpoint's document: where each partition's piece is, and the stage after
 * the shuffle's, each with its length and digest; and the sync points' state (null when the
 * engine placed none: `engine.globalSyncMs` 0). `stage` and `sync` are optional here only
 * so that a restore can name an index written before they existed (and refuse it, or for
 * `sync` read its pieces as that version wrote them).
 */
export const partitionIndex = z.strictObject({
  pieces: z.array(piece.extend({ partition: z.number().int().min(0) })),
  stage: piece.optional(),
  sync: syncState.nullable().optional(),
});
export type PartitionIndex = z.infer<typeof partitionIndex>;

/**
 * The partitioned live engine's checkpoint (`engine.workers` > 1). At a barrier (between two
 * routed batches, `PartitionedLiveEngine.capture`) every worker captures its partitions in
 * parallel into capture arenas of its own and encodes them as checkpoint pieces; this thread
 * only passes the pieces on (views of shared memory, not copies) to the checkpoint writer
 * thread. Each partition is a piece of its own in the store (`checkpointPieceName`), so a
 * partition can be restored anywhere, by any W. The stage after the shuffle (demand series,
 * campaign cohorts, its watermarks: this thread's state) is one more piece
 * (`checkpointStagePieceName`), captured at the same barrier. The object the manifest names
 * is the index of the pieces, with P, the hash and the input position at the barrier, and
 * the sync points' position there with the broadcasts not yet installed (each partition's
 * own side of the sync is in its piece).
 */
export class PartitionedCapture implements StateCapture {
  /** Capture buffers are kept in the workers, not here. */
  readonly retainedBytes = 0;

  constructor(
    private readonly engine: PartitionedLiveEngine,
    private readonly scope: string,
  ) {}

  get batchesCompleted(): number {
    return this.engine.batchesCompleted;
  }

  /** Nothing to ready here: each worker's arena grows at its capture. */
  prepare(): number {
    return 0;
  }

  async take(ctx: CaptureContext): Promise<Taken> {
    const { covered, seq, captured, stage, sync } = this.engine.capture(ctx.chunkBytes);
    const workers = await captured;
    const stageDoc = await stage;
    const syncDoc = await sync;
    ctx.captured(
      Math.max(...workers.map((w) => w.pauseMs)),
      workers.some((w) => w.grown),
    );
    const layout: PartitionLayout = {
      partitions: this.engine.partitions,
      hash: PARTITION_HASH,
      workers: this.engine.workers,
    };
    const spent = { total: 0 };
    const index: PartitionIndex = { pieces: [], sync: syncDoc };
    let messages = 0;
    for (const c of workers.flatMap((w) => w.partitions).sort((a, b) => a.partition - b.partition)) {
      messages += c.input;
      const name = checkpointPieceName(this.scope, ctx.number, c.partition);
      // Measured before the write: the pieces not in shared memory are moved to the writer thread.
      const bytes = c.pieces.reduce((s, p) => s + p.byteLength, 0);
      const sha256 = await ctx.write(name, paced(c.pieces, spent));
      index.pieces.push({ partition: c.partition, name, bytes, sha256 });
    }
    const stageHeader: StagePieceHeader = { format: 'vigil-stage', partitions: layout.partitions, hash: layout.hash };
    const stageWriter = new CheckpointWriter(stageHeader, stageDoc, ctx.chunkBytes);
    const stageName = checkpointStagePieceName(this.scope, ctx.number);
    const stageSha256 = await ctx.write(stageName, paced(stageWriter.chunks(), spent));
    index.stage = { name: stageName, bytes: stageWriter.bytes, sha256: stageSha256 };
    const position = { source: ctx.source, seq, messages };
    const header: CheckpointHeader = {
      format: 'vigil-checkpoint',
      version: 1,
      number: ctx.number,
      createdAt: ctx.createdAt,
      position,
      partitioned: layout,
    };
    const writer = new CheckpointWriter(header, index, ctx.chunkBytes);
    const sha256 = await ctx.write(ctx.name, paced(writer.chunks(), spent));
    ctx.engineTime(spent.total);
    const totalBytes = index.pieces.reduce((s, p) => s + p.bytes, writer.bytes + stageWriter.bytes);
    return { covered, position, bytes: writer.bytes, sha256, totalBytes, partitioned: layout };
  }

  release(): void {}
}

/** The header of a checkpoint's stage piece; its document is a `GlobalStageSnapshot`. */
export interface StagePieceHeader {
  format: 'vigil-stage';
  partitions: number;
  hash: string;
}
