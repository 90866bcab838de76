import { alertTypes, type Alert, type AlertType } from '../../alerts/alert.js';
import type { MarketingGate } from '../marketing/audience.js';
import { sleep as abortableSleep } from '../../core/backoff.js';
import { BoundedQueue, logAtPowersOfTen } from '../marketing/bounded-queue.js';
import { IdleSignal } from '../marketing/idle-signal.js';
import { encodeCloudEvent } from '../marketing/cloudevent.js';
import type { WebhookDestination } from '../marketing/webhook-destinations.js';
import { HttpPoster } from './http-post.js';
import { attemptWebhook, retryDelay, type AttemptOutcome } from './webhook-attempt.js';
import type { AlertOutput } from '../../alerts/alert-emitter.js';
import type { Batch } from '../../core/batch.js';
import type { BatchSink } from '../../core/batch-sink.js';

type AlertBatch = Batch & AlertOutput;

/**
 * Signed webhooks (Standard Webhooks) to marketing destinations. Each destination has its
 * own bounded queue and `concurrency` workers, so a slow one delays only itself, and
 * `handle` only enqueues: event processing never waits on a receiver.
 *
 * One delivery is one alert as a CloudEvent (structured mode, `application/cloudevents+json`),
 * `webhook-id` = the CloudEvent id (the same across retries, for the receiver to de-duplicate
 * on), `webhook-timestamp` and `webhook-signature` fresh for each attempt. Outcomes:
 * - 2xx: delivered.
 * - 410 Gone: the destination is disabled; what is queued for it is dropped, nothing more is sent.
 * - 408, 429, 5xx, a timeout or a network error: retried with exponential backoff and full
 *   jitter, or after `Retry-After` (seconds or an HTTP date) on 429 and 503, capped at
 *   `maxRetryAfterMs`; failed after `maxAttempts`.
 * - any other status (other 4xx, 3xx: redirects are not followed): failed at once.
 * Each accepted delivery ends as exactly one of delivered, failed, gone or dropped.
 */
export interface WebhookStats {
  delivered: number;
  /** Out of attempts, or refused for good (4xx other than 408/410/429). */
  failed: number;
  /** The delivery that met 410 Gone. */
  gone: number;
  /** Queued when the destination was disabled or the sink closed. */
  dropped: number;
  /** Attempts after the first. */
  retried: number;
  /** Attempts that ran out of time. */
  timeouts: number;
  /** Refused because the queue was full. */
  overflow: number;
  /** Held back because the customer opted out. */
  suppressed: number;
  queued: number;
  inFlight: number;
  disabled: boolean;
}

/**
 * Webhook delivery as the CLI, the status line and the metrics see it: the in-process sink
 * below (best-effort) or the durable outbox on the trigger stream (`webhook-outbox.ts`).
 */
export interface WebhookDeliveries {
  /** Per destination, by name. */
  stats(): Record<string, WebhookStats>;
  /** Resolves when nothing is left to deliver (or delivery stopped). */
  idle(): Promise<void>;
  /** Lets deliveries go on for up to `graceMs`, then stops. */
  close(graceMs?: number): Promise<void>;
}

export interface WebhookSinkDeps {
  /** Waits between attempts; tests inject one that records the delays. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Wall clock (ms) for signature timestamps and Retry-After dates. */
  readonly now?: () => number;
  /** Destination names and outcomes only: never customer data, never secrets. */
  readonly log?: (line: string) => void;
}

interface Delivery {
  readonly id: string;
  readonly body: Uint8Array;
}

class Destination {
  readonly queue: BoundedQueue<Delivery>;
  private readonly poster: HttpPoster;
  readonly counts = { delivered: 0, failed: 0, gone: 0, dropped: 0, retried: 0, timeouts: 0, suppressed: 0 };
  inFlight = 0;
  disabled = false;

  constructor(
    readonly spec: WebhookDestination,
    private readonly closing: AbortSignal,
    private readonly deps: Required<WebhookSinkDeps>,
    private readonly changed: () => void,
  ) {
    this.queue = new BoundedQueue(spec.maxQueue);
    this.poster = new HttpPoster(spec.url, spec.concurrency);
  }

  enqueue(d: Delivery): void {
    if (this.disabled || this.closing.aborted) {
      this.counts.dropped++;
      return;
    }
    if (!this.queue.push(d)) {
      logAtPowersOfTen(
        this.queue.overflow,
        (n) => `webhook ${this.spec.name}: queue full (maxQueue ${this.spec.maxQueue}): ${n} dropped so far`,
        this.deps.log,
      );
    }
    this.pump();
  }

  stats(): WebhookStats {
    return {
      ...this.counts,
      overflow: this.queue.overflow,
      queued: this.queue.size,
      inFlight: this.inFlight,
      disabled: this.disabled,
    };
  }

