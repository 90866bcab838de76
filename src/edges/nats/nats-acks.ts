import type { NatsConnection } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';

/**
 * Where a JetStream message came from, read from its reply subject
 * (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>`, or
 * the longer form with a domain and an account hash before the stream) without splitting it:
 * `JsMsg.seq` / `.redelivered` split it into eleven strings per message, on every message's
 * path (chosen by `npm run bench -- nats`). `undefined` when it is not an ack subject.
 */
export interface Delivery {
  /** Stream sequence. */
  seq: number;
  /** How many times the server has delivered this message (1 = first delivery). */
  deliveries: number;
}

const DOT = 0x2e;

export function deliveryOf(reply: string): Delivery | undefined {
  if (!reply.startsWith('$JS.ACK.')) return undefined;
  // Token starts: find every dot; the short form has 9 tokens, the long one 11 or more.
  let dots = 0;
  let at4 = -1;
  let at6 = -1;
  for (let i = 0; i < reply.length; i++) {
    if (reply.charCodeAt(i) !== DOT) continue;
    dots++;
    if (dots === 4) at4 = i + 1;
    else if (dots === 6) at6 = i + 1;
  }
  const tokens = dots + 1;
  const start = tokens === 9 ? at4 : tokens >= 11 ? at6 : -1;
  if (start < 0) return undefined;
  const deliveries = digitsAt(reply, start);
  const seq = digitsAt(reply, reply.indexOf('.', start) + 1);
  if (deliveries < 1 || seq < 1) return undefined;
  return { seq, deliveries };
}

/** The decimal number starting at `i` and ending at the next dot; -1 if there is none. */
function digitsAt(s: string, i: number): number {
  let n = 0;
  let len = 0;
  for (; i < s.length; i++, len++) {
    const c = s.charCodeAt(i);
    if (c === DOT) break;
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return len === 0 ? -1 : n;
}

/**
 * The reply subject of a JetStream message: nats.js's message class has it (its acks are
 * publishes to it) though the `JsMsg` interface does not list it; '' when absent.
 */
export function replyOf(m: JsMsg): string {
  const reply = (m as unknown as { reply?: unknown }).reply;
  return typeof reply === 'string' ? reply : '';
}

/** The slice of nats.js's protocol handler used to send prepared protocol bytes. */
interface RawSender {
  sendCommand(cmd: Uint8Array): void;
}

const PUB = [0x50, 0x55, 0x42, 0x20]; // 'PUB '
const TAIL = [0x20, 0x34, 0x0d, 0x0a, 0x2b, 0x41, 0x43, 0x4b, 0x0d, 0x0a]; // ' 4\r\n+ACK\r\n'

/**
 * Acknowledges JetStream messages a batch at a time. An ack is a plain publish of `+ACK` to
 * the message's reply subject; `JsMsg.ack()` builds each one as a template string, encodes it
 * with a `TextEncoder` and queues three buffers. Here the `PUB <reply> 4\r\n+ACK\r\n` frames
 * of a whole batch are written into one buffer and handed to the connection's outbound queue
 * at once, which is what `ack()` ends up sending, byte for byte, without its per-message
 * work (chosen by `npm run bench -- nats`; docs/nats.md). The frames go through the same
 * connection and queue as `ack()` (buffered while disconnected, like any publish).
 *
 * nats.js exposes no public call for this, so the writer uses the connection's protocol
 * handler when it has the expected shape and otherwise falls back to `ack()` per message,
 * as it does for a reply subject that is not plain ASCII.
 */
export class AckWriter {
  private readonly raw: RawSender | undefined;
  private queued: JsMsg[] = [];

  constructor(nc: NatsConnection) {
    const protocol = (nc as unknown as { protocol?: Partial<RawSender> }).protocol;
    this.raw = typeof protocol?.sendCommand === 'function' ? (protocol as RawSender) : undefined;
  }

  /** Queues an ack; nothing is sent before `flush()`. */
  ack(m: JsMsg): void {
    if (this.raw === undefined) m.ack();
    else this.queued.push(m);
  }

  /** Sends every queued ack as one write to the connection's outbound queue. */
  flush(): void {
    const msgs = this.queued;
    if (msgs.length === 0 || this.raw === undefined) return;
    this.queued = [];
    let size = 0;
    for (const m of msgs) size += replyOf(m).length + PUB.length + TAIL.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const m of msgs) {
      const reply = replyOf(m);
      const from = at;
      out.set(PUB, at);
      at += PUB.length;
      let ascii = reply.length > 0;
      for (let i = 0; i < reply.length; i++) {
        const c = reply.charCodeAt(i);
        if (c > 0x7e || c <= 0x20) ascii = false;
        out[at++] = c;
      }
      if (!ascii) {
        // Not expressible byte for byte here: leave it to the client library.
        at = from;
        m.ack();
        continue;
      }
      out.set(TAIL, at);
      at += TAIL.length;
    }
    if (at > 0) this.raw.sendCommand(at === size ? out : out.subarray(0, at));
  }
}
