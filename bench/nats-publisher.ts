import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect } from '@nats-io/transport-node';
import { encodePayload } from '../src/edges/encode.js';
import { publishEvents } from '../src/edges/nats/publisher.js';
import type { CanonicalEvent } from '../src/core/event.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';

/**
 * Child process of the NATS bench; its own process, as a real producer would be, so it does
 * not share the consumer's thread. Both modes send the same synthetic shop events.
 *
 *   jetstream-load URL N   publishes N events to bench.events.<type>, into a stream BENCH over
 *                          bench.events.> created here, and exits.
 *   core-burst URL N       sends to bench.core.<type>, outside the stream; encodes N events and lays out their `PUB` frames in memory, connects
 *                          and says `ready`; on each `go` message it writes them all as fast as
 *                          the socket takes them, waits for the server's PONG (all routed), and
 *                          answers `{ ms }`; `exit` ends it.
 *
 *   core-paced URL N RATE CUSTOMERS START_TS
 *                          sends to bench.core.<type> at RATE events a second (the ws bench's
 *                          NATS feed): a shop of CUSTOMERS whose history starts at START_TS;
 *                          says `ready`, starts on `go`, and every millisecond writes the
 *                          frames due by then in one write; `exit` ends it.
 *
 * core-burst and core-paced speak the NATS text protocol over a plain socket instead of going through a client
 * library: the frames are built before the clock starts, so publishing costs a few large
 * writes and the publisher outruns any consumer (nats.js measured ≈ 0.5 M msg/s here with
 * pre-encoded payloads, about what a bare consumer takes, so it could not show that
 * consumer's ceiling). The server (started with a large `max_pending` by the bench) buffers
 * what the consumer has not yet read, so the consumer is never idle while the burst lasts.
 */
const STREAM_SUBJECT = 'bench.events';
/** Not captured by the stream: core runs must not make the server store every message. */
const CORE_SUBJECT = 'bench.core';
const CRLF = Buffer.from('\r\n');
const [url, count, mode, rateArg, customersArg, startArg] = process.argv.slice(2);
const n = Number(count);

function shopEvents(): Iterable<CanonicalEvent> {
  const shop =
    mode === 'core-paced'
      ? new SyntheticShop({ seed: 9, customers: Number(customersArg), products: 3000, startTs: Number(startArg) })
      : new SyntheticShop({ seed: 9, customers: 100_000, products: 5000, startTs: Date.UTC(2025, 0, 1) });
  return (function* () {
    for (let i = 0; i < n; i++) yield shop.next()!;
  })();
}

if (mode === 'jetstream-load') {
  const nc = await connect({ servers: url! });
  await publishEvents(nc, shopEvents(), {
    subjectPrefix: STREAM_SUBJECT,
    format: 'msgpack',
    mode: 'core',
    createStream: 'BENCH',
  });
  await nc.drain();
} else if (mode === 'core-burst') {
  const frames = buildFrames();
  const conn = await natsSocket(new URL(url!));
  process.send!('ready');
  process.on('message', (m: unknown) => {
    if (m === 'exit') {
      conn.socket.end();
      process.disconnect();
    } else if (m === 'go') {
      void burst(conn, frames).then((ms) => process.send!({ ms }));
    }
  });
} else if (mode === 'core-paced') {
  const frames = eventFrames();
  const conn = await natsSocket(new URL(url!));
  process.send!('ready');
  let timer: NodeJS.Timeout | undefined;
  process.on('message', (m: unknown) => {
    if (m === 'exit') {
      clearTimeout(timer);
      conn.socket.end();
      process.disconnect();
    } else if (m === 'go') {
      const started = performance.now();
      const rate = Number(rateArg);
      let sent = 0;
      const tick = (): void => {
        const due = Math.min(frames.length, Math.floor(((performance.now() - started) * rate) / 1000));
        if (due > sent) conn.socket.write(Buffer.concat(frames.slice(sent, due)));
        sent = due;
        if (sent < frames.length) timer = setTimeout(tick, 1);
      };
      tick();
    }
  });
} else {
  throw new Error(`unknown publisher mode ${mode}`);
}

/** One `PUB` frame per event, to be sent as they fall due. */
function eventFrames(): Buffer[] {
  const frames: Buffer[] = [];
  for (const e of shopEvents()) {
    const payload = encodePayload(e, 'msgpack');
    frames.push(
      Buffer.concat([Buffer.from(`PUB ${CORE_SUBJECT}.${e.type} ${payload.length}\r\n`, 'latin1'), payload, CRLF]),
    );
  }
  return frames;
}

/** The events' `PUB <subject> <size>\r\n<payload>\r\n` frames, in chunks of about 1 MiB. */
function buildFrames(): Buffer[] {
  const chunks: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  for (const e of shopEvents()) {
    const payload = encodePayload(e, 'msgpack');
    const head = Buffer.from(`PUB ${CORE_SUBJECT}.${e.type} ${payload.length}\r\n`, 'latin1');
    parts.push(head, Buffer.from(payload.buffer, payload.byteOffset, payload.length), CRLF);
    size += head.length + payload.length + 2;
    if (size >= 1 << 20) {
      chunks.push(Buffer.concat(parts, size));
      parts = [];
      size = 0;
    }
  }
  if (size > 0) chunks.push(Buffer.concat(parts, size));
  return chunks;
}

interface NatsSocket {
  readonly socket: Socket;
  /** Resolves at the server's PONG: everything written before has been processed. */
  ping(): Promise<void>;
}

/** Connects and completes the handshake (INFO, CONNECT, PING/PONG); answers the server's PINGs. */
async function natsSocket(server: URL): Promise<NatsSocket> {
  const socket = tcpConnect(Number(server.port || 4222), server.hostname);
  socket.setNoDelay(true);
  let text = '';
  const pongs: (() => void)[] = [];
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    for (let nl = text.indexOf('\r\n'); nl !== -1; nl = text.indexOf('\r\n')) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 2);
      if (line === 'PING') socket.write('PONG\r\n');
      else if (line === 'PONG') pongs.shift()?.();
      else if (line.startsWith('-ERR')) throw new Error(`nats-server: ${line}`);
    }
  });
  await once(socket, 'connect');
  socket.write(
    'CONNECT {"verbose":false,"pedantic":false,"name":"vigil-bench-publisher","lang":"node","protocol":1}\r\n',
  );
  const ping = (): Promise<void> =>
    new Promise<void>((resolve) => {
      pongs.push(resolve);
      socket.write('PING\r\n');
    });
  await ping();
  return { socket, ping };
}

/** Writes every frame, waiting for the socket to drain when it asks to; then waits until the server has routed them all. */
async function burst(conn: NatsSocket, frames: Buffer[]): Promise<number> {
  const started = performance.now();
  for (const f of frames) {
    if (!conn.socket.write(f)) await once(conn.socket, 'drain');
  }
  await conn.ping();
  return performance.now() - started;
}
