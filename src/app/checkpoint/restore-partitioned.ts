import { VigilError } from '../../core/errors.js';
import type { PartitionedLiveEngine } from '../partitions/partitioned-live.js';
import { PARTITION_HASH } from '../partitions/partition-of.js';
import type { PartitionCapture, PartitionPieceDocument } from '../partitions/partition-graph.js';
import type { GlobalStageSnapshot } from '../partitions/global-stage.js';
import type { StateSnapshot } from '../engine-state.js';
import { readCheckpoint } from './checkpoint-codec.js';
import type { CheckpointManifest, CheckpointStore } from './checkpoint-store.js';
import { partitionIndex, type StagePieceHeader } from './partitioned-capture.js';
import { FRESH_STATE_HINT, latestOf, readNamed } from './restore.js';

/**
 * Restores the latest complete checkpoint of `store` into a partitioned live engine that has
 * not run yet: each partition's piece is read, checked against the index's length and
 * SHA-256, and restored in the worker owning the partition (p mod W: any W restores a
 * checkpoint any W' took). Returns the manifest, or undefined when there is none.
 *
 * The stage after the shuffle's piece (demand series, campaign cohorts) is restored into
 * `engine.front` the same way; the sync points' state (the index's `sync`) into the engine's
 * `GlobalSync`, which sends the partitions the broadcasts they had not installed.
 *
 * Refuses with VIGIL_ERR_CHECKPOINT_LAYOUT a checkpoint of the single-threaded engine, one
 * taken with another P or hash (customers would be in other partitions), or one whose index
 * has no stage piece (written before the stage was checkpointed: resuming it would start the
 * demand series and campaign cohorts empty), and one whose sync points (`engine.globalSyncMs`)
 * differ from this engine's: other E, or none in an index written before the sync state was
 * checkpointed while this engine places them; with VIGIL_ERR_SNAPSHOT one of another input,
 * or one that is corrupt or does not fit.
 */
export async function restorePartitionedLatest(
  engine: PartitionedLiveEngine,
  store: CheckpointStore,
  source: string,
): Promise<CheckpointManifest | undefined> {
  const latest = await latestOf(store, source);
  if (latest === undefined) return undefined;
  const { manifest, refuse } = latest;
  const layout = manifest.partitioned;
  const refuseLayout = (why: string, wayOut: string) =>
    new VigilError(
      'VIGIL_ERR_CHECKPOINT_LAYOUT',
      `checkpoint ${manifest.name} in ${store.describe} was taken ${why}; ${wayOut}, or ${FRESH_STATE_HINT}`,
    );
  if (layout === undefined)
    throw refuseLayout(
      `by the single-threaded engine (engine.workers 1), and this start runs ${engine.workers} workers`,
      'start with engine.workers 1 (--workers 1) to resume it',
    );
  if (layout.partitions !== engine.partitions || layout.hash !== PARTITION_HASH)
    throw refuseLayout(
      `with ${layout.partitions} partitions by ${layout.hash}, and this engine has ${engine.partitions} by ${PARTITION_HASH}`,
      `start with ${layout.partitions} partitions`,
    );
  const { doc } = await readNamed(store, latest);
  const index = partitionIndex.safeParse(doc);
  const expected = Array.from({ length: layout.partitions }, (_, p) => p).join();
  if (!index.success || index.data.pieces.map((p) => p.partition).join() !== expected)
    throw refuse('has an index that does not list every partition once, in order');
  const stagePiece = index.data.stage;
  if (stagePiece === undefined)
    throw refuseLayout(
      'by an older version, without the demand series and campaign cohorts (its index has no stage piece: resuming it would start them empty)',
      'resume it with the version that took it',
    );
  // The sync points' state: in every index since it was checkpointed (null when the run placed none).
  const sync = index.data.sync;
  const everyMs = engine.syncEveryMs;
  if (sync === undefined && everyMs !== null)
    throw refuseLayout(
      'by an older version, without the state of the sync points (its index has none), and this engine merges the state across customers at them (engine.globalSyncMs above 0)',
      'start with engine.globalSyncMs 0, or resume it with the version that took it',
    );
  if ((sync?.everyMs ?? null) !== everyMs)
    throw refuseLayout(
      `with engine.globalSyncMs ${sync?.everyMs ?? 0}, and this engine has ${everyMs ?? 0} (the state across customers would not continue as it was merged)`,
      `start with engine.globalSyncMs ${sync?.everyMs ?? 0}`,
    );
  for (const piece of index.data.pieces) {
    // The store checks the piece's bytes against the index, as against a manifest.
    const bytes = await store.read({ ...manifest, name: piece.name, bytes: piece.bytes, sha256: piece.sha256 });
    let capture: PartitionCapture;
    try {
      const { header, doc } = readCheckpoint<PartitionCapture['header']>(bytes);
      // Pieces written before the sync state was checkpointed are the state document alone.
      const { state, share } =
        sync === undefined ? { state: doc as StateSnapshot, share: null } : (doc as PartitionPieceDocument);
      capture = { header, state, share };
    } catch (e) {
      throw refuse(`has a piece ${piece.name} that does not decode`, [(e as Error).message]);
    }
    const h = capture.header;
    if (
      h?.format !== 'vigil-partition' ||
      h.partitions !== layout.partitions ||
      h.hash !== layout.hash ||
      h.partition !== piece.partition
    )
      throw refuse(`has a piece ${piece.name} that is not partition ${piece.partition} of ${layout.partitions}`);
    try {
      await engine.adoptPartition(capture);
    } catch (e) {
      throw refuse('does not fit this engine', [(e as Error).message]);
    }
  }
  const stageBytes = await store.read({ ...manifest, ...stagePiece });
  let stage: { header: StagePieceHeader; doc: unknown };
  try {
    stage = readCheckpoint<StagePieceHeader>(stageBytes);
  } catch (e) {
    throw refuse(`has a stage piece ${stagePiece.name} that does not decode`, [(e as Error).message]);
  }
  const sh = stage.header;
  if (sh?.format !== 'vigil-stage' || sh.partitions !== layout.partitions || sh.hash !== layout.hash)
    throw refuse(`has a stage piece ${stagePiece.name} that is not one of ${layout.partitions} partitions`);
  try {
    engine.restoreStage(stage.doc as GlobalStageSnapshot);
  } catch (e) {
    throw refuse('does not fit this engine', [(e as Error).message]);
  }
  if (sync != null)
    try {
      engine.restoreSync(sync);
    } catch (e) {
      throw refuse('does not fit this engine', [(e as Error).message]);
    }
  await engine.restoredAt(manifest.position.seq);
  return manifest;
}
