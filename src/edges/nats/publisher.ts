import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { encodePayload, type PayloadFormat } from '../encode.js';
import type { CanonicalEvent } from '../../core/event.js';

export interface PublishOptions {
  /** Subjects are `<prefix>.<event type>`, e.g. `shop.events.purchase`. */
  readonly subjectPrefix: string;
  readonly format: PayloadFormat;
  /** Events per second; as fast as the connection takes them when absent. */
  readonly rate?: number;
  /**
   * `core`: plain publishes (into a stream's subjects they are stored without a publish ack).
   * `jetstream`: publish and await the stream's ack, with `Nats-Msg-Id` = the event id.
   */
  readonly mode: 'core' | 'jetstream';
  /** Create a stream over `<prefix>.>` with this name if none exists. */
  readonly createStream?: string;
  readonly onProgress?: (sent: number) => void;
}

/** Sends events to NATS; returns how many were sent. The load generator of `vigil publish` and the benches. */
export async function publishEvents(
  nc: NatsConnection,
  events: Iterable<CanonicalEvent>,
  opts: PublishOptions,
): Promise<number> {
  function* payloads(): Generator<Outgoing> {
    for (const e of events)
      yield { subject: `${opts.subjectPrefix}.${e.type}`, payload: encodePayload(e, opts.format), msgId: e.id };
  }
  return publishPayloads(nc, payloads(), opts);
}

export interface Outgoing {
  subject: string;
  payload: Uint8Array;
  /** `Nats-Msg-Id` for JetStream's duplicate window. */
  msgId?: string;
}

/** Sends prepared payloads (as read from a file, good or bad) with the same pacing and modes. */
export async function publishPayloads(
  nc: NatsConnection,
  messages: Iterable<Outgoing> | AsyncIterable<Outgoing>,
  opts: Omit<PublishOptions, 'format'>,
): Promise<number> {
  if (opts.createStream !== undefined) await ensureStream(nc, opts.createStream, [`${opts.subjectPrefix}.>`]);
  const js = opts.mode === 'jetstream' ? jetstream(nc) : undefined;
  const started = performance.now();
  let sent = 0;
  let inFlight: Promise<unknown>[] = [];
  for await (const { subject, payload, msgId } of messages) {
    if (opts.rate !== undefined) {
      const wait = started + (sent / opts.rate) * 1000 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    if (js) {
      inFlight.push(js.publish(subject, payload, msgId === undefined ? {} : { msgID: msgId }));
      if (inFlight.length >= 256) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    } else {
      nc.publish(subject, payload);
      // Let the socket drain now and then so a fast loop cannot buffer without bound.
      if ((sent & 16383) === 16383) await nc.flush();
    }
    sent++;
    if ((sent & 4095) === 0) opts.onProgress?.(sent);
  }
  await Promise.all(inFlight);
  await nc.flush();
  opts.onProgress?.(sent);
  return sent;
}

/** Creates the JetStream stream `name` over `subjects` unless a stream of that name exists. */
export async function ensureStream(nc: NatsConnection, name: string, subjects: string[]): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const exists = await jsm.streams.info(name).then(
    () => true,
    () => false,
  );
  if (!exists) await jsm.streams.add({ name, subjects });
}
