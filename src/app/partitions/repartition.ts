import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { partitionOfMessage } from './partition-of.js';

export interface RepartitionOptions {
  /** The stream holding the unpartitioned feed, and the durable consumer reading it. */
  readonly stream: string;
  readonly consumer: string;
  /** The feed's subject (one subject, or a wildcard) in `stream`. */
  readonly subject: string;
  /** Output subjects are `<prefix>.<partition>.<last token of the input subject>`. */
  readonly prefix: string;
  /** P, as the engine reading the output has it. */
  readonly partitions: number;
  readonly maxPayloadBytes: number;
  /** Messages fetched and republished per round. */
  readonly batch?: number;
}

/**
 * The repartition step, as Kafka Streams' repartition topics: an unpartitioned feed (a
 * Segment/RudderStack feed on one subject) is read once, each message's customer id found
 * (`partitionOfMessage`: nothing else of the event is decoded, and a canonical event's id
 * is found without a decode at all), and the bytes republished unchanged to the partition's
 * subject. Each republish carries `Nats-Msg-Id` = `repartition:<stream>:<seq>`, so the
 * output stream's duplicate window drops a message republished again after a crash or a
 * lost ack; the input is acknowledged only after the output stream acknowledged its
 * republish. Messages are republished in input order, so each customer's order is kept.
 */
export class Repartitioner {
  republished = 0;
  /** Republishes the output stream reported as duplicates (already there). */
  duplicates = 0;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: RepartitionOptions,
  ) {}

  /**
   * Creates the durable consumer (from the start of the feed) if it does not exist. One that
   * holds unacknowledged messages (a run killed mid-round) is recreated from its ack floor:
   * JetStream would redeliver those only after their ack wait, behind newer messages, and a
   * customer's events would reach the partition subject out of order. From the ack floor,
   * the round is read again in order, and what of it was already stored comes back as a
   * duplicate. So one repartitioner runs per consumer at a time.
   */
  async ensureConsumer(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const { stream, consumer, subject } = this.opts;
    const info = await jsm.consumers.info(stream, consumer).catch(() => undefined);
    if (info !== undefined && info.num_ack_pending === 0) return;
    if (info !== undefined) await jsm.consumers.delete(stream, consumer);
    const common = { durable_name: consumer, ack_policy: AckPolicy.Explicit, filter_subject: subject };
    await jsm.consumers.add(
      stream,
      info === undefined
        ? { ...common, deliver_policy: DeliverPolicy.All }
        : { ...common, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.ack_floor.stream_seq + 1 },
    );
  }

  /** Republishes until `stop()`; each round fetches up to `batch` messages. */
  async run(): Promise<void> {
    await this.ensureConsumer();
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get(this.opts.stream, this.opts.consumer);
    const { prefix, partitions, maxPayloadBytes, stream } = this.opts;
    while (!this.stopped) {
      const messages = await consumer.fetch({ max_messages: this.opts.batch ?? 500, expires: 1000 });
      const round = [];
      for await (const m of messages) {
        const p = partitionOfMessage(m.data, partitions, maxPayloadBytes);
        const type = m.subject.slice(m.subject.lastIndexOf('.') + 1);
        const acked = js.publish(`${prefix}.${p}.${type}`, m.data, { msgID: `repartition:${stream}:${m.seq}` });
        round.push(acked.then((ack) => ({ m, duplicate: ack.duplicate })));
      }
      // In order: a message is acknowledged once its republish is stored (or was already).
      for (const { m, duplicate } of await Promise.all(round)) {
        if (duplicate) this.duplicates++;
        else this.republished++;
        m.ack();
      }
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
