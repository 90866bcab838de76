import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload } from '../src/edges/encode.js';
import { Engine } from '../src/app/engine.js';
import { publishEvents } from '../src/edges/nats/publisher.js';
import type { CanonicalEvent } from '../src/core/event.js';
import { DEAD_LETTER_HEADERS, type DeadLetterSink } from '../src/delivery/sinks/dead-letters.js';
import { openSideOutputs } from '../src/delivery/sinks/side-outputs.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { NatsCoreSource } from '../src/edges/nats/nats-core.js';
import { NatsJetStreamSource, type NatsJetStreamSourceOptions } from '../src/edges/nats/nats-jetstream.js';
import type { Source } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { dump, message, runMessages, testConfig } from './support/engine-harness.js';
import { NatsServer } from '../bench/support/nats-server.js';

let server: NatsServer;
let nc: NatsConnection;
const config = testConfig({ nats: { pullBatch: 500 } });

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

function shopEvents(n: number, seed: number): CanonicalEvent[] {
  return new SyntheticShop({ seed, customers: 2000, products: 300, startTs: Date.UTC(2026, 0, 1) }).take(n);
}

/** Runs the engine on a live source until `expected` messages have come in, then ends input. */
async function consumeUntil(
  engine: Engine,
  source: Source,
  expected: number,
  sinks = [] as DeadLetterSink[],
): Promise<void> {
  const running = engine.run(source, { sinks, heartbeatMs: 100 });
  const deadline = Date.now() + 60_000;
  while (engine.state.counters.input < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await source.stop();
  await running;
  // End of input for the comparison: event time reaches the last event, as a replay's end does.
  await engine.run(new InProcessSource([], { name: 'end', batchSize: 1, finite: true }));
}

async function inProcessDump(events: CanonicalEvent[]): Promise<unknown[]> {
  const { engine } = await runMessages(
    config,
    events.map((e) => message(e)),
  );
  return dump(engine);
}

function jetStreamSource(stream: string, subject: string, overrides: Partial<NatsJetStreamSourceOptions> = {}) {
  return new NatsJetStreamSource(nc, jetStreamOptions(stream, subject, overrides));
}

function jetStreamOptions(
  stream: string,
  subject: string,
  overrides: Partial<NatsJetStreamSourceOptions> = {},
): NatsJetStreamSourceOptions {
  return {
    stream,
    consumer: 'vigil',
    subjects: [subject + '.>'],
    createStream: true,
    maxAckPending: 5000,
    ackWaitMs: 30_000,
    pullBatch: 500,
    batchSize: 512,
    ...overrides,
  };
}

describe('NATS ingestion against a real nats-server', () => {
  it('JetStream: 100k events leave exactly the state an in-process replay leaves', async () => {
    const events = shopEvents(100_000, 11);
    const source = jetStreamSource('EQ', 'eq.events');
    await source.ensureConsumer();
    await publishEvents(nc, events, { subjectPrefix: 'eq.events', format: 'msgpack', mode: 'core' });
    const engine = new Engine(config);
    await consumeUntil(engine, source, events.length);
    expect(engine.state.counters.toJSON()).toMatchObject({ input: 100_000, applied: 100_000 });
    expect(dump(engine)).toEqual(await inProcessDump(events));
    const info = await (await jetstreamManager(nc)).consumers.info('EQ', 'vigil');
    expect(info.num_ack_pending).toBe(0);
  }, 120_000);

  it('core NATS: 100k events at a steady 25k/s, none lost, the same state as a replay', async () => {
    const events = shopEvents(100_000, 12);
    const source = new NatsCoreSource(nc, { subjects: ['core.events.>'], batchSize: 512 });
    const engine = new Engine(config);
    const running = consumeUntil(engine, source, events.length);
    await new Promise((r) => setTimeout(r, 200)); // subscribed
    await publishEvents(nc, events, { subjectPrefix: 'core.events', format: 'json', mode: 'core', rate: 25_000 });
    await running;
    expect(engine.state.counters.toJSON()).toMatchObject({ input: 100_000, applied: 100_000 });
    expect(dump(engine)).toEqual(await inProcessDump(events));
  }, 60_000);

  it('JetStream: redeliveries after a nak and after a consumer died before acking are not counted twice', async () => {
    const events = shopEvents(5_000, 13);
    await publishEvents(nc, events, {
      subjectPrefix: 'rd.events',
      format: 'msgpack',
      mode: 'core',
      createStream: 'RD',
    });
    // Days of event time pass in a second here: the id retention covers the whole input.
    const engine = new Engine(testConfig({ dedupe: { retentionMs: 60 * 86_400_000 } }));
    // First consumer: applies what it gets, naks every other message and never acks the rest,
    // as if it crashed before acknowledging.
    let naks = 0;
    class Flaky extends NatsJetStreamSource {
      protected override settle(m: JsMsg): void {
        if (naks % 2 === 0) m.nak();
        naks++;
      }
    }
    // Every nak is a delivery: a message nak'd again and again would pass nats.maxDeliveries and
    // be dead-lettered as poison (side-outputs.test.ts), which is not what this test is about.
    const first = new Flaky(nc, jetStreamOptions('RD', 'rd.events', { ackWaitMs: 1000, maxDeliveries: 1000 }));
    await consumeUntilApplied(engine, first, 5_000);
    // A second consumer on the same durable gets everything unacknowledged again, and acks it.
    const second = jetStreamSource('RD', 'rd.events', { ackWaitMs: 1000, maxDeliveries: 1000 });
    await consumeUntilAllAcked(engine, second, 'RD');
    expect(first.redelivered + second.redelivered).toBeGreaterThanOrEqual(2_500);
    await engine.run(new InProcessSource([], { name: 'end', batchSize: 1, finite: true }));
    const counts = engine.state.counters.toJSON();
    // Nothing counted twice, nothing lost: each event applied once, every redelivery a duplicate.
    expect(counts).toMatchObject({ applied: 5_000, duplicate: counts.input - 5_000, late: 0 });
    expect(dump(engine)).toEqual(await inProcessDump(events));
  }, 60_000);

  it('JetStream, resuming from positions: survives a server restart mid-stream and ends with complete state', async () => {
    const events = shopEvents(40_000, 14);
    const source = jetStreamSource('RS', 'rs.events');
    // As a checkpointed engine runs: deliveries lost with the connection come again from a
    // consumer re-created after the highest sequence handed over, not after ack_wait.
    source.resumeAfter({ afterSeq: 0 });
    await source.ensureConsumer();
    await publishEvents(nc, events.slice(0, 20_000), {
      subjectPrefix: 'rs.events',
      format: 'msgpack',
      mode: 'jetstream',
    });
    const engine = new Engine(config);
    const running = engine.run(source, { heartbeatMs: 100 });
    while (engine.state.counters.input < 5_000) await new Promise((r) => setTimeout(r, 10));
    await server.restart();
    await untilServerAnswers();
    await publishEvents(nc, events.slice(20_000), { subjectPrefix: 'rs.events', format: 'msgpack', mode: 'jetstream' });
    // Generous: a loaded machine has taken over a minute here (the restart, 20k more published, consumed).
    const deadline = Date.now() + 240_000;
    while (engine.state.counters.applied < 40_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await source.stop();
    await running;
    await engine.run(new InProcessSource([], { name: 'end', batchSize: 1, finite: true }));
    expect(engine.state.counters.toJSON()).toMatchObject({ input: 40_000, applied: 40_000 });
    expect(source.reconnects).toBeGreaterThanOrEqual(1);
    expect(dump(engine)).toEqual(await inProcessDump(events));
  }, 360_000);

  it('dead letters: every bad message lands on its reason subject with headers; the good ones are applied', async () => {
    const dlq: {
      subject: string;
      reason: string | undefined;
      path: string | undefined;
      seq: string | undefined;
      bytes: number;
    }[] = [];
    const sub = nc.subscribe('vigil.dlq.>', {
      callback: (_e, m) => {
        dlq.push({
          subject: m.subject,
          reason: m.headers?.get(DEAD_LETTER_HEADERS.reason),
          path: m.headers?.get(DEAD_LETTER_HEADERS.path),
          seq: m.headers?.get(DEAD_LETTER_HEADERS.seq),
          bytes: m.data.length,
        });
      },
    });
    const good = shopEvents(1000, 15);
    const segmentCall = (e: (typeof good)[number], extra: Record<string, unknown>) =>
      encodePayload(
        {
          type: 'track',
          event: 'Product Viewed',
          messageId: `seg-${e.id}`,
          userId: e.customerId,
          timestamp: new Date(e.ts).toISOString(),
          properties: { product_id: 'p1', price: 3 },
          ...extra,
        },
        'json',
      );
    // [bytes, subject, reason, issue path]
    const bad: [Uint8Array, string, string, string][] = [
      [encodePayload(good[0], 'msgpack').slice(0, 10), 'vigil.dlq.decode_msgpack', 'VIGIL_ERR_DECODE_MSGPACK', ''],
      [new TextEncoder().encode('{"id": '), 'vigil.dlq.decode_json', 'VIGIL_ERR_DECODE_JSON', ''],
      [encodePayload({ ...good[1], ts: 'soon' }, 'json'), 'vigil.dlq.schema', 'VIGIL_ERR_SCHEMA', 'ts'],
      [
        encodePayload({ ...good[2], type: 'teleport' }, 'msgpack'),
        'vigil.dlq.unknown_event_type',
        'VIGIL_ERR_UNKNOWN_EVENT_TYPE',
        'type',
      ],
      [new Uint8Array(70_000).fill(0x7b), 'vigil.dlq.payload_too_large', 'VIGIL_ERR_PAYLOAD_TOO_LARGE', ''],
      [segmentCall(good[3]!, { messageId: undefined }), 'vigil.dlq.schema', 'VIGIL_ERR_SCHEMA', 'messageId'],
      [segmentCall(good[4]!, { userId: undefined }), 'vigil.dlq.schema', 'VIGIL_ERR_SCHEMA', 'userId'],
      [
        segmentCall(good[5]!, { event: 'Order Refunded' }),
        'vigil.dlq.segment_unknown_event',
        'VIGIL_ERR_SEGMENT_UNKNOWN_EVENT',
        'event',
      ],
    ];
    // Segment calls that map cleanly are applied like canonical events (each beside the event whose time it takes).
    const goodSegment = good.filter((_, i) => i % 20 === 0).map((e) => segmentCall(e, {}));
    const source = jetStreamSource('DL', 'dl.events');
    await source.ensureConsumer();
    good.forEach((e, i) => {
      nc.publish(`dl.events.${e.type}`, encodePayload(e, 'msgpack'));
      if (i % 125 === 0) nc.publish('dl.events.bad', bad[i / 125]![0]);
      if (i % 20 === 0) nc.publish('dl.events.segment', goodSegment[i / 20]!);
    });
    await nc.flush();
    const engine = new Engine(config);
    const sink = openSideOutputs(nc, config.nats).deadLetters;
    await consumeUntil(engine, source, good.length + goodSegment.length + bad.length, [sink]);
    await nc.flush();
    sub.unsubscribe();
    expect(engine.state.counters.toJSON()).toMatchObject({
      applied: good.length + goodSegment.length,
      rejected: bad.length,
    });
    const sorted = (xs: string[][]) => [...xs].sort((x, y) => x.join().localeCompare(y.join()));
    expect(sorted(dlq.map((d) => [d.subject, d.reason!, d.path ?? '']))).toEqual(
      sorted(bad.map(([, subject, reason, path]) => [subject, reason, path])),
    );
    expect(dlq.every((d) => Number(d.seq) > 0)).toBe(true);
    expect(dlq.map((d) => d.bytes).sort()).toEqual(bad.map(([bytes]) => bytes.length).sort());
  }, 60_000);
});

/** After a restart: the client has reconnected and JetStream answers again. */
async function untilServerAnswers(): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await (await jetstreamManager(nc)).streams.info('RS');
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Consumes until the durable consumer has nothing pending and nothing unacknowledged. */
async function consumeUntilAllAcked(engine: Engine, source: NatsJetStreamSource, stream: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const running = engine.run(source, { heartbeatMs: 100 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const info = await jsm.consumers.info(stream, 'vigil');
    if ((info.num_pending === 0 && info.num_ack_pending === 0) || Date.now() > deadline) break;
  }
  await source.stop();
  await running;
}

describe('vigil publish and vigil start --nats-url', () => {
  it('publish into a new stream, consume it, stop on SIGINT with everything acknowledged', async () => {
    const pub = spawnSync(
      'node',
      [
        'dist/src/app/cli.js',
        'publish',
        '--nats-url',
        server.url,
        '--events',
        '3000',
        '--mode',
        'jetstream',
        '--create-stream',
        'SHOP_EVENTS',
        '--customers',
        '300',
      ],
      { encoding: 'utf8' },
    );
    expect(pub.stderr).toContain('published 3000 messages');
    expect(pub.status).toBe(0);
    const child = spawn('node', ['dist/src/app/cli.js', 'start', '--nats-url', server.url, '--port', '0'], {
      env: process.env,
    });
    let text = '';
    let errText = '';
    let interrupted = false;
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (!interrupted && /applied 3000 /.test(text)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(text).toContain('"applied":3000');
    expect(errText).toContain('jetstream: at least once');
    const info = await (await jetstreamManager(nc)).consumers.info('SHOP_EVENTS', 'vigil');
    expect(info.num_ack_pending).toBe(0);
    expect(info.delivered.stream_seq).toBe(3000);
  }, 60_000);
});

async function consumeUntilApplied(engine: Engine, source: NatsJetStreamSource, applied: number): Promise<void> {
  const running = engine.run(source, { heartbeatMs: 100 });
  const deadline = Date.now() + 30_000;
  while (engine.state.counters.applied < applied && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await source.stop();
  await running;
}
