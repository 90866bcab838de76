import { headers, type NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
} from '@nats-io/jetstream';
import { marketingAlertTypes, type AlertType } from '../../alerts/alert.js';
import { VigilError } from '../../core/errors.js';
import type { MarketingGate } from '../marketing/audience.js';
import { backoffDelay, sleep } from '../../core/backoff.js';
import { BoundedQueue, logAtPowersOfTen } from '../marketing/bounded-queue.js';
import { IdleSignal } from '../marketing/idle-signal.js';
import { CLOUDEVENTS_CONTENT_TYPE, encodeCloudEvent } from '../marketing/cloudevent.js';
import type { TriggersConfig } from '../marketing/config.js';
import type { AlertOutput } from '../../alerts/alert-emitter.js';
import type { Batch } from '../../core/batch.js';
import type { BatchSink } from '../../core/batch-sink.js';

type AlertBatch = Batch & AlertOutput;

/**
 * Marketing triggers on NATS JetStream: each wanted alert that passes the marketing gate is
 * published to `<subjectPrefix>.<type>` as a CloudEvent with `Nats-Msg-Id` = its id, so the
 * stream keeps one copy however often the same input is replayed (within the stream's
 * duplicate window).
 *
 * `handle` never waits on the network: it encodes and enqueues, and a pump keeps up to
 * `maxInFlight` publishes awaiting their acks. A slow or absent server backs triggers up in
 * a bounded queue; past `maxQueue` they are dropped and counted (`overflow`), never held in
 * unbounded memory and never slowing event processing. A publish that fails or times out is
 * retried with backoff under the same Nats-Msg-Id, which the server de-duplicates, until it
 * is acknowledged or the sink closes.
 */
export type NatsTriggerOptions = TriggersConfig['nats'] & Pick<TriggersConfig, 'source'>;

export interface TriggerStats {
  /** Acknowledged by the stream as new. */
  published: number;
  /** Acknowledged as a duplicate of a trigger the stream already holds (a replay). */
  duplicates: number;
  /** Publish attempts that failed or timed out and were retried. */
  retried: number;
  /** Refused because the queue was full. */
  overflow: number;
  /** Left unpublished when the sink closed. */
  dropped: number;
  /** Held back because the customer opted out. */
  suppressed: number;
  queued: number;
  inFlight: number;
}

interface Trigger {
  subject: string;
  id: string;
  body: Uint8Array;
  /** The barrier epoch it was queued in. */
  epoch: number;
}

export interface TriggerSinkDeps {
  readonly random?: () => number;
  /** Counts and settings only, never customer data. */
  readonly log?: (line: string) => void;
  /**
   * Checkpointed engines: a full queue holds the engine (`handle` waits for room) instead of
   * dropping, and `barrier()` lets a checkpoint wait for what it covers, so no trigger of a
   * checkpointed batch is lost to a crash.
   */
  readonly durable?: boolean;
}

export function triggerSubject(prefix: string, type: AlertType): string {
  return `${prefix}.${type}`;
}

export class NatsTriggerSink implements BatchSink<AlertBatch> {
  private readonly js: JetStreamClient;
  private readonly queue: BoundedQueue<Trigger>;
  private readonly wanted: ReadonlySet<AlertType>;
  private readonly closing = new AbortController();
  private readonly idleSignal = new IdleSignal(
    () => this.closing.signal.aborted || (this.queue.size === 0 && this.inFlight === 0),
  );
  private inFlight = 0;
  /** Triggers queued or in flight, by barrier epoch. */
  private readonly outstanding = new Map<number, number>();
  private epoch = 0;
  private barriers: { epoch: number; pass: () => void }[] = [];
  private roomWaiters: (() => void)[] = [];
  private readonly counts = { published: 0, duplicates: 0, retried: 0, dropped: 0, suppressed: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsTriggerOptions,
    private readonly gate: MarketingGate,
    private readonly deps: TriggerSinkDeps = {},
  ) {
    this.js = jetstream(nc, { timeout: opts.publishTimeoutMs });
    this.queue = new BoundedQueue(opts.maxQueue);
    this.wanted = new Set(opts.types ?? marketingAlertTypes);
  }

  /** Creates the trigger stream over `<subjectPrefix>.>` if it does not exist; an existing one is left as it is. */
  async ensureStream(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const exists = await jsm.streams.info(this.opts.stream).then(
      () => true,
      () => false,
    );
    if (exists) return;
    const l = this.opts.streamLimits;
    const subjects = `${this.opts.subjectPrefix}.>`;
    await jsm.streams
      .add({
        name: this.opts.stream,
        subjects: [subjects],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        duplicate_window: l.duplicateWindowMs * 1_000_000,
        max_age: l.maxAgeMs * 1_000_000,
        max_bytes: l.maxBytes,
        max_msg_size: l.maxMsgSize,
      })
      .catch((e: unknown) => {
        throw new VigilError(
          'VIGIL_ERR_TRIGGER_STREAM',
          `cannot create the trigger stream ${this.opts.stream} over ${subjects}`,
          [String((e as Error)?.message ?? e)],
          {
            cause: e,
          },
        );
      });
  }

