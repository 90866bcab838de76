import { createHash } from 'node:crypto';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { backoffDelay, sleep, type BackoffConfig } from '../../core/backoff.js';

/** One message of a side output (a dead letter, a late event) on its way out. */
export interface SideOutput {
  readonly subject: string;
  bytes: Uint8Array;
  readonly headers: MsgHdrs;
  /** Nats-Msg-Id: a retry after a lost ack is then dropped by the stream's duplicate window. */
  readonly msgId?: string | undefined;
}

export interface ConfirmedPublisherOptions {
  /** No stream capturing a subject is a refusal (input waits) rather than a reason to publish unconfirmed. */
  readonly requireCaptureStream: boolean;
  readonly ackTimeoutMs: number;
  readonly retry: BackoffConfig;
  /** How long a subject's capture lookup is trusted before it is asked again. */
  readonly captureTtlMs?: number;
  /** Counts, subjects and server reasons only: never payloads or customer data. */
  readonly log?: (line: string) => void;
  readonly random?: () => number;
}

export interface ConfirmedPublisherStats {
  /** Stored by a stream, its publish acknowledged. */
  confirmed: number;
  /** Published on core NATS because no stream captures the subject (requireCaptureStream off). */
  unconfirmed: number;
  /** Cut to the server's max_payload (headers give the original size and SHA-256). */
  truncated: number;
  /** Publish attempts refused (no ack, an error from the stream, or no stream where one is required) and retried. */
  refused: number;
  /** True while outputs wait for a stream that refuses them: input is not acknowledged meanwhile. */
  blocked: boolean;
}

export const TRUNCATION_HEADERS = {
  size: 'Vigil-Original-Size',
  sha256: 'Vigil-Original-Sha256',
} as const;

/** Room kept for the protocol line around headers and data (subject, reply, sizes). */
const HEADER_SLACK = 64;

/**
 * Publishes side outputs so that the input they came from can be acknowledged afterwards.
 * A subject captured by a JetStream stream is published through JetStream and the promise
 * resolves only once every output has its publish ack. When the stream refuses (storage
 * full, limits, no ack in time) or, with `requireCaptureStream`, no stream captures the
 * subject, the refused outputs are retried with backoff until accepted: the caller (a
 * `BatchSink`) does not resolve, so the engine stops acknowledging input: back-pressure,
 * never loss. Without `requireCaptureStream`, an uncaptured subject gets a core publish and a
 * flush (it reached the server; nothing more is known), counted as unconfirmed, logged once.
 *
 * An output larger than the server's max_payload (headers included) is cut to fit, with
 * headers giving the original size and its SHA-256, instead of making the publish throw.
 */
