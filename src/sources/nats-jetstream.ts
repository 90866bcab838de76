import { Observable } from 'rxjs';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Batcher } from './batcher.js';
import { DeliveryLimit } from './delivery-limit.js';
import { AckWriter, deliveryOf, replyOf } from './nats-acks.js';
import type { RawBatch, Source } from './source.js';

export interface NatsJetStreamSourceOptions {
  readonly stream: string;
  readonly consumer: string;
  readonly subjects: readonly string[];
  readonly createStream: boolean;
  readonly maxAckPending: number;
  readonly ackWaitMs: number;
  readonly pullBatch: number;
  readonly batchSize: number;
  /** A delivery past this many is rejected as VIGIL_ERR_POISON without being processed (`DeliveryLimit`). */
  readonly maxDeliveries?: number;
}

/**
 * A durable JetStream pull consumer. At least once: a batch is acknowledged only after the
 * graph has applied it and its side outputs are handled (`commit`), so a crash or restart
 * redelivers what was not finished, and de-duplication by event id keeps redeliveries from
 * counting twice. The consumer's max_ack_pending is the flow control: the server stops
 * sending while that many messages are unacknowledged, so the engine never buffers
 * without bound. Consumed with the callback form of `consume()` (about twice the rate of
 * `for await`, PERFORMANCE-NOTES.md).
 */
export class NatsJetStreamSource implements Source {
  readonly name = 'nats-jetstream';
  readonly finite = false;
  private messages: ConsumerMessages | undefined;
  private batcher: Batcher<JsMsg> | undefined;
  private complete: (() => void) | undefined;
  private readonly acks: AckWriter;
  private readonly deliveryLimit: DeliveryLimit;
  received = 0;
  redelivered = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsJetStreamSourceOptions,
  ) {
    this.acks = new AckWriter(nc);
    this.deliveryLimit = new DeliveryLimit(opts.maxDeliveries ?? 5);
  }

  /** Creates the stream (if asked) and the durable consumer, or updates its limits. */
  async ensureConsumer(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const { stream, consumer, subjects } = this.opts;
    const exists = await jsm.streams.info(stream).then(
      () => true,
      () => false,
    );
    if (!exists && this.opts.createStream) await jsm.streams.add({ name: stream, subjects: [...subjects] });
    await jsm.consumers.add(stream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: this.opts.maxAckPending,
      ack_wait: this.opts.ackWaitMs * 1_000_000,
      // One subject filter works on every server; several need filter_subjects (nats-server 2.10+).
      ...(subjects.length === 1 && { filter_subject: subjects[0]! }),
    });
  }

  batches(): Observable<RawBatch> {
    return new Observable<RawBatch>((subscriber) => {
      const batcher = new Batcher<JsMsg>(this.opts.batchSize, subscriber);
      this.batcher = batcher;
      this.complete = () => subscriber.complete();
      let stopped = false;
      (async () => {
        await this.ensureConsumer();
        const consumer = await jetstream(this.nc).consumers.get(this.opts.stream, this.opts.consumer);
        this.messages = await consumer.consume({
          max_messages: this.opts.pullBatch,
          callback: (m) => {
            this.received++;
            // Read from the reply subject directly; JsMsg's own getters split it into strings.
            const d = deliveryOf(replyOf(m));
            if (d === undefined ? m.redelivered : d.deliveries > 1) this.redelivered++;
            const seq = d === undefined ? m.seq : d.seq;
            const poison = this.deliveryLimit.receive(seq, d === undefined ? m.info.deliveryCount : d.deliveries);
            const receivedAt = performance.now();
            batcher.add(poison ? { bytes: m.data, subject: m.subject, seq, receivedAt, rejectedBy: 'VIGIL_ERR_POISON' } : { bytes: m.data, subject: m.subject, seq, receivedAt }, m);
          },
        });
        if (stopped) this.messages.stop();
      })().catch((e: unknown) => subscriber.error(e));
      return () => {
        stopped = true;
        this.messages?.stop();
      };
    });
  }

  /** The ack point: every message of the batch has its outcome and its side outputs are done. */
  commit(batch: RawBatch): void {
    for (const m of this.batcher?.take(batch) ?? []) this.settle(m);
    for (const m of batch) if (m.seq !== undefined) this.deliveryLimit.release(m.seq);
    this.acks.flush();
  }

  /** How a committed message is settled: acknowledged (sent with the batch's other acks). Tests override it to nak or to drop. */
  protected settle(m: JsMsg): void {
    this.acks.ack(m);
  }

  /** Stops pulling, hands over what was received, and completes; in-flight batches still get acked. */
  async stop(): Promise<void> {
    this.messages?.stop();
    await this.messages?.closed();
    this.batcher?.flush();
    this.complete?.();
  }
}
