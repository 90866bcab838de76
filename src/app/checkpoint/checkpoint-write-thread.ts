import type { Worker } from 'node:worker_threads';
import { VigilError } from '../../core/errors.js';
import { startWorker } from '../start-worker.js';
import type { CheckpointStoreSpec } from './checkpoint-store.js';
import type { FromWriter, ToWriter } from './write-thread-protocol.js';

/**
 * Writes checkpoints from a thread of its own (`checkpoint-writer-thread.ts`), which opens
 * the store again from its spec. The engine's thread only posts the pieces: views of
 * shared memory (the capture arena's) are posted as they are, and anything else is copied
 * or moved, so what the writer reads is never changed by the engine.
 *
 * Contract: the pieces of a write must stay unchanged until it resolves; the thread is
 * started at the first write and again after it died (that write fails).
 */
export class CheckpointWriteThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (sha256: string) => void; reject: (e: Error) => void }>();

  /** Has the thread map the pages of capture buffers not in use yet (`CaptureArena.reserve`). */
  async touch(memory: SharedArrayBuffer[]): Promise<void> {
    const worker = this.started();
    const id = this.nextId++;
    const done = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    worker.postMessage({ op: 'touch', id, memory } satisfies ToWriter);
    await done;
  }

  constructor(private readonly spec: CheckpointStoreSpec) {}

  /** Writes the pieces under `name` in the store; resolves to their hex SHA-256. */
  async write(name: string, pieces: AsyncIterable<Uint8Array>): Promise<string> {
    const worker = this.started();
    const id = this.nextId++;
    const done = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    done.catch(() => {}); // awaited below, after the pieces are posted; it may fail before
    const post = (m: ToWriter, transfer: ArrayBuffer[] = []) => worker.postMessage(m, transfer);
    post({ op: 'begin', id, name });
    try {
      for await (const bytes of pieces) {
        const piece = postable(bytes);
        post({ op: 'piece', id, bytes: piece }, piece.buffer instanceof ArrayBuffer ? [piece.buffer] : []);
      }
      post({ op: 'end', id });
    } catch (e) {
      post({ op: 'abort', id, message: (e as Error)?.message ?? String(e) });
    }
    return done;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = startWorker(import.meta.url, './checkpoint-writer-thread', {
      workerData: this.spec,
      name: 'vigil-checkpoint-writer',
    });
    // A checkpoint in flight must not keep a stopping process alive; `final()` awaits its own.
    worker.unref();
    worker.on('message', (m: FromWriter) => this.settle(m));
    const died = (why: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new VigilError('VIGIL_ERR_CHECKPOINT', `the checkpoint writer thread ${why}`));
      }
    };
    worker.on('error', (e) => died(`failed: ${e.message}`));
    worker.on('exit', (code) => died(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private settle(m: FromWriter): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.op === 'written') p.resolve(m.sha256);
    else if (m.op === 'touched') p.resolve('');
    else p.reject(new VigilError(m.code ?? 'VIGIL_ERR_CHECKPOINT', m.message, m.details));
  }
}

/**
 * A piece as it can be posted: a view of shared memory as is (the thread reads the same
 * memory); otherwise a buffer of its own that can be moved (a view of a larger buffer,
 * such as Node's pooled ones, is copied first, since moving would take the whole buffer).
 */
export function postable(bytes: Uint8Array): Uint8Array {
  if (bytes.buffer instanceof SharedArrayBuffer) return bytes;
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return bytes.slice();
}
