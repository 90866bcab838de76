import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { VigilConfig } from '../config/schema.js';
import type { FromWorker, PartitionWorkerInit, ToWorker } from './partition-protocol.js';

/**
 * Under vitest the sources run as TypeScript and a worker thread cannot load them; the
 * worker then runs the built file (tests build dist/ first).
 */
const ownWorker = new URL('./partition-worker.js', import.meta.url);
const WORKER_URL = existsSync(fileURLToPath(ownWorker))
  ? ownWorker
  : new URL('../../../dist/src/app/partitions/partition-worker.js', import.meta.url);

/** The main thread's end of one partition worker: requests, their replies in order, and batch credits. */
export class WorkerLink {
  inFlight = 0;
  private readonly waiters: { resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  private creditWaiter: (() => void) | undefined;
  private failed: Error | undefined;
  /** Sees each replay batch's `done` (its stage feed), in order, before the credit returns. */
  onDone: ((m: Extract<FromWorker, { type: 'done' }>) => void) | undefined;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'done') {
        this.onDone?.(m);
        this.inFlight--;
        const w = this.creditWaiter;
        this.creditWaiter = undefined;
        w?.();
        return;
      }
      this.waiters.shift()?.resolve(m);
    });
    // A worker that throws fails every request waiting on it, and every later one.
    worker.on('error', (e) => {
      this.failed = e;
      for (const w of this.waiters.splice(0)) w.reject(e);
      this.creditWaiter?.();
    });
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.failed) throw this.failed;
    this.worker.postMessage(m, transfer);
  }

  /** The next reply other than a batch's `done` (replies come in request order); without `m`, the first (`ready`). */
  ask(m?: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (m !== undefined) this.post(m, transfer);
    });
  }

  untilCredit(max: number): Promise<void> | undefined {
    if (this.failed) throw this.failed;
    if (this.inFlight < max) return undefined;
    return new Promise((resolve) => (this.creditWaiter = resolve));
  }
}

/** W workers, partition p starting on worker p mod W; resolves once every worker is ready. */
export function startWorkers(
  config: VigilConfig,
  partitions: number,
  workers: number,
  opts: Pick<PartitionWorkerInit, 'collectAlerts' | 'wallClock'>,
): Promise<WorkerLink[]> {
  return Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const owned = Array.from({ length: partitions }, (_, p) => p).filter((p) => p % workers === w);
      const init: PartitionWorkerInit = {
        config,
        partitions,
        owned,
        collectAlerts: opts.collectAlerts,
        mainTimeOrigin: performance.timeOrigin,
        ...(opts.wallClock !== undefined && { wallClock: opts.wallClock }),
      };
      const link = new WorkerLink(new Worker(WORKER_URL, { workerData: init }));
      await link.ask(); // 'ready'
      return link;
    }),
  );
}