  handle(batch: AlertBatch): void | Promise<void> {
    if (
      this.deps.durable === true &&
      batch.alerts.length > 0 &&
      this.queue.size + batch.alerts.length > this.opts.maxQueue
    )
      return this.handleWhenRoom(batch);
    this.enqueue(batch);
  }

  /**
   * Resolves once every trigger queued before the call is acknowledged by the stream (or
   * dropped by `close`): what a checkpoint waits for before it counts a batch as done.
   */
  barrier(): Promise<void> {
    const epoch = this.epoch++;
    if (this.passed(epoch)) return Promise.resolve();
    return new Promise((pass) => this.barriers.push({ epoch, pass }));
  }

  private async handleWhenRoom(batch: AlertBatch): Promise<void> {
    while (
      this.queue.size > 0 &&
      this.queue.size + batch.alerts.length > this.opts.maxQueue &&
      !this.closing.signal.aborted
    ) {
      await new Promise<void>((room) => this.roomWaiters.push(room));
    }
    this.enqueue(batch);
  }

  private passed(epoch: number): boolean {
    for (const [e, n] of this.outstanding) if (e <= epoch && n > 0) return false;
    return true;
  }

  private settled(t: Trigger): void {
    const left = (this.outstanding.get(t.epoch) ?? 1) - 1;
    if (left > 0) this.outstanding.set(t.epoch, left);
    else this.outstanding.delete(t.epoch);
    if (this.barriers.length > 0) {
      const open = this.barriers.filter((b) => this.passed(b.epoch));
      this.barriers = this.barriers.filter((b) => !this.passed(b.epoch));
      for (const b of open) b.pass();
    }
  }

  private enqueue(batch: AlertBatch): void {
    for (const alert of batch.alerts) {
      const out = this.gate.outgoing(alert, this.wanted);
      if (out === 'unwanted') continue;
      if (out === 'suppressed') {
        this.counts.suppressed++;
        continue;
      }
      if (this.closing.signal.aborted) {
        this.counts.dropped++;
        continue;
      }
      const trigger = {
        subject: triggerSubject(this.opts.subjectPrefix, out.type),
        id: out.id,
        body: encodeCloudEvent(out, this.opts.source),
        epoch: this.epoch,
      };
      if (this.queue.push(trigger)) this.outstanding.set(trigger.epoch, (this.outstanding.get(trigger.epoch) ?? 0) + 1);
      else {
        const max = this.opts.maxQueue;
        logAtPowersOfTen(
          this.queue.overflow,
          (n) =>
            `triggers: queue full (triggers.nats.maxQueue ${max}), the server is slow or unreachable: ${n} dropped so far`,
          this.deps.log,
        );
      }
    }
    this.pump();
  }

  stats(): TriggerStats {
    return { ...this.counts, overflow: this.queue.overflow, queued: this.queue.size, inFlight: this.inFlight };
  }

  /** Resolves when nothing is queued or in flight (or the sink closed). */
  idle(): Promise<void> {
    return this.idleSignal.idle();
  }

  /**
   * Waits up to `graceMs` for what is queued to be published, then stops: retries end,
   * what is still queued is counted as dropped. The connection stays open (its owner closes it).
   */
  async close(graceMs = 5000): Promise<void> {
    await this.idleSignal.within(graceMs);
    this.closing.abort();
    for (let t = this.queue.shift(); t !== undefined; t = this.queue.shift()) {
      this.counts.dropped++;
      this.settled(t);
    }
    for (const room of this.roomWaiters.splice(0)) room();
    this.idleSignal.check();
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && !this.closing.signal.aborted) {
      const t = this.queue.shift();
      if (t === undefined) break;
      this.inFlight++;
      if (this.roomWaiters.length > 0) for (const room of this.roomWaiters.splice(0)) room();
      void this.send(t).finally(() => {
        this.inFlight--;
        this.settled(t);
        this.pump();
        this.idleSignal.check();
      });
    }
  }

  private async send(t: Trigger): Promise<void> {
    const h = headers();
    h.set('Content-Type', CLOUDEVENTS_CONTENT_TYPE);
    for (let retry = 1; ; retry++) {
      try {
        const ack = await this.js.publish(t.subject, t.body, {
          msgID: t.id,
          headers: h,
          timeout: this.opts.publishTimeoutMs,
        });
        if (ack.duplicate) this.counts.duplicates++;
        else this.counts.published++;
        return;
      } catch {
        // No ack: the server may or may not hold it. The same Nats-Msg-Id makes a retry safe.
        if (this.closing.signal.aborted) {
          this.counts.dropped++;
          return;
        }
        this.counts.retried++;
        await sleep(backoffDelay(retry, this.opts.retry, this.deps.random), this.closing.signal);
        if (this.closing.signal.aborted) {
          this.counts.dropped++;
          return;
        }
      }
    }
  }
}
