import type { NatsConnection } from '@nats-io/transport-node';
import type { CheckpointManifest, CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { Checkpointer } from '../checkpoint/checkpointer.js';
import { FileCheckpoints } from '../checkpoint/file-checkpoints.js';
import { ObjectStoreCheckpoints } from '../checkpoint/object-store-checkpoints.js';
import { restoreLatest } from '../checkpoint/restore.js';
import { restorePartitionedLatest } from '../checkpoint/restore-partitioned.js';
import { PartitionedCapture } from '../checkpoint/partitioned-capture.js';
import type { VigilConfig } from '../config/schema.js';
import type { Engine } from '../engine.js';
import { PartitionedLiveEngine } from '../partitions/partitioned-live.js';
import { compact } from './progress.js';

/** An input's checkpoints: where they go, what the input is called in them, and how it resumes. */
export interface InputCheckpoints {
  readonly store: CheckpointStore;
  readonly scope: string;
  /** `InputPosition.source` of this input. */
  readonly source: string;
  /** Positions the input right after the restored checkpoint (undefined: none, start from the beginning). */
  resume(manifest: CheckpointManifest | undefined): void;
}

export function fileCheckpoints(dir: string, scope: string): CheckpointStore {
  return new FileCheckpoints(dir, scope);
}

export function objectStoreCheckpoints(config: VigilConfig, nc: NatsConnection, url: string): Promise<CheckpointStore> {
  return ObjectStoreCheckpoints.open(
    nc,
    url,
    config.checkpoint.bucket,
    config.nats.consumer,
    config.checkpoint.chunkBytes,
  );
}

/**
 * Restores the input's latest complete checkpoint into `engine` (after discarding them all
 * with `fresh`), positions the input after it, and returns the checkpointer that keeps
 * taking them. Refusals (VIGIL_ERR_SNAPSHOT, VIGIL_ERR_CHECKPOINT_LAYOUT) and store failures
 * (VIGIL_ERR_CHECKPOINT) end the start: an engine never silently begins empty over existing
 * checkpoints. The single-threaded engine keeps its one-document checkpoints; the
 * partitioned one (`engine.workers` > 1) writes one piece per partition, and neither
 * restores the other's.
 */
export async function restoreAndCheckpoint(
  engine: Engine | PartitionedLiveEngine,
  config: VigilConfig,
  input: InputCheckpoints,
  opts: { fresh: boolean; out: NodeJS.WritableStream; log: (line: string) => void },
): Promise<Checkpointer> {
  if (opts.fresh) {
    await input.store.clear();
    opts.out.write(`vigil: --fresh-state: checkpoints in ${input.store.describe} discarded; starting empty\n`);
  }
  const started = performance.now();
  const partitioned = engine instanceof PartitionedLiveEngine ? engine : undefined;
  const manifest =
    partitioned === undefined
      ? await restoreLatest(engine as Engine, input.store, input.source)
      : await restorePartitionedLatest(partitioned, input.store, input.source);
  input.resume(manifest);
  const what =
    partitioned === undefined
      ? `${compact(manifest?.bytes ?? 0)} B, ${compact((engine as Engine).state.store.size)} customers`
      : `${manifest?.partitioned?.partitions} partitions, taken with ${manifest?.partitioned?.workers} workers`;
  opts.out.write(
    manifest === undefined
      ? `vigil: no checkpoint in ${input.store.describe}; starting empty, input from its start\n`
      : `vigil: restored checkpoint ${manifest.number} (${what}) ` +
          `from ${input.store.describe} in ${Math.round(performance.now() - started)} ms; resuming after ` +
          `${manifest.position.seq > 0 ? `stream sequence ${manifest.position.seq}` : `${manifest.position.messages} messages`}\n`,
  );
  const capture = partitioned === undefined ? (engine as Engine) : new PartitionedCapture(partitioned, input.scope);
  return new Checkpointer(capture, input.store, {
    scope: input.scope,
    source: input.source,
    intervalMs: config.checkpoint.intervalMs,
    keep: config.checkpoint.keep,
    chunkBytes: config.checkpoint.chunkBytes,
    last: manifest,
    log: opts.log,
  });
}

/** The summary line's checkpoint part. */
export function checkpointStatus(checkpointer: Checkpointer | undefined): string {
  if (checkpointer === undefined) return '';
  const s = checkpointer.stats;
  return s.lastNumber === 0
    ? ' | checkpoint none yet'
    : ` | checkpoint ${s.lastNumber} (${compact(s.lastBytes)} B${s.failed > 0 ? `, ${s.failed} failed` : ''})`;
}
