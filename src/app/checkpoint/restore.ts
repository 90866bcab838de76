import type { Engine } from '../engine.js';
import { VigilError } from '../../core/errors.js';
import { readCheckpoint } from './checkpoint-codec.js';
import {
  checkpointHeader,
  type CheckpointHeader,
  type CheckpointManifest,
  type CheckpointStore,
} from './checkpoint-store.js';

/** Said with every refusal: the way out. */
export const FRESH_STATE_HINT =
  'start with --fresh-state to discard the checkpoints and begin with empty state (the input is then read from its start)';

/** The latest checkpoint's manifest, and how to refuse it: VIGIL_ERR_SNAPSHOT with the way out. */
export interface LatestCheckpoint {
  readonly manifest: CheckpointManifest;
  refuse(why: string, details?: readonly string[]): VigilError;
}

/**
 * The manifest of the latest complete checkpoint of `store`, checked to be of `source`;
 * undefined when there is none (a first start).
 */
export async function latestOf(store: CheckpointStore, source: string): Promise<LatestCheckpoint | undefined> {
  const manifest = await store.latest();
  if (manifest === undefined) return undefined;
  const refuse = (why: string, details: readonly string[] = []) =>
    new VigilError(
      'VIGIL_ERR_SNAPSHOT',
      `checkpoint ${manifest.name} in ${store.describe} ${why}; ${FRESH_STATE_HINT}`,
      details,
    );
  if (manifest.position.source !== source) throw refuse(`was taken reading ${manifest.position.source}, not ${source}`);
  return { manifest, refuse };
}

/** Reads the object `manifest` names: its header (checked against the manifest) and document. */
export async function readNamed(
  store: CheckpointStore,
  { manifest, refuse }: LatestCheckpoint,
): Promise<{ header: CheckpointHeader; doc: unknown }> {
  const bytes = await store.read(manifest);
  let header;
  let doc;
  try {
    ({ header, doc } = readCheckpoint<unknown>(bytes));
  } catch (e) {
    throw refuse('does not decode', [(e as Error).message]);
  }
  const parsed = checkpointHeader.safeParse(header);
  if (
    !parsed.success ||
    parsed.data.number !== manifest.number ||
    JSON.stringify(parsed.data.partitioned) !== JSON.stringify(manifest.partitioned)
  )
    throw refuse('has a header that does not match its manifest');
  return { header: parsed.data, doc };
}

/**
 * Restores the latest complete checkpoint of `store` into a new engine. Returns its manifest,
 * or undefined when there is none (a first start). Refuses, with VIGIL_ERR_SNAPSHOT and the
 * way out, a checkpoint of another input or one this engine's settings cannot hold (other
 * windows, record layout, analytics on or off): never silently ignored. A partitioned
 * engine's checkpoint (`engine.workers` > 1) is refused with VIGIL_ERR_CHECKPOINT_LAYOUT.
 */
export async function restoreLatest(
  engine: Engine,
  store: CheckpointStore,
  source: string,
): Promise<CheckpointManifest | undefined> {
  const latest = await latestOf(store, source);
  if (latest === undefined) return undefined;
  const { manifest, refuse } = latest;
  const layout = manifest.partitioned;
  if (layout !== undefined)
    throw new VigilError(
      'VIGIL_ERR_CHECKPOINT_LAYOUT',
      `checkpoint ${manifest.name} in ${store.describe} was taken by the partitioned engine (engine.workers ${layout.workers}, ${layout.partitions} partitions), and this start runs the single-threaded one (engine.workers 1); ` +
        `start with engine.workers above 1 (--workers, any number restores it), or ${FRESH_STATE_HINT}`,
    );
  const { doc } = await readNamed(store, latest);
  try {
    engine.state.restoreCapture(doc as Parameters<Engine['state']['restoreCapture']>[0]);
  } catch (e) {
    throw refuse('does not fit this engine', [(e as Error).message, ...((e as VigilError).details ?? [])]);
  }
  engine.lastAppliedSeq = manifest.position.seq;
  return manifest;
}
