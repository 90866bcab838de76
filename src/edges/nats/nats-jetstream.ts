import { Observable } from 'rxjs';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { VigilError } from '../../core/errors.js';
import { Batcher } from '../batcher.js';
import { DeliveryLimit } from './delivery-limit.js';
import { AckWriter, deliveryOf, replyOf } from './nats-acks.js';
import type { RawBatch, Source } from '../../core/source.js';

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
 * Where consumption starts when the engine's state comes from a checkpoint (or is empty
 * and checkpointed): the stream, not the consumer's acknowledgements, is the source of
 * truth, so the consumer is created anew to deliver from `afterSeq + 1` (0: from the start).
 */
export interface ResumePoint {
  readonly afterSeq: number;
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
  /** Redeliveries of sequences already handed to the graph: acknowledged, not applied again. */
  redeliveriesSkipped = 0;
  /** Messages that arrived after `stop()`: handed back (nak) for the next run. */
  handedBack = 0;
  /** Consumers created anew after a reconnect (resuming from positions). */
  reconnects = 0;
  /** Highest stream sequence handed to the graph. */
  private highestSeq = 0;
  private resume: ResumePoint | undefined;
  private stopping = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsJetStreamSourceOptions,
  ) {
    this.acks = new AckWriter(nc);
    this.deliveryLimit = new DeliveryLimit(opts.maxDeliveries ?? 5);
  }

  /** What `start` must resume from: consumption then begins right after `afterSeq`. Call before `batches()`. */
  resumeAfter(point: ResumePoint): void {
    this.resume = point;
    this.highestSeq = point.afterSeq;
  }

  /**
   * Creates the stream (if asked) and the durable consumer, or updates its limits. With a
   * resume point the consumer is deleted and created anew at it, and the stream must keep
   * acknowledged messages (limits retention): a restart replays from the checkpoint.
   */
  async ensureConsumer(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const { stream, consumer, subjects } = this.opts;
    let info = await jsm.streams.info(stream).catch(() => undefined);
    if (info === undefined && this.opts.createStream)
      info = await jsm.streams.add({ name: stream, subjects: [...subjects] });
    const config: Partial<ConsumerConfig> = {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: this.opts.maxAckPending,
      ack_wait: this.opts.ackWaitMs * 1_000_000,
      // One subject filter works on every server; several need filter_subjects (nats-server 2.10+).
      ...(subjects.length === 1 && { filter_subject: subjects[0]! }),
    };
    if (this.resume !== undefined) {
      if (info !== undefined && info.config.retention !== RetentionPolicy.Limits) {
        throw new VigilError(
          'VIGIL_ERR_CONFIG',
          `stream ${stream} has ${info.config.retention} retention: checkpoints resume by replaying the stream from a sequence, which needs limits retention (or set checkpoint.enabled false)`,
        );
      }
      await jsm.consumers.delete(stream, consumer).catch(() => false);
      if (this.resume.afterSeq > 0) {
        config.deliver_policy = DeliverPolicy.StartSequence;
        config.opt_start_seq = this.resume.afterSeq + 1;
      }
    }
    await jsm.consumers.add(stream, config);
  }

  batches(): Observable<RawBatch> {
    return new Observable<RawBatch>((subscriber) => {
      const batcher = new Batcher<JsMsg>(this.opts.batchSize, subscriber);
      this.batcher = batcher;
      this.complete = () => subscriber.complete();
      let stopped = false;
      let generation = 0;
      let suspect = false;
      const consume = async () => {
        const mine = ++generation;
        this.messages?.stop();
        await this.ensureConsumer();
        const consumer = await jetstream(this.nc).consumers.get(this.opts.stream, this.opts.consumer);
        const messages = await consumer.consume({
          max_messages: this.opts.pullBatch,
          callback: (m) => {
            // Deliveries of a consumer given up after a reconnect: the new one delivers them again.
            if (mine !== generation || suspect) return;
            if (this.stopping) {
              this.handedBack++;
              m.nak();
              return;
            }
            this.received++;
            // Read from the reply subject directly; JsMsg's own getters split it into strings.
            const d = deliveryOf(replyOf(m));
            const seq = d === undefined ? m.seq : d.seq;
            if (d === undefined ? m.redelivered : d.deliveries > 1) {
              this.redelivered++;
              // Resuming from positions: the graph takes the stream in order without gaps
              // (a reconnect starts again after the highest sequence handed over), so a
              // sequence at or below it already has its outcome, in flight or applied.
              if (this.resume !== undefined && seq <= this.highestSeq) {
                this.redeliveriesSkipped++;
                this.acks.ack(m);
                return;
              }
            }
            if (seq > this.highestSeq) this.highestSeq = seq;
            const poison = this.deliveryLimit.receive(seq, d === undefined ? m.info.deliveryCount : d.deliveries);
            const receivedAt = performance.now();
            batcher.add(
              poison
                ? { bytes: m.data, subject: m.subject, seq, receivedAt, rejectedBy: 'VIGIL_ERR_POISON' }
                : { bytes: m.data, subject: m.subject, seq, receivedAt },
              m,
            );
          },
        });
        if (mine !== generation || stopped) messages.stop();
        else this.messages = messages;
      };
      if (this.resume !== undefined) {
        // Deliveries lost with a connection would leave a gap behind later ones, and a
        // checkpoint's position would then skip them: after a reconnect the consumer is
        // created anew right after the highest sequence handed to the graph.
        void (async () => {
          for await (const s of this.nc.status()) {
            if (stopped || this.stopping) break;
            if (s.type === 'disconnect') suspect = true;
            else if (s.type === 'reconnect') {
              this.resume = { afterSeq: this.highestSeq };
              this.reconnects++;
              suspect = false;
              // JetStream may need a moment after a server restart: retry until it answers.
              for (let attempt = 1; !stopped && !this.stopping; attempt++) {
                const failed = await consume().then(
                  () => false,
                  () => true,
                );
                if (!failed) break;
                await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
              }
            }
          }
        })();
      }
      consume().catch((e: unknown) => subscriber.error(e));
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

  /**
   * Stops pulling, hands over what was received, and completes; in-flight batches still get
   * acked. Whatever the client still delivers after this is handed back (nak) at once, so
   * the next run need not wait out the ack wait.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.messages?.stop();
    await this.messages?.closed();
    this.batcher?.flush();
    this.complete?.();
  }
}
