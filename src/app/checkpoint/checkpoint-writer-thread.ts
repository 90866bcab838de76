import { parentPort, workerData } from 'node:worker_threads';
import { isVigilError } from '../../core/errors.js';
import type { CheckpointStoreSpec } from './checkpoint-store.js';
import { openCheckpointStore, type OpenedStore } from './open-store.js';
import type { FromWriter, ToWriter } from './write-thread-protocol.js';

/**
 * The checkpoint writer thread: receives a checkpoint's pieces from the engine's thread and
 * writes them to its own copy of the store (own NATS connection, or the files), so hashing,
 * the Object Store's chunking and the socket writes cost the engine's thread nothing.
 * Pieces of the capture arena arrive as views of shared memory, not copies.
 */
const spec = workerData as CheckpointStoreSpec;
const port = parentPort!;
let opened: Promise<OpenedStore> | undefined;
const writes = new Map<number, PieceQueue>();

port.on('message', (m: ToWriter) => {
  if (m.op === 'begin') {
    const queue = new PieceQueue();
    writes.set(m.id, queue);
    void write(m.id, m.name, queue);
  } else if (m.op === 'piece') writes.get(m.id)?.push(m.bytes);
  else if (m.op === 'end') writes.get(m.id)?.end();
  else if (m.op === 'abort') writes.get(m.id)?.fail(new Error(m.message));
  else {
    for (const memory of m.memory) new Uint8Array(memory).fill(0);
    port.postMessage({ op: 'touched', id: m.id } satisfies FromWriter);
  }
});

async function write(id: number, name: string, queue: PieceQueue): Promise<void> {
  let reply: FromWriter;
  try {
    opened ??= openCheckpointStore(spec);
    const { store } = await opened.catch((e: unknown) => {
      opened = undefined; // the next checkpoint tries to open it again
      throw e;
    });
    reply = { op: 'written', id, sha256: await store.write(name, queue) };
  } catch (e) {
    const vigil = isVigilError(e);
    reply = {
      op: 'failed',
      id,
      code: vigil ? e.code : undefined,
      message: (e as Error)?.message ?? String(e),
      details: vigil ? [...e.details] : [],
    };
  } finally {
    writes.delete(id);
  }
  port.postMessage(reply);
}

/** The pieces of one checkpoint, in order, as the store's write consumes them. */
class PieceQueue implements AsyncIterable<Uint8Array> {
  private readonly pieces: Uint8Array[] = [];
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  push(bytes: Uint8Array): void {
    this.pieces.push(bytes);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: Error): void {
    this.error = error;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      const next = this.pieces.shift();
      if (next !== undefined) yield next;
      else if (this.ended) return;
      else await new Promise<void>((wake) => (this.wake = wake));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
