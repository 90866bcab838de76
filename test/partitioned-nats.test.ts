import { PassThrough } from 'node:stream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo } from '../src/app/cli/start.js';
import { publishEvents } from '../src/edges/nats/publisher.js';
import { StreamClient } from './support/stream-client.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import { PartitionedLiveEngine } from '../src/app/partitions/partitioned-live.js';
import { DEFAULT_PARTITIONS, partitionOfId } from '../src/app/partitions/partition-of.js';
import { Repartitioner } from '../src/app/partitions/repartition.js';
import type { PartitionResult } from '../src/app/partitions/partition-protocol.js';
import { DEAD_LETTER_HEADERS } from '../src/delivery/sinks/dead-letters.js';
import { openSideOutputs } from '../src/delivery/sinks/side-outputs.js';
import { encodePayload } from '../src/edges/encode.js';
import { NatsJetStreamSource } from '../src/edges/nats/nats-jetstream.js';
import type { CanonicalEvent } from '../src/core/event.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { dump, runMessages, testConfig } from './support/engine-harness.js';
import { NatsServer } from '../bench/support/nats-server.js';

/**
 * The live engine on partition workers, through a real nats-server: the same JetStream
 * stream consumed with W = 1, 2 and 4 worker threads gives the same per-customer state and
 * the same alert ids, equal to an in-process replay of the same messages, with every
 * message acknowledged and the bad ones dead-lettered from the main thread.
 */
const WALL_CLOCK = Date.UTC(2030, 0, 1);
const config = testConfig({ nats: { pullBatch: 500 } });
const STREAM = 'PL';
const SUBJECT = 'pl.events';

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

function shopEvents(): CanonicalEvent[] {
  const startTs = Date.UTC(2025, 0, 1);
  const shop = new SyntheticShop({
    seed: 23,
    customers: 1500,
    products: 400,
    startTs,
    endTs: startTs + 5 * 86_400_000,
  });
  const out: CanonicalEvent[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) out.push(e);
  return out;
}

interface Outcome {
  dump: [string, unknown][];
  alertIds: string[];
  counters: { input: number; applied: number; rejected: number };
}

/** `stage`: the alerts of the stage after the shuffle (demand, campaign reports), which no partition holds. */
function outcomeOf(results: PartitionResult[], stage: readonly { id: string }[]): Outcome {
  return {
    dump: results.flatMap((r) => r.dump!).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    alertIds: [...results.flatMap((r) => r.alertIds), ...stage.map((a) => a.id)].sort(),
    counters: {
      input: results.reduce((s, r) => s + r.counters.input, 0),
      applied: results.reduce((s, r) => s + r.counters.applied, 0),
      rejected: results.reduce((s, r) => s + r.counters.rejected, 0),
    },
  };
}

/** The stream as the engine receives it: events (msgpack, every fifth JSON) and a few bad messages among them. */
function payloads(events: CanonicalEvent[]): { subject: string; bytes: Uint8Array }[] {
  const out: { subject: string; bytes: Uint8Array }[] = [];
  events.forEach((e, i) => {
    out.push({ subject: `${SUBJECT}.${e.type}`, bytes: encodePayload(e, i % 5 === 0 ? 'json' : 'msgpack') });
    if (i % 2000 === 1000) out.push({ subject: `${SUBJECT}.bad`, bytes: new TextEncoder().encode('{"id": ') });
  });
  return out;
}

