import * as z from 'zod';

/**
 * Where the input stood when a checkpoint's state was captured. A restored engine resumes
 * right after it: from stream sequence `seq + 1` (JetStream), or after the first `messages`
 * messages of a deterministic in-process feed (the demo).
 */
export const inputPosition = z.strictObject({
  /** What was read: `jetstream:<stream>/<consumer>`, `demo:<seed>@<start ms>`. A checkpoint of another input is refused. */
  source: z.string().min(1),
  /** Highest stream sequence applied (0: none, or the source has no sequences). */
  seq: z.number().int().min(0),
  /** Input messages that had reached their outcome (the outcome counters' input). */
  messages: z.number().int().min(0),
});
export type InputPosition = z.infer<typeof inputPosition>;

/**
 * How a partitioned engine's checkpoint is laid out (`engine.workers` > 1): P and the hash
 * put each customer in a partition, so a checkpoint restores only under the same two. W is
 * recorded for the logs only: any W restores it. Absent: the single-threaded `Engine`'s
 * checkpoint, one state document.
 */
export const partitionLayout = z.strictObject({
  partitions: z.number().int().min(1),
  hash: z.string().min(1),
  workers: z.number().int().min(1),
});
export type PartitionLayout = z.infer<typeof partitionLayout>;

/** What a checkpoint's preamble carries besides the state. */
export const checkpointHeader = z.strictObject({
  format: z.literal('vigil-checkpoint'),
  version: z.literal(1),
  /** Increases by one per checkpoint of a scope. */
  number: z.number().int().min(1),
  createdAt: z.string(),
  position: inputPosition,
  partitioned: partitionLayout.optional(),
});
export type CheckpointHeader = z.infer<typeof checkpointHeader>;

/**
 * Names the latest complete checkpoint of a scope. Written only after the checkpoint's
 * bytes are durable and the batches it covers have finished, so it never names a
 * half-written one.
 */
export const checkpointManifest = z.strictObject({
  format: z.literal('vigil-checkpoint-manifest'),
  version: z.literal(1),
  /** The checkpoint's name in its store. */
  name: z.string().min(1),
  number: z.number().int().min(1),
  createdAt: z.string(),
  bytes: z.number().int().min(0),
  /** Hex SHA-256 of the checkpoint's bytes, checked when it is read back. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  position: inputPosition,
  /** Present for a partitioned engine's checkpoint: `name` is then its index of partition pieces. */
  partitioned: partitionLayout.optional(),
});
export type CheckpointManifest = z.infer<typeof checkpointManifest>;

/**
 * How to open a checkpoint store again in another thread (the checkpoint writer's): plain
 * data, posted to the thread, which opens the store with its own connection or files.
 */
export type CheckpointStoreSpec =
  | { readonly kind: 'files'; readonly dir: string; readonly scope: string }
  | {
      readonly kind: 'objects';
      readonly url: string;
      readonly bucket: string;
      readonly scope: string;
      readonly chunkBytes: number;
    };

/**
 * A place for checkpoints of one scope (an engine's input; later, one partition). Two
 * implementations: a JetStream Object Store bucket with the manifest in KV, and a local
 * directory.
 */
export interface CheckpointStore {
  /** Shown in logs: where checkpoints go. */
  readonly describe: string;
  /** The manifest of the latest complete checkpoint; undefined when there is none. */
  latest(): Promise<CheckpointManifest | undefined>;
  /** The checkpoint's bytes, checked against the manifest's length and digest. */
  read(manifest: CheckpointManifest): Promise<Uint8Array>;
  /** Opens this store again elsewhere (`openCheckpointStore`). */
  readonly spec: CheckpointStoreSpec;
  /**
   * Writes a checkpoint's bytes under `name` (not yet referenced by any manifest); resolves
   * to their hex SHA-256, for the manifest.
   */
  write(name: string, chunks: AsyncIterable<Uint8Array>): Promise<string>;
  /** Makes `manifest` the latest: the commit point of a checkpoint. */
  commit(manifest: CheckpointManifest): Promise<void>;
  /** Deletes checkpoints other than the newest `keep` (and half-written leftovers). */
  prune(keep: number): Promise<void>;
  /** Deletes every checkpoint and the manifest (`--fresh-state`). */
  clear(): Promise<void>;
}

export function checkpointName(scope: string, number: number): string {
  return `${scope}.${String(number).padStart(10, '0')}.vck`;
}

/** Partition `partition`'s piece of checkpoint `number` (a partitioned engine's checkpoint). */
export function checkpointPieceName(scope: string, number: number, partition: number): string {
  return `${scope}.${String(number).padStart(10, '0')}.p${partition}.vck`;
}

/** The piece of checkpoint `number` holding the stage after the shuffle (a partitioned engine's checkpoint). */
export function checkpointStagePieceName(scope: string, number: number): string {
  return `${scope}.${String(number).padStart(10, '0')}.stage.vck`;
}

/** The checkpoint number in a name made by `checkpointName` or a piece's name; undefined for any other name. */
export function checkpointNumber(scope: string, name: string): number | undefined {
  const m = /^(.+)\.(\d{10})(?:\.p\d+|\.stage)?\.vck$/.exec(name);
  return m !== null && m[1] === scope ? Number(m[2]) : undefined;
}

/**
 * The names among `names` that a prune deletes: checkpoints (and their partition pieces)
 * numbered at most `latest` and not among the newest `keep` such numbers. Numbers above the
 * latest (a checkpoint not committed yet) are left alone.
 */
export function prunedNames(scope: string, names: readonly string[], latest: number, keep: number): string[] {
  const numbered = names
    .map((name) => ({ name, number: checkpointNumber(scope, name) }))
    .filter((c): c is { name: string; number: number } => c.number !== undefined && c.number <= latest);
  const kept = new Set([...new Set(numbered.map((c) => c.number))].sort((a, b) => b - a).slice(0, keep));
  return numbered.filter((c) => !kept.has(c.number)).map((c) => c.name);
}

/** Every name checkpoint `number` was written under: its own, and with `layout` one per partition and the stage's. */
export function checkpointNames(scope: string, number: number, layout: PartitionLayout | undefined): string[] {
  if (layout === undefined) return [checkpointName(scope, number)];
  const pieces = Array.from({ length: layout.partitions }, (_, p) => checkpointPieceName(scope, number, p));
  return [checkpointName(scope, number), ...pieces, checkpointStagePieceName(scope, number)];
}
