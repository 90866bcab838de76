import { Observable } from 'rxjs';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Batcher } from '../batcher.js';
import type { RawBatch, Source } from '../../core/source.js';

export interface NatsCoreSourceOptions {
  readonly subjects: readonly string[];
  readonly batchSize: number;
}

/**
 * Core NATS subscriptions. At most once: what is published while this process is
 * disconnected is gone, and nothing is acknowledged. The connection re-subscribes by itself
 * after a server restart. All subjects form one watermark partition: NATS orders nothing
 * across subjects, so a partition per subject would only hold the watermark back.
 */
export class NatsCoreSource implements Source {
  readonly name = 'nats-core';
  readonly finite = false;
  private subscriptions: Subscription[] = [];
  private batcher: Batcher | undefined;
  private complete: (() => void) | undefined;
  received = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsCoreSourceOptions,
  ) {}

  batches(): Observable<RawBatch> {
    return new Observable<RawBatch>((subscriber) => {
      const batcher = new Batcher(this.opts.batchSize, subscriber);
      this.batcher = batcher;
      this.complete = () => subscriber.complete();
      this.subscriptions = this.opts.subjects.map((subject) =>
        this.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) {
              subscriber.error(err);
              return;
            }
            this.received++;
            batcher.add({ bytes: msg.data, subject: msg.subject, receivedAt: performance.now() }, undefined);
          },
        }),
      );
      return () => this.subscriptions.forEach((s) => s.unsubscribe());
    });
  }

  commit(): void {
    // Core NATS has nothing to acknowledge.
  }

  /** Unsubscribes, hands over what was received, and completes. */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.drain()));
    this.batcher?.flush();
    this.complete?.();
  }
}