describe('the live engine on partition workers, through nats-server', () => {
  const events = shopEvents();
  const stream = payloads(events);
  const bad = stream.length - events.length;
  let replay: Outcome;
  let singleDump: unknown[];

  beforeAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: [`${SUBJECT}.>`] });
    for (const m of stream) nc.publish(m.subject, m.bytes);
    await nc.flush();
    // Everything stored before any consumer starts: each run reads the same stream.
    const deadline = Date.now() + 60_000;
    while ((await jsm.streams.info(STREAM)).state.messages < stream.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const messages: RawMessage[] = stream.map((m) => ({ bytes: m.bytes, subject: m.subject, receivedAt: 0 }));
    const engine = await PartitionedEngine.start(config, { workers: 1, collectAlerts: true, wallClock: WALL_CLOCK });
    try {
      await engine.feed(messages);
      await engine.finish();
      replay = outcomeOf(await engine.results(true), engine.stageAlerts);
    } finally {
      await engine.close();
    }
    singleDump = dump((await runMessages(config, messages)).engine);
  }, 180_000);

  /** Consumes the whole stream with `workers` threads on a durable consumer of its own. */
  async function consume(workers: number): Promise<Outcome & { delivered: string[]; deadLetters: number[] }> {
    const consumer = `vigil-w${workers}`;
    const source = new NatsJetStreamSource(nc, {
      stream: STREAM,
      consumer,
      subjects: [`${SUBJECT}.>`],
      createStream: false,
      maxAckPending: 5000,
      ackWaitMs: 60_000,
      pullBatch: 500,
      batchSize: 256,
    });
    const deadLetters: number[] = [];
    const dlq = nc.subscribe(`${config.nats.deadLetterPrefix}.>`, {
      callback: (_e, m) => {
        deadLetters.push(Number(m.headers?.get(DEAD_LETTER_HEADERS.seq)));
      },
    });
    const engine = await PartitionedLiveEngine.start(config, { workers, collectAlerts: true, wallClock: WALL_CLOCK });
    const delivered: string[] = [];
    try {
      expect(engine.workers).toBe(workers);
      const running = engine.run(source, {
        heartbeatMs: 100,
        sinks: [
          openSideOutputs(nc, config.nats).deadLetters,
          { handle: (b) => b.alerts.forEach((a) => delivered.push(a.id)) },
        ],
      });
      // Generous: the machine is shared.
      const deadline = Date.now() + 180_000;
      while (engine.front.counters.input < stream.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await source.stop();
      await running;
      await nc.flush();
      const info = await (await jetstreamManager(nc)).consumers.info(STREAM, consumer);
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
      expect(engine.front.counters.toJSON()).toMatchObject({
        input: stream.length,
        applied: events.length,
        rejected: bad,
      });
      expect(engine.front.counters.balanced).toBe(true);
      await engine.endEventTime();
      return { ...outcomeOf(await engine.results(true), engine.stageAlerts), delivered, deadLetters };
    } finally {
      dlq.unsubscribe();
      await engine.close();
    }
  }

  it('W = 1, 2, 4: the same state and alert ids as an in-process replay; acked, bad input dead-lettered', async () => {
    expect(replay.counters).toEqual({ input: stream.length, applied: events.length, rejected: bad });
    // Per-customer state of the partitioned replay is that of the single-threaded engine.
    expect(JSON.stringify(replay.dump.map(([, v]) => v))).toBe(JSON.stringify(singleDump));
    expect(replay.alertIds.length).toBeGreaterThan(100);
    for (const workers of [1, 2, 4]) {
      const live = await consume(workers);
      expect(live.counters).toEqual(replay.counters);
      expect(JSON.stringify(live.dump)).toBe(JSON.stringify(replay.dump));
      expect(live.alertIds).toEqual(replay.alertIds);
      // Alerts reached the sinks on the main thread while the stream ran, once each.
      const delivered = new Set(live.delivered);
      expect(delivered.size).toBe(live.delivered.length);
      expect(delivered.size).toBeGreaterThan(0);
      const all = new Set(replay.alertIds);
      expect(live.delivered.every((id) => all.has(id))).toBe(true);
      // Each bad message dead-lettered once, with its stream sequence.
      expect(live.deadLetters.length).toBe(bad);
      expect(live.deadLetters.every((s) => s > 0)).toBe(true);
    }
  }, 600_000);
});

describe('vigil start --workers on nats-server', () => {
  beforeAll(() => {
    process.env.VIGIL_SERVER__LOG_LEVEL = 'silent';
  });
  afterAll(() => {
    delete process.env.VIGIL_SERVER__LOG_LEVEL;
  });

  it('--workers 2: consumes, acks everything, and streams the alerts over WebSocket from the main thread', async () => {
    const events = shopEvents().slice(0, 6000);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'SHOP_EVENTS', subjects: ['shop.events.>'] });
    process.env.VIGIL_CHECKPOINT__ENABLED = 'false';
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const abort = new AbortController();
    const running = startDemo({ natsUrl: server.url, port: 0, out, signal: abort.signal, workers: '2' });
    let client: StreamClient | undefined;
    try {
      await expect.poll(() => /^vigil ops: /m.test(text), { timeout: 30_000 }).toBe(true);
      const [, url, token] = /^vigil ops: (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)$/m.exec(text)!;
      client = await StreamClient.connect(url!, { token: token! });
      await client.subscribe({});
      await publishEvents(nc, events, { subjectPrefix: 'shop.events', format: 'msgpack', mode: 'jetstream' });
      await expect
        .poll(() => new RegExp(`applied ${events.length} `).test(text), { timeout: 180_000, interval: 200 })
        .toBe(true);
      // Every frame sent so far has arrived (the server closes with the engine).
      await client.sync();
      abort.abort();
      await running;
    } finally {
      delete process.env.VIGIL_CHECKPOINT__ENABLED;
      abort.abort();
      await running.catch(() => {});
      await client?.close();
    }
    expect(text).toContain('the graph runs on 2 worker threads');
    expect(text).toContain(`"applied":${events.length}`);
    const info = await jsm.consumers.info('SHOP_EVENTS', 'vigil');
    expect(info.num_ack_pending).toBe(0);
    expect(info.delivered.stream_seq).toBe(events.length);
    // Every alert the workers emitted reached the stream client, once.
    const emitted = JSON.parse(/^alerts: (.*)$/m.exec(text)![1]!) as Record<string, number>;
    const total = Object.values(emitted).reduce((s, n) => s + n, 0);
    const ids = client.alerts().map((f) => f.alert.id);
    expect(total).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(total);
  }, 300_000);
});