export class ConfirmedPublisher {
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | undefined;
  private readonly capture = new Map<string, { captured: boolean; until: number }>();
  private readonly counts = { confirmed: 0, unconfirmed: 0, truncated: 0, refused: 0 };
  private blocked = false;
  private toldUnconfirmed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: ConfirmedPublisherOptions,
  ) {
    this.js = jetstream(nc, { timeout: opts.ackTimeoutMs });
  }

  stats(): ConfirmedPublisherStats {
    return { ...this.counts, blocked: this.blocked };
  }

  /** Resolves once every output is stored by its stream (or, unconfirmed, flushed to the server). */
  async publish(outputs: readonly SideOutput[]): Promise<void> {
    if (outputs.length === 0) return;
    for (const o of outputs) this.fit(o);
    let pending = outputs;
    for (let retry = 1; ; retry++) {
      pending = await this.attempt(pending);
      if (pending.length === 0) break;
      this.counts.refused += pending.length;
      if (!this.blocked) {
        this.blocked = true;
        this.log(
          `side outputs: ${pending.length} refused (first to ${pending[0]!.subject}); input is not acknowledged until they are stored, retrying`,
        );
      }
      await sleep(backoffDelay(retry, this.opts.retry, this.opts.random));
    }
    if (this.blocked) {
      this.blocked = false;
      this.log('side outputs: stored again; input is acknowledged again');
    }
  }

  /** One try at every output; returns those not yet stored. */
  private async attempt(outputs: readonly SideOutput[]): Promise<SideOutput[]> {
    const refused: SideOutput[] = [];
    const confirmed: { o: SideOutput; ack: Promise<unknown> }[] = [];
    let core = false;
    for (const o of outputs) {
      const captured = await this.captured(o.subject);
      if (captured === true) {
        confirmed.push({
          o,
          ack: this.js.publish(o.subject, o.bytes, {
            headers: o.headers,
            timeout: this.opts.ackTimeoutMs,
            ...(o.msgId !== undefined && { msgID: o.msgId }),
          }),
        });
      } else if (captured === false && !this.opts.requireCaptureStream) {
        this.tellUnconfirmed(o.subject);
        this.nc.publish(o.subject, o.bytes, { headers: o.headers });
        this.counts.unconfirmed++;
        core = true;
      } else {
        refused.push(o);
      }
    }
    const results = await Promise.allSettled(confirmed.map((c) => c.ack));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') this.counts.confirmed++;
      else {
        refused.push(confirmed[i]!.o);
        // Forget the lookup: the stream may be gone, and a new one may capture the subject.
        this.capture.delete(confirmed[i]!.o.subject);
        this.logRefusal(confirmed[i]!.o.subject, r.reason);
      }
    });
    // A round trip to the server: every core publish before it has reached the server.
    if (core) await this.nc.flush().catch(() => undefined);
    return refused;
  }

  /** Whether a stream captures `subject`; undefined when that cannot be known now (server unreachable). */
  private async captured(subject: string): Promise<boolean | undefined> {
    const now = performance.now();
    const known = this.capture.get(subject);
    if (known !== undefined && known.until > now) return known.captured;
    let captured: boolean;
    try {
      this.jsm ??= await jetstreamManager(this.nc, { timeout: this.opts.ackTimeoutMs });
      await this.jsm.streams.find(subject);
      captured = true;
    } catch (e) {
      const name = (e as Error)?.name;
      if (name !== 'StreamNotFoundError' && name !== 'JetStreamNotEnabled') {
        this.jsm = undefined;
        return undefined;
      }
      captured = false;
    }
    this.capture.set(subject, { captured, until: now + (this.opts.captureTtlMs ?? 10_000) });
    return captured;
  }

  private fit(o: SideOutput): void {
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    const idBytes = o.msgId === undefined ? 0 : 'Nats-Msg-Id: \r\n'.length + o.msgId.length;
    if (headerBytes(o.headers) + idBytes + o.bytes.length + HEADER_SLACK <= max) return;
    o.headers.set(TRUNCATION_HEADERS.size, String(o.bytes.length));
    o.headers.set(TRUNCATION_HEADERS.sha256, createHash('sha256').update(o.bytes).digest('hex'));
    const room = Math.max(0, max - headerBytes(o.headers) - idBytes - HEADER_SLACK);
    o.bytes = o.bytes.subarray(0, room);
    this.counts.truncated++;
  }

  private tellUnconfirmed(subject: string): void {
    if (this.toldUnconfirmed) return;
    this.toldUnconfirmed = true;
    this.log(
      `side outputs: no JetStream stream captures ${subject}; published on core NATS, unconfirmed (nothing keeps them unless a subscriber is there). Capture them in a stream, or set nats.requireCaptureStream`,
    );
  }

  private logRefusal(subject: string, reason: unknown): void {
    if (this.blocked) return; // said once per blocked spell
    this.log(
      `side outputs: the stream refused a publish to ${subject}: ${String((reason as Error)?.message ?? reason)}`,
    );
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => process.stderr.write(l + '\n')))(line);
  }
}

/** Encoded size of NATS headers: `NATS/1.0\r\n`, `key: value\r\n` each, and a closing `\r\n`. */
function headerBytes(h: MsgHdrs): number {
  let n = 'NATS/1.0\r\n\r\n'.length;
  for (const k of h.keys()) for (const v of h.values(k)) n += Buffer.byteLength(k) + 2 + Buffer.byteLength(v) + 2;
  return n;
}