  /** Drops what is queued and aborts what is under way (counted as dropped as each ends). */
  stop(): void {
    this.counts.dropped += this.queue.clear();
    this.poster.close();
  }

  private pump(): void {
    while (this.inFlight < this.spec.concurrency && !this.disabled && !this.closing.aborted) {
      const d = this.queue.shift();
      if (d === undefined) break;
      this.inFlight++;
      void this.deliver(d).finally(() => {
        this.inFlight--;
        this.pump();
        this.changed();
      });
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.disabled || this.closing.aborted) {
        this.counts.dropped++;
        return;
      }
      const outcome = await this.attempt(d);
      switch (outcome.kind) {
        case 'delivered':
          this.counts.delivered++;
          return;
        case 'gone':
          this.counts.gone++;
          this.disable();
          return;
        case 'dead':
          this.fail(`HTTP ${outcome.status}, not retried`);
          return;
        case 'retry':
          if (this.closing.aborted) {
            this.counts.dropped++;
            return;
          }
          if (attempt >= this.spec.maxAttempts) {
            this.fail(`no success in ${attempt} attempts`);
            return;
          }
          this.counts.retried++;
          await this.deps.sleep(retryDelay(outcome, attempt, this.spec, this.deps.random), this.closing);
      }
    }
  }

  private async attempt(d: Delivery): Promise<AttemptOutcome> {
    const outcome = await attemptWebhook(this.poster, this.spec, d.id, d.body, this.deps.now());
    if (outcome.kind === 'retry' && outcome.timedOut === true) this.counts.timeouts++;
    return outcome;
  }

  private fail(why: string): void {
    this.counts.failed++;
    logAtPowersOfTen(
      this.counts.failed,
      (n) => `webhook ${this.spec.name}: a delivery failed (${why}): ${n} failed so far`,
      this.deps.log,
    );
  }

  /** After 410 Gone: nothing more goes to this destination; deliveries under way are aborted. */
  private disable(): void {
    if (this.disabled) return;
    this.disabled = true;
    const dropped = this.queue.clear();
    this.counts.dropped += dropped;
    this.poster.close();
    this.deps.log(`webhook ${this.spec.name}: 410 Gone, destination disabled (${dropped} queued deliveries dropped)`);
  }
}

export class WebhookSink implements BatchSink<AlertBatch>, WebhookDeliveries {
  private readonly destinations: Destination[];
  private readonly closing = new AbortController();
  private readonly idleSignal = new IdleSignal(
    () => this.closing.signal.aborted || this.destinations.every((d) => d.queue.size === 0 && d.inFlight === 0),
  );
  private readonly everyType: ReadonlySet<AlertType> = new Set(alertTypes);

  constructor(
    specs: readonly WebhookDestination[],
    private readonly gate: MarketingGate,
    private readonly source: string,
    deps: WebhookSinkDeps = {},
  ) {
    const full = {
      sleep: deps.sleep ?? abortableSleep,
      random: deps.random ?? Math.random,
      now: deps.now ?? Date.now,
      log: deps.log ?? ((l: string) => process.stderr.write(l + '\n')),
    };
    this.destinations = specs.map((s) => new Destination(s, this.closing.signal, full, () => this.idleSignal.check()));
  }

  handle(batch: AlertBatch): void {
    for (const alert of batch.alerts) {
      let encoded: Delivery | 'suppressed' | undefined;
      for (const d of this.destinations) {
        if (!d.spec.wants(alert)) continue;
        encoded ??= this.encode(alert);
        if (encoded === 'suppressed') d.counts.suppressed++;
        else d.enqueue(encoded);
      }
    }
  }

  /** Per destination, by name. */
  stats(): Record<string, WebhookStats> {
    return Object.fromEntries(this.destinations.map((d) => [d.spec.name, d.stats()]));
  }

  /** Resolves when no destination has anything queued or in flight (or the sink closed). */
  idle(): Promise<void> {
    return this.idleSignal.idle();
  }

  /** Waits up to `graceMs` for queued deliveries, then aborts what is in flight and drops the rest. */
  async close(graceMs = 5000): Promise<void> {
    await this.idleSignal.within(graceMs);
    this.closing.abort();
    for (const d of this.destinations) d.stop();
    await new Promise<void>((resolve) => {
      const check = () => (this.destinations.every((d) => d.inFlight === 0) ? resolve() : setTimeout(check, 5));
      check();
    });
    this.idleSignal.check();
  }

  private encode(alert: Alert): Delivery | 'suppressed' {
    const out = this.gate.outgoing(alert, this.everyType);
    if (out === 'suppressed' || out === 'unwanted') return 'suppressed';
    return { id: out.id, body: encodeCloudEvent(out, this.source) };
  }
}
