import { headers, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { VigilError } from '../../core/errors.js';
import { logAtPowersOfTen } from '../marketing/bounded-queue.js';
import { vigilCloudEvent, type VigilCloudEvent } from '../marketing/cloudevent.js';
import type { WebhookDestination } from '../marketing/webhook-destinations.js';
import { HttpPoster } from './http-post.js';
import { attemptWebhook, retryDelay } from './webhook-attempt.js';
import type { WebhookDeliveries, WebhookStats } from './webhooks.js';

/**
 * Webhooks delivered from the trigger stream: a durable outbox. Each destination is a
 * durable JetStream consumer (`vigil-webhook-<name>`) on `<subjectPrefix>.>` of the trigger
 * stream, with its own position, so what the stream holds reaches the destination whether
 * the engine restarts, crashes or the destination is down meanwhile.
 *
 * The CloudEvents in the stream have passed the marketing gate already (audience,
 * suppression, pseudonymisation: `NatsTriggerSink`), so the outbox only applies the
 * destination's own filter, and posts the stored bytes as they are, signed (Standard
 * Webhooks, `webhook-id` = the CloudEvent id, for receivers to de-duplicate on).
 *
 * A trigger message is acknowledged only when its delivery has an end:
 * - delivered (2xx), or not wanted by the destination's filter;
 * - failed: refused for good (4xx other than 408/410/429), out of attempts (`maxAttempts`,
 *   counted by the server's delivery count, so restarts do not reset it), or not a Vigil
 *   CloudEvent. It is then published, bytes unchanged, to `<deadLetterPrefix>.webhook.<name>`
 *   with headers saying why, logged and counted (`failed`); the trigger also stays in the
 *   stream (limits retention) under the sequence the dead letter names.
 * A retryable answer naks the message with the backoff delay (or the receiver's
 * Retry-After), so retries wait in the server, not in this process, and survive restarts.
 * 410 Gone stops the destination's consumer until restart; the message that met it is
 * handed back. At stop, what is under way is aborted and handed back (nak) at once.
 *
 * In-flight work is bounded by the consumer's `max_ack_pending` = the destination's
 * `concurrency`: messages waiting out a retry delay hold their slot, so a destination that
 * is down holds `concurrency` triggers and the rest wait in the stream.
 */
export interface WebhookOutboxOptions {
  readonly stream: string;
  readonly subjectPrefix: string;
  /** Failed deliveries go to `<deadLetterPrefix>.webhook.<destination>`. */
  readonly deadLetterPrefix: string;
}

export interface WebhookOutboxDeps {
  readonly random?: () => number;
  /** Wall clock (ms) for signature timestamps and Retry-After dates. */
  readonly now?: () => number;
  /** Destination names, outcomes and stream sequences only: never customer data, never secrets. */
  readonly log?: (line: string) => void;
}

/** The durable consumer that delivers to the destination `name`. */
export function webhookConsumerName(name: string): string {
  return `vigil-webhook-${name}`;
}

/** How often the backlog figure (`queued`) is refreshed from the server when no message arrives. */
const BACKLOG_REFRESH_MS = 5000;
const IDLE_POLL_MS = 100;

class OutboxDestination {
  readonly counts = { delivered: 0, failed: 0, gone: 0, dropped: 0, retried: 0, timeouts: 0, suppressed: 0 };
  inFlight = 0;
  disabled = false;
  /** The consumer's backlog as last seen (a message's delivery info or a consumer info). */
  backlog = 0;
  private messages: ConsumerMessages | undefined;
  private readonly poster: HttpPoster;
  private readonly consumer: string;

  constructor(
    readonly spec: WebhookDestination,
    private readonly nc: NatsConnection,
    private readonly opts: WebhookOutboxOptions,
    private readonly closing: AbortSignal,
    private readonly deps: Required<WebhookOutboxDeps>,
  ) {
    this.poster = new HttpPoster(spec.url, spec.concurrency);
    this.consumer = webhookConsumerName(spec.name);
  }

  /** Creates (or updates) the durable consumer and starts delivering. */
  async start(jsm: JetStreamManager): Promise<void> {
    const { stream, subjectPrefix } = this.opts;
    await jsm.consumers
      .add(stream, {
        durable_name: this.consumer,
        ack_policy: AckPolicy.Explicit,
        // A new destination starts with the triggers after it was added, not the stream's past.
        deliver_policy: DeliverPolicy.New,
        filter_subject: `${subjectPrefix}.>`,
        max_ack_pending: this.spec.concurrency,
        // Longer than one attempt, so a slow attempt is not delivered a second time meanwhile.
        ack_wait: (2 * this.spec.timeoutMs + 5000) * 1_000_000,
        // Attempts are counted here (maxAttempts): a server-side limit would drop silently.
        max_deliver: -1,
      })
      .catch((e: unknown) => {
        throw new VigilError(
          'VIGIL_ERR_TRIGGER_STREAM',
          `cannot create the webhook consumer ${this.consumer} on the trigger stream ${stream}`,
          [String((e as Error)?.message ?? e)],
          { cause: e },
        );
      });
    const consumer = await jetstream(this.nc).consumers.get(stream, this.consumer);
    this.messages = await consumer.consume({
      max_messages: this.spec.concurrency,
      callback: (m) => {
        this.inFlight++;
        this.handle(m)
          .catch((e: unknown) => {
            // Not acked: the server redelivers it (after ack_wait if this nak cannot be sent either).
            try {
              m.nak();
            } catch {
              // the connection is closed
            }
            this.deps.log(
              `webhook ${this.spec.name}: trigger seq ${m.seq} handed back after an error (${String((e as Error)?.message ?? e)})`,
            );
          })
          .finally(() => this.inFlight--);
      },
    });
  }

  async refreshBacklog(jsm: JetStreamManager): Promise<{ pending: number; ackPending: number }> {
    const info = await jsm.consumers.info(this.opts.stream, this.consumer);
    this.backlog = info.num_pending;
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  }

  stats(): WebhookStats {
    return { ...this.counts, overflow: 0, queued: this.backlog, inFlight: this.inFlight, disabled: this.disabled };
  }

  /** Stops pulling and aborts attempts under way (their messages are handed back). */
  async stop(): Promise<void> {
    this.messages?.stop();
    this.poster.close();
    await this.messages?.closed().catch(() => {});
  }

  private async handle(m: JsMsg): Promise<void> {
    if (this.disabled || this.closing.aborted) return m.nak();
    const info = m.info;
    this.backlog = info.pending;
    const event = readCloudEvent(m.data);
    if (event === undefined) return this.fail(m, 'not a Vigil CloudEvent', info.deliveryCount - 1);
    if (!this.spec.wants(event.data)) return m.ack();
    const outcome = await attemptWebhook(this.poster, this.spec, event.id, m.data, this.deps.now());
    switch (outcome.kind) {
      case 'delivered':
        this.counts.delivered++;
        return m.ack();
      case 'gone':
        m.nak();
        return this.disable();
      case 'dead':
        return this.fail(m, `HTTP ${outcome.status}, not retried`, info.deliveryCount);
      case 'retry':
        if (outcome.timedOut === true) this.counts.timeouts++;
        // Aborted by stop(): handed back at once, for the next run.
        if (this.closing.aborted || this.disabled) return m.nak();
        if (info.deliveryCount >= this.spec.maxAttempts)
          return this.fail(m, `no success in ${info.deliveryCount} attempts, last ${outcome.why}`, info.deliveryCount);
        this.counts.retried++;
        return m.nak(retryDelay(outcome, info.deliveryCount, this.spec, this.deps.random));
    }
  }

  /** The end of a delivery that did not succeed: a dead letter, a count and a log line, then the ack. */
  private async fail(m: JsMsg, why: string, attempts: number): Promise<void> {
    const subject = `${this.opts.deadLetterPrefix}.webhook.${this.spec.name}`;
    const h = headers();
    h.set('Vigil-Reason', why);
    h.set('Vigil-Webhook-Destination', this.spec.name);
    h.set('Vigil-Webhook-Attempts', String(attempts));
    h.set('Vigil-Source-Subject', m.subject);
    h.set('Vigil-Stream-Seq', String(m.seq));
    const ce = m.headers?.get('Content-Type');
    if (ce) h.set('Content-Type', ce);
    // Flushed before the ack: if the server is gone, the trigger is not acked and comes back.
    this.nc.publish(subject, m.data, { headers: h });
    await this.nc.flush();
    this.counts.failed++;
    logAtPowersOfTen(
      this.counts.failed,
      (n) =>
        `webhook ${this.spec.name}: a delivery failed (${why}); trigger seq ${m.seq} dead-lettered to ${subject}: ${n} failed so far`,
      this.deps.log,
    );
    m.ack();
  }

  /** After 410 Gone: this destination's consumer stops until restart; nothing is acked for it meanwhile. */
  private disable(): void {
    if (this.disabled) return;
    this.disabled = true;
    this.counts.gone++;
    this.messages?.stop();
    // Attempts under way end as network errors and are handed back.
    this.poster.close();
    this.deps.log(
      `webhook ${this.spec.name}: 410 Gone, destination disabled until restart (its triggers stay in the stream)`,
    );
  }
}

function readCloudEvent(data: Uint8Array): VigilCloudEvent | undefined {
  try {
    const parsed = vigilCloudEvent.safeParse(
      JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export class WebhookOutbox implements WebhookDeliveries {
  private readonly destinations: OutboxDestination[];
  private readonly closing = new AbortController();
  private jsm: JetStreamManager | undefined;
  private refresher: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    specs: readonly WebhookDestination[],
    opts: WebhookOutboxOptions,
    deps: WebhookOutboxDeps = {},
  ) {
    const full = {
      random: deps.random ?? Math.random,
      now: deps.now ?? Date.now,
      log: deps.log ?? ((l: string) => process.stderr.write(l + '\n')),
    };
    this.destinations = specs.map((s) => new OutboxDestination(s, nc, opts, this.closing.signal, full));
  }

  /** Creates each destination's durable consumer (`VIGIL_ERR_TRIGGER_STREAM` if it cannot) and starts delivering. */
  async start(): Promise<void> {
    const jsm = (this.jsm = await jetstreamManager(this.nc));
    for (const d of this.destinations) await d.start(jsm);
    this.refresher = setInterval(() => void this.caughtUp().catch(() => {}), BACKLOG_REFRESH_MS).unref();
  }

  stats(): Record<string, WebhookStats> {
    return Object.fromEntries(this.destinations.map((d) => [d.spec.name, d.stats()]));
  }

  /** Resolves when every enabled destination's consumer has nothing pending or unacknowledged (or the outbox closed). */
  async idle(): Promise<void> {
    while (!this.closing.signal.aborted && !(await this.caughtUp().catch(() => false)))
      await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
  }

  /**
   * Delivers for up to `graceMs` more (until caught up), then stops: pulling ends, attempts
   * under way are aborted and their triggers handed back. Nothing is dropped: what is left
   * stays in the stream for the next start. The connection stays open (its owner closes it).
   */
  async close(graceMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([this.idle(), grace]);
    clearTimeout(timer);
    this.closing.abort();
    clearInterval(this.refresher);
    await Promise.all(this.destinations.map((d) => d.stop()));
    while (this.destinations.some((d) => d.inFlight > 0)) await new Promise((r) => setTimeout(r, 5));
  }

  private async caughtUp(): Promise<boolean> {
    if (this.jsm === undefined) return false;
    let done = true;
    for (const d of this.destinations) {
      const { pending, ackPending } = await d.refreshBacklog(this.jsm);
      if (!d.disabled && (pending > 0 || ackPending > 0 || d.inFlight > 0)) done = false;
    }
    return done;
  }
}
