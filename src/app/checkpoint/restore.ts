import type { Engine } from '../engine.js';
import { VigilError } from '../../core/errors.js';
import { readCheckpoint } from './checkpoint-codec.js';
import { checkpointHeader, type CheckpointManifest, type CheckpointStore } from './checkpoint-store.js';

/** Said with every refusal: the way out. */
export const FRESH_STATE_HINT =
  'start with --fresh-state to discard the checkpoints and begin with empty state (the input is then read from its start)';

/**
 * Restores the latest complete checkpoint of `store` into a new engine. Returns its manifest,
 * or undefined when there is none (a first start). Refuses, with VIGIL_ERR_SNAPSHOT and the
 * way out, a checkpoint of another input or one this engine's settings cannot hold (other
 * windows, record layout, analytics on or off): never silently ignored.
 */
export async function restoreLatest(
  engine: Engine,
  store: CheckpointStore,
  source: string,
): Promise<CheckpointManifest | undefined> {
  const manifest = await store.latest();
  if (manifest === undefined) return undefined;
  const refuse = (why: string, details: readonly string[] = []) =>
    new VigilError(
      'VIGIL_ERR_SNAPSHOT',
      `checkpoint ${manifest.name} in ${store.describe} ${why}; ${FRESH_STATE_HINT}`,
      details,
    );
  if (manifest.position.source !== source) throw refuse(`was taken reading ${manifest.position.source}, not ${source}`);
  const bytes = await store.read(manifest);
  let header;
  let doc;
  try {
    ({ header, doc } = readCheckpoint<unknown>(bytes));
  } catch (e) {
    throw refuse('does not decode', [(e as Error).message]);
  }
  const parsed = checkpointHeader.safeParse(header);
  if (!parsed.success || parsed.data.number !== manifest.number)
    throw refuse('has a header that does not match its manifest');
  try {
    engine.state.restoreCapture(doc as Parameters<Engine['state']['restoreCapture']>[0]);
  } catch (e) {
    throw refuse('does not fit this engine', [(e as Error).message, ...((e as VigilError).details ?? [])]);
  }
  engine.lastAppliedSeq = manifest.position.seq;
  return manifest;
}
