import { Observable } from 'rxjs';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { RawBatch, RawMessage, Source } from '../core/source.js';

export interface InProcessSourceOptions {
  readonly name: string;
  readonly batchSize: number;
  /** True when the messages are a finished input (a file): its end ends event time. */
  readonly finite: boolean;
  /** Pace to this many messages per second; unpaced when absent. */
  readonly messagesPerSecond?: number;
  /** Batches handed out but not yet committed; the source waits at this many (backpressure). */
  readonly maxInFlight?: number;
}

/**
 * A `Source` over messages produced in this process: the demo shop, a replayed file, tests.
 * It hands out batches of up to `batchSize`, yields to the event loop between batches (so
 * signals, timers and I/O are served), and waits when `maxInFlight` batches are uncommitted,
 * so nothing buffers without bound.
 */
export class InProcessSource implements Source {
  readonly name: string;
  readonly finite: boolean;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private stopping = false;
  private stopped: Promise<void> = Promise.resolve();
  /** Messages handed to the graph so far. */
  emitted = 0;

  constructor(
    /** Messages one by one, or (async: a file, a paced feed) in runs, to pay one await per run. */
    private readonly messages: Iterable<RawMessage> | AsyncIterable<readonly RawMessage[]>,
    private readonly opts: InProcessSourceOptions,
  ) {
    this.name = opts.name;
    this.finite = opts.finite;
  }

  batches(): Observable<RawBatch> {
    return new Observable<RawBatch>((subscriber) => {
      let cancelled = false;
      this.stopped = (async () => {
        try {
          await this.pump(
            (batch) => subscriber.next(batch),
            () => cancelled || this.stopping,
          );
          subscriber.complete();
        } catch (e) {
          subscriber.error(e);
        }
      })();
      return () => {
        cancelled = true;
        this.wake?.();
      };
    });
  }

  commit(batch: RawBatch): void {
    if (batch.length === 0) return;
    this.inFlight--;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.stopped;
  }

  private async pump(emit: (b: RawBatch) => void, halted: () => boolean): Promise<void> {
    const { batchSize, messagesPerSecond, maxInFlight = 4 } = this.opts;
    const started = performance.now();
    const isAsync = Symbol.asyncIterator in this.messages;
    const runs = isAsync ? (this.messages as AsyncIterable<readonly RawMessage[]>)[Symbol.asyncIterator]() : undefined;
    const single = isAsync ? undefined : (this.messages as Iterable<RawMessage>)[Symbol.iterator]();
    let run: readonly RawMessage[] = [];
    let runAt = 0;
    let exhausted = false;
    // On a paced feed a message enters when it is due, whenever the graph gets to it: time
    // behind a backlog counts as latency, as it would for a message read off a socket. A
    // message made later than its slot (a live feed slower than the pace) enters when made.
    const arrival =
      messagesPerSecond === undefined
        ? undefined
        : (k: number, madeAt: number) => Math.max(madeAt, started + ((k + 1) / messagesPerSecond) * 1000);
    while (!exhausted && !halted()) {
      while (this.inFlight >= maxInFlight && !halted()) await new Promise<void>((r) => (this.wake = r));
      if (halted()) break;
      let limit = batchSize;
      if (messagesPerSecond !== undefined) {
        // A paced feed hands out what has arrived by now, as a live source does with what one
        // turn of the event loop read: a batch waits for no later message, so pacing adds no
        // latency of its own. Nothing arrived yet: sleep until the next message is due.
        const wait = arrival!(this.emitted, 0) - performance.now();
        if (wait > 0) await sleep(wait);
        if (halted()) break;
        const arrived = Math.floor(((performance.now() - started) * messagesPerSecond) / 1000) - this.emitted;
        limit = Math.max(1, Math.min(batchSize, arrived));
      }
      const batch: RawMessage[] = [];
      if (single !== undefined) {
        // A sync iterator is read without await: a microtask per message would cost more than decoding it.
        while (batch.length < limit) {
          const r = single.next();
          if (r.done) {
            exhausted = true;
            break;
          }
          batch.push(
            arrival === undefined
              ? r.value
              : { ...r.value, receivedAt: arrival(this.emitted + batch.length, r.value.receivedAt) },
          );
        }
      } else {
        while (batch.length < limit) {
          if (runAt === run.length) {
            // Close a batch at the end of what has arrived rather than wait for more.
            if (batch.length > 0 && runAt > 0) break;
            const r = await runs!.next();
            if (r.done) {
              exhausted = true;
              break;
            }
            run = r.value;
            runAt = 0;
            continue;
          }
          const take = Math.min(limit - batch.length, run.length - runAt);
          for (let k = 0; k < take; k++) {
            const m = run[runAt + k]!;
            batch.push(
              arrival === undefined ? m : { ...m, receivedAt: arrival(this.emitted + batch.length, m.receivedAt) },
            );
          }
          runAt += take;
        }
      }
      if (batch.length > 0) {
        this.inFlight++;
        this.emitted += batch.length;
        emit(batch);
      }
      await yieldToLoop();
    }
    if (!exhausted) await (single ?? runs)?.return?.();
  }
}
