import type { Subscriber } from 'rxjs';
import type { RawBatch, RawMessage } from '../core/source.js';

/**
 * Gathers messages that a transport delivers one by one into batches: a batch closes at
 * `batchSize` messages or at the end of the current turn of the event loop, so latency stays
 * low when traffic is light and RxJS is paid per batch when it is heavy. `T` is what the
 * transport needs later to acknowledge each message (JetStream), kept beside the batch.
 */
export class Batcher<T = undefined> {
  private messages: RawMessage[] = [];
  private handles: T[] = [];
  private scheduled = false;
  private readonly pending = new WeakMap<RawBatch, T[]>();

  constructor(
    private readonly batchSize: number,
    private readonly out: Subscriber<RawBatch>,
  ) {}

  add(message: RawMessage, handle: T): void {
    this.messages.push(message);
    this.handles.push(handle);
    if (this.messages.length >= this.batchSize) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Hands the open batch to the graph now. */
  flush(): void {
    this.scheduled = false;
    if (this.messages.length === 0) return;
    const batch = this.messages;
    this.pending.set(batch, this.handles);
    this.messages = [];
    this.handles = [];
    this.out.next(batch);
  }

  /** The handles of a batch handed out earlier; forgets them. */
  take(batch: RawBatch): T[] {
    const handles = this.pending.get(batch) ?? [];
    this.pending.delete(batch);
    return handles;
  }
}
