import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { CheckpointStore, CheckpointStoreSpec } from './checkpoint-store.js';
import { FileCheckpoints } from './file-checkpoints.js';
import { ObjectStoreCheckpoints } from './object-store-checkpoints.js';

/** A store opened from its spec, and how to let go of what opening it took. */
export interface OpenedStore {
  readonly store: CheckpointStore;
  close(): Promise<void>;
}

/**
 * Opens a checkpoint store from its spec: the checkpoint writer thread's own copy of the
 * engine's store. An Object Store gets a connection of its own, which reconnects forever
 * like the engine's (a write during an outage fails and the next interval tries again).
 */
export async function openCheckpointStore(spec: CheckpointStoreSpec): Promise<OpenedStore> {
  if (spec.kind === 'files') return { store: new FileCheckpoints(spec.dir, spec.scope), close: async () => {} };
  const nc: NatsConnection = await connect({
    servers: spec.url,
    name: 'vigil-checkpoint-writer',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  try {
    const store = await ObjectStoreCheckpoints.open(nc, spec.url, spec.bucket, spec.scope, spec.chunkBytes);
    return { store, close: () => nc.close() };
  } catch (e) {
    await nc.close();
    throw e;
  }
}
