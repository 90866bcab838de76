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

/** What a checkpoint's preamble carries besides the state. */
export const checkpointHeader = z.strictObject({
  format: z.literal('vigil-checkpoint'),
  version: z.literal(1),
  /** Increases by one per checkpoint of a scope. */
  number: z.number().int().min(1),
  createdAt: z.string(),
  position: inputPosition,
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

/** The checkpoint number in a name made by `checkpointName`; undefined for any other name. */
export function checkpointNumber(scope: string, name: string): number | undefined {
  const m = /^(.+)\.(\d{10})\.vck$/.exec(name);
  return m !== null && m[1] === scope ? Number(m[2]) : undefined;
}
