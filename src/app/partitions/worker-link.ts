import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { VigilConfig } from '../config/schema.js';
import type { FromWorker, PartitionWorkerInit, StateQuery, ToWorker } from './partition-protocol.js';
import { VigilError } from '../../core/errors.js';

/** Questions open at once per worker: the API cannot queue work on a worker without bound. */
export const MAX_QUERIES = 256;

function queryError(message: string): VigilError {
  return new VigilError('VIGIL_ERR_WORKER_QUERY', message);
}

/**
 * Under vitest the sources run as TypeScript and a worker thread cannot load them; the
 * worker then runs the built file (tests build dist/ first).
 */
const ownWorker = new URL('./partition-worker.js', import.meta.url);
const WORKER_URL = existsSync(fileURLToPath(ownWorker))
  ? ownWorker
  : new URL('../../../dist/src/app/partitions/partition-worker.js', import.meta.url);

/** How long a question to a worker (a customer's answer, an erasure, population counts) may wait. */
export const QUERY_TIMEOUT_MS = 5000;

/** The main thread's end of one partition worker: requests, their replies in order, and batch credits. */
export class WorkerLink {
  inFlight = 0;
  private readonly waiters: { resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  private creditWaiter: (() => void) | undefined;
  private failed: Error | undefined;
  private readonly queries = new Map<number, { resolve: (a: unknown) => void; reject: (e: Error) => void }>();
  private nextQuery = 0;
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
      if (m.type === 'answer') {
        const q = this.queries.get(m.id);
        this.queries.delete(m.id);
        if (m.error === undefined) q?.resolve(m.answer);
        else q?.reject(new Error(m.error));
        return;
      }
      this.waiters.shift()?.resolve(m);
    });
    // A worker that throws fails every request waiting on it, and every later one.
    worker.on('error', (e) => {
      this.failed = e;
      for (const w of this.waiters.splice(0)) w.reject(e);
      for (const q of this.queries.values()) q.reject(e);
      this.queries.clear();
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

  /**
   * A question about the worker's state, answered between two of its batches. Rejects with
   * VIGIL_ERR_WORKER_QUERY when the worker fails, does not answer within `timeoutMs`, or
   * already has `MAX_QUERIES` questions open (a late answer is then dropped).
   */
  query(query: StateQuery, timeoutMs: number): Promise<unknown> {
    if (this.failed) return Promise.reject(queryError(`the worker failed: ${this.failed.message}`));
    if (this.queries.size >= MAX_QUERIES)
      return Promise.reject(queryError(`the worker has ${MAX_QUERIES} questions open already`));
    const id = this.nextQuery++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.queries.delete(id);
        reject(queryError(`the worker did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.queries.set(id, {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(queryError(`the worker failed: ${e.message}`));
        },
      });
      this.post({ type: 'query', id, query });
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
  opts: Pick<PartitionWorkerInit, 'collectAlerts' | 'keepAlertTypes' | 'wallClock'>,
): Promise<WorkerLink[]> {
  return Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const owned = Array.from({ length: partitions }, (_, p) => p).filter((p) => p % workers === w);
      const init: PartitionWorkerInit = {
        config,
        partitions,
        owned,
        collectAlerts: opts.collectAlerts,
        ...(opts.keepAlertTypes !== undefined && { keepAlertTypes: opts.keepAlertTypes }),
        mainTimeOrigin: performance.timeOrigin,
        ...(opts.wallClock !== undefined && { wallClock: opts.wallClock }),
      };
      const link = new WorkerLink(new Worker(WORKER_URL, { workerData: init }));
      await link.ask(); // 'ready'
      return link;
    }),
  );
}

/**
 * Every customer's state dump line (`customerDumpLine`: keyed state and analytics) as of
 * `asOf`, sorted by id, gathered from all the workers' partitions.
 */
export async function dumpLinesOf(links: readonly WorkerLink[], asOf: number): Promise<[string, unknown][]> {
  const replies = await Promise.all(links.map((l) => l.ask({ type: 'dumpLines', asOf })));
  const lines: [string, unknown][] = [];
  replies.forEach((r, w) => {
    if (r.type !== 'dumpLines') throw new Error(`worker ${w}: unexpected reply ${r.type}`);
    for (const p of r.partitions) lines.push(...p.lines);
  });
  return lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