describe('the repartition step', () => {
  /** The shop's visits and product views as a Segment feed would carry them. */
  function segmentFeed(): { userId: string; bytes: Uint8Array }[] {
    const out: { userId: string; bytes: Uint8Array }[] = [];
    for (const e of shopEvents().slice(0, 8000)) {
      const common = { messageId: `seg-${e.id}`, userId: e.customerId, timestamp: new Date(e.ts).toISOString() };
      let call: Record<string, unknown> | undefined;
      if (e.type === 'page_view') call = { ...common, type: 'page', properties: { path: '/' } };
      else if (e.type === 'product_view' || e.type === 'add_to_cart')
        call = {
          ...common,
          type: 'track',
          event: e.type === 'product_view' ? 'Product Viewed' : 'Product Added',
          properties: { product_id: e.productId, ...(e.price !== undefined && { price: e.price }) },
        };
      if (call !== undefined) out.push({ userId: e.customerId, bytes: encodePayload(call, 'json') });
    }
    return out;
  }

  async function consumed(stream: string, subject: string): Promise<Outcome> {
    const source = new NatsJetStreamSource(nc, {
      stream,
      consumer: 'vigil',
      subjects: [subject],
      createStream: false,
      maxAckPending: 5000,
      ackWaitMs: 60_000,
      pullBatch: 500,
      batchSize: 256,
    });
    const engine = await PartitionedLiveEngine.start(config, {
      workers: 2,
      collectAlerts: true,
      wallClock: WALL_CLOCK,
    });
    try {
      const running = engine.run(source, { heartbeatMs: 100 });
      const total = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
      const deadline = Date.now() + 120_000;
      while (engine.front.counters.input < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await source.stop();
      await running;
      await engine.endEventTime();
      return outcomeOf(await engine.results(true), engine.stageAlerts);
    } finally {
      await engine.close();
    }
  }

  it('a Segment feed on one subject, repartitioned, gives the state of the same feed published pre-partitioned', async () => {
    const feed = segmentFeed();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'SEG_IN', subjects: ['seg.in'] });
    await jsm.streams.add({ name: 'SEG_PART', subjects: ['seg.part.>'] });
    await jsm.streams.add({ name: 'SEG_PRE', subjects: ['seg.pre.>'] });
    for (const f of feed) {
      nc.publish('seg.in', f.bytes);
      nc.publish(`seg.pre.${partitionOfId(f.userId, DEFAULT_PARTITIONS)}.in`, f.bytes);
    }
    await nc.flush();
    const stored = async (stream: string) => (await jsm.streams.info(stream)).state.messages;
    await expect.poll(() => stored('SEG_PRE'), { timeout: 60_000 }).toBe(feed.length);
    await expect.poll(() => stored('SEG_IN'), { timeout: 60_000 }).toBe(feed.length);

    const options = {
      stream: 'SEG_IN',
      subject: 'seg.in',
      prefix: 'seg.part',
      partitions: DEFAULT_PARTITIONS,
      maxPayloadBytes: config.limits.maxPayloadBytes,
    };
    const first = new Repartitioner(nc, { ...options, consumer: 'repartition' });
    const running = first.run();
    await expect.poll(() => first.republished, { timeout: 120_000, interval: 100 }).toBe(feed.length);
    first.stop();
    await running;
    // A second run from the feed's start (as after a crash that lost every ack): all duplicates.
    const again = new Repartitioner(nc, { ...options, consumer: 'repartition-again' });
    const rerun = again.run();
    await expect.poll(() => again.duplicates, { timeout: 120_000, interval: 100 }).toBe(feed.length);
    again.stop();
    await rerun;
    expect(again.republished).toBe(0);
    expect(await stored('SEG_PART')).toBe(feed.length);
    // Each republished message is on its customer's partition subject.
    const sub = await jsm.streams.getMessage('SEG_PART', { seq: 1 });
    expect(sub?.subject).toBe(`seg.part.${partitionOfId(feed[0]!.userId, DEFAULT_PARTITIONS)}.in`);

    const repartitioned = await consumed('SEG_PART', 'seg.part.>');
    const pre = await consumed('SEG_PRE', 'seg.pre.>');
    expect(repartitioned.counters).toEqual({ input: feed.length, applied: feed.length, rejected: 0 });
    expect(JSON.stringify(repartitioned.dump)).toBe(JSON.stringify(pre.dump));
    expect(repartitioned.alertIds).toEqual(pre.alertIds);
    // And the state of the single-threaded engine on the feed as it came.
    const single = dump(
      (
        await runMessages(
          config,
          feed.map((f) => ({ bytes: f.bytes, subject: 'seg.in', receivedAt: 0 })),
        )
      ).engine,
    );
    expect(JSON.stringify(repartitioned.dump.map(([, v]) => v))).toBe(JSON.stringify(single));
  }, 400_000);
});
