import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstreamManager, type JetStreamManager, type JsMsg, type StoredMsg } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '../bench/support/nats-server.js';
import { encodePayload } from '../src/edges/encode.js';
import type { VigilConfig } from '../src/app/config/schema.js';
import { startDemo } from '../src/app/cli/start.js';
import { Engine, type EngineSink as BatchSink } from '../src/app/engine.js';
import type { CanonicalEvent } from '../src/core/event.js';
import { startOpsServer } from '../src/server/ops-server.js';
import { TRUNCATION_HEADERS } from '../src/delivery/sinks/confirmed-publisher.js';
import { DEAD_LETTER_HEADERS } from '../src/delivery/sinks/dead-letters.js';
import { LATE_HEADERS } from '../src/delivery/sinks/late-events.js';
import { openSideOutputs, type SideOutputs } from '../src/delivery/sinks/side-outputs.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { NatsJetStreamSource, type NatsJetStreamSourceOptions } from '../src/edges/nats/nats-jetstream.js';
import type { StateSignal } from '../src/state/signals.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { dump, message, runMessages, testConfig } from './support/engine-harness.js';

/**
 * Side outputs against a real nats-server: late events on their subject, dead letters
 * confirmed by their stream (back-pressure when it is full, truncation past max_payload),
 * and poison messages dead-lettered instead of stopping the engine. In every test the
 * counters add up: applied + duplicate + late + rejected = input.
 */
let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

/** Each test its own subjects: `<p>.events.>` in, `<p>.dlq.<reason>` and `<p>.late.<type>` out. */
function configFor(p: string, nats: Record<string, unknown> = {}): VigilConfig {
  return testConfig({
    nats: {
      deadLetterPrefix: `${p}.dlq`,
      lateSubjectPrefix: `${p}.late`,
      outputRetry: { baseMs: 20, maxMs: 200 },
      ...nats,
    },
    server: { port: 0, logLevel: 'silent' },
  });
}

function sourceOptions(p: string): NatsJetStreamSourceOptions {
  return {
    stream: p.toUpperCase(),
    consumer: 'vigil',
    subjects: [`${p}.events.>`],
    createStream: true,
    maxAckPending: 5000,
    ackWaitMs: 60_000,
    pullBatch: 500,
    batchSize: 64,
  };
}

function sourceFor(p: string, overrides: Partial<NatsJetStreamSourceOptions> = {}): NatsJetStreamSource {
  return new NatsJetStreamSource(nc, { ...sourceOptions(p), ...overrides });
}

function shopEvents(n: number, seed: number): CanonicalEvent[] {
  return new SyntheticShop({ seed, customers: 300, products: 100, startTs: Date.UTC(2026, 0, 1) }).take(n);
}

/** Publishes payloads in order (one connection keeps the order, so the i-th gets stream sequence i + 1). */
async function publishAll(p: string, payloads: readonly (readonly [string, Uint8Array])[]): Promise<void> {
  await jsm.streams.add({ name: p.toUpperCase(), subjects: [`${p}.events.>`] });
  for (const [type, bytes] of payloads) nc.publish(`${p}.events.${type}`, bytes);
  await nc.flush();
}

async function storedMessages(stream: string): Promise<StoredMsg[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m !== null) out.push(m);
  }
  return out;
}

/** Runs the engine on the source until the durable consumer has nothing pending or unacknowledged. */
async function runUntilAllAcked(
  engine: Engine,
  source: NatsJetStreamSource,
  stream: string,
  sinks: readonly BatchSink[],
  afterStart?: () => Promise<void>,
): Promise<void> {
  const running = engine.run(source, { sinks, heartbeatMs: 100 });
  await source.ensureConsumer();
  await afterStart?.();
  await expect
    .poll(
      async () => {
        const info = await jsm.consumers.info(stream, 'vigil');
        return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq > 0;
      },
      { timeout: 60_000, interval: 100 },
    )
    .toBe(true);
  await source.stop();
  await running;
}

function expectBalanced(engine: Engine): void {
  const c = engine.state.counters;
  expect(c.input).toBe(c.applied + c.duplicate + c.late + c.rejected);
}

async function replayDump(config: VigilConfig, events: CanonicalEvent[]): Promise<unknown[]> {
  const { engine } = await runMessages(
    config,
    events.map((e) => message(e)),
  );
  return dump(engine);
}

/** End of input after a live run, as a replay's end: event time reaches the last event. */
async function endInput(engine: Engine): Promise<void> {
  await engine.run(new InProcessSource([], { name: 'end', batchSize: 1, finite: true }));
}

describe('side outputs on a real nats-server', () => {
  it('late events go to <prefix>.<type> with their original bytes and headers, confirmed by their stream', async () => {
    const p = 'le';
    const config = configFor(p, { requireCaptureStream: true });
    await jsm.streams.add({ name: 'LE_LATE', subjects: [`${p}.late.>`] });
    await jsm.streams.add({ name: 'LE_DLQ', subjects: [`${p}.dlq.>`] });
    const events = shopEvents(2000, 21);
    const maxTs = Math.max(...events.map((e) => e.ts));
    // Two hours behind the last event: far past the allowed lateness (5 min) once the watermark is there.
    const late = events.slice(0, 30).map((e, k) => ({ ...e, id: `late-${k}`, ts: maxTs - 2 * 3_600_000 }));
    const payloads = [...events, ...late].map((e) => [e.type, encodePayload(e, 'msgpack')] as const);
    await publishAll(p, payloads);
    const engine = new Engine(config);
    const outputs = openSideOutputs(nc, config.nats, () => {});
    await runUntilAllAcked(engine, sourceFor(p), 'LE', outputs.sinks);
    expect(engine.state.counters.toJSON()).toMatchObject({
      input: 2030,
      applied: 2000,
      late: 30,
      duplicate: 0,
      rejected: 0,
    });
    expectBalanced(engine);
    const stored = await storedMessages('LE_LATE');
    expect(stored).toHaveLength(30);
    expect(outputs.publisher.stats()).toMatchObject({ confirmed: 30, unconfirmed: 0, blocked: false });
    for (const m of stored) {
      const seq = Number(m.header.get(LATE_HEADERS.seq));
      const k = seq - 2001; // the late events were published after the 2000 others
      expect(k).toBeGreaterThanOrEqual(0);
      expect(m.subject).toBe(`${p}.late.${late[k]!.type}`);
      expect(m.data).toEqual(payloads[seq - 1]![1]);
      expect(m.header.get(LATE_HEADERS.reason)).toBe('late');
      expect(m.header.get(LATE_HEADERS.subject)).toBe(`${p}.events.${late[k]!.type}`);
      const watermark = Number(m.header.get(LATE_HEADERS.watermark));
      expect(Number(m.header.get(LATE_HEADERS.latenessMs))).toBe(watermark - late[k]!.ts);
      expect(watermark - late[k]!.ts).toBeGreaterThan(config.eventTime.allowedLatenessMs);
    }
    expect(new Set(stored.map((m) => m.header.get(LATE_HEADERS.seq))).size).toBe(30);
  }, 120_000);

  it('a full dead-letter stream (discard new) holds input back (not acked, /readyz 503) and loses nothing once space returns', async () => {
    const p = 'fu';
    const config = configFor(p, { requireCaptureStream: true });
    // Full at 5 messages, refusing more (discard new). A max_bytes limit is not used: nats-server
    // 2.9.10 acknowledged publishes past it and then dropped the oldest messages (seen here).
    await jsm.streams.add({ name: 'FU_DLQ', subjects: [`${p}.dlq.>`], max_msgs: 5, discard: DiscardPolicy.New });
    await jsm.streams.add({ name: 'FU_LATE', subjects: [`${p}.late.>`] });
    const good = shopEvents(1000, 22);
    const payloads: [string, Uint8Array][] = [];
    good.forEach((e, i) => {
      if (i % 25 === 0) payloads.push(['bad', new TextEncoder().encode(`{"id": ${i}`)]);
      payloads.push([e.type, encodePayload(e, 'msgpack')]);
    });
    await publishAll(p, payloads);
    const engine = new Engine(config);
    const logs: string[] = [];
    const outputs = openSideOutputs(nc, config.nats, (l) => logs.push(l));
    const ops = await startOpsServer({
      config,
      engine,
      readiness: { sourceConnected: () => true, stateReady: () => true, outputsFlowing: outputs.flowing },
    });
    outputs.registerMetrics(ops.metrics.registry);
    const readyz = async () => {
      const r = await fetch(`${ops.url}/readyz`);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    try {
      await runUntilAllAcked(engine, sourceFor(p), 'FU', outputs.sinks, async () => {
        await expect.poll(() => outputs.publisher.stats().blocked, { timeout: 30_000, interval: 50 }).toBe(true);
        // Held back: input after the refused dead letters is not acknowledged.
        await new Promise((r) => setTimeout(r, 500));
        const consumer = await jsm.consumers.info('FU', 'vigil');
        expect(consumer.ack_floor.stream_seq).toBeLessThan(payloads.length);
        expect(consumer.num_ack_pending).toBeGreaterThan(0);
        expect((await jsm.streams.info('FU_DLQ')).state).toMatchObject({ messages: 5, first_seq: 1 });
        expect(await readyz()).toEqual({
          status: 503,
          body: { status: 'not_ready', sourceConnected: true, stateReady: true, outputsFlowing: false },
        });
        expect(await ops.metrics.text()).toMatch(/^vigil_side_outputs_blocked 1$/m);
        expect(logs.join('\n')).toContain('input is not acknowledged until they are stored');
        // Space returns.
        await jsm.streams.update('FU_DLQ', { max_msgs: -1 });
      });
      expect((await readyz()).status).toBe(200);
      expect(await ops.metrics.text()).toMatch(/^vigil_side_outputs_blocked 0$/m);
    } finally {
      await ops.close();
    }
    expect(engine.state.counters.toJSON()).toMatchObject({
      input: 1040,
      applied: 1000,
      rejected: 40,
      duplicate: 0,
      late: 0,
      rejectedBy: { VIGIL_ERR_DECODE_JSON: 40 },
    });
    expectBalanced(engine);
    const stored = await storedMessages('FU_DLQ');
    // Every dead letter is there, once (retries carry Nats-Msg-Id), with its original bytes.
    expect(stored).toHaveLength(40);
    const seqs = stored.map((m) => Number(m.header.get(DEAD_LETTER_HEADERS.seq))).sort((a, b) => a - b);
    const expectedSeqs = payloads.flatMap(([type], i) => (type === 'bad' ? [i + 1] : []));
    expect(seqs).toEqual(expectedSeqs);
    for (const m of stored) expect(m.data).toEqual(payloads[Number(m.header.get(DEAD_LETTER_HEADERS.seq)) - 1]![1]);
    expect(outputs.publisher.stats()).toMatchObject({ confirmed: 40, blocked: false });
    expect(outputs.publisher.stats().refused).toBeGreaterThan(0);
    expect(logs.join('\n')).toContain('stored again');
  }, 120_000);

  it('a dead letter over max_payload is sent truncated with its size and SHA-256; the good events behind it are applied', async () => {
    const p = 'ov';
    const config = configFor(p);
    await jsm.streams.add({ name: 'OV_DLQ', subjects: [`${p}.dlq.>`] });
    const maxPayload = nc.info!.max_payload;
    // 100 bytes under max_payload: it fits the input stream, its dead letter (headers added) does not.
    const big = new Uint8Array(maxPayload - 100).fill(0x7b);
    big.set(new TextEncoder().encode('{"id":"x"'), 0);
    const good = shopEvents(1000, 23);
    await publishAll(p, [['big', big], ...good.map((e) => [e.type, encodePayload(e, 'msgpack')] as const)]);
    const engine = new Engine(config);
    const outputs = openSideOutputs(nc, config.nats, () => {});
    await runUntilAllAcked(engine, sourceFor(p), 'OV', outputs.sinks);
    expect(engine.state.counters.toJSON()).toMatchObject({
      input: 1001,
      applied: 1000,
      rejected: 1,
      rejectedBy: { VIGIL_ERR_PAYLOAD_TOO_LARGE: 1 },
    });
    expectBalanced(engine);
    const [dl, ...rest] = await storedMessages('OV_DLQ');
    expect(rest).toHaveLength(0);
    expect(dl!.subject).toBe(`${p}.dlq.payload_too_large`);
    expect(dl!.header.get(TRUNCATION_HEADERS.size)).toBe(String(big.length));
    expect(dl!.header.get(TRUNCATION_HEADERS.sha256)).toBe(createHash('sha256').update(big).digest('hex'));
    expect(dl!.data.length).toBeLessThan(big.length);
    expect(dl!.data.length).toBeGreaterThan(big.length - 1024);
    // A prefix of the original (Buffer.equals: a deep toEqual over a MiB of elements takes seconds).
    expect(Buffer.from(dl!.data).equals(big.subarray(0, dl!.data.length))).toBe(true);
    expect(outputs.publisher.stats()).toMatchObject({ truncated: 1, confirmed: 1, refused: 0 });
    await endInput(engine);
    expect(dump(engine)).toEqual(await replayDump(config, good));
  }, 120_000);

  it('an event whose processing throws is dead-lettered as VIGIL_ERR_POISON and the engine goes on', async () => {
    const p = 'po';
    const config = configFor(p);
    await jsm.streams.add({ name: 'PO_DLQ', subjects: [`${p}.dlq.>`] });
    const good = shopEvents(1000, 24);
    // Same time as its neighbour, so the watermark it moves is the one the neighbour moves anyway.
    const poison: CanonicalEvent = { ...good[500]!, id: 'poison-1', customerId: 'poison-customer' };
    const payloads = [...good.slice(0, 500), poison, ...good.slice(500)].map(
      (e) => [e.type, encodePayload(e, 'msgpack')] as const,
    );
    await publishAll(p, payloads);
    const engine = new Engine(config);
    // A keyed-state failure on one customer's event, before it changes anything.
    const store = engine.state.store as unknown as { apply(e: CanonicalEvent, out: StateSignal[]): number };
    const apply = store.apply.bind(store);
    store.apply = (e, out) => {
      if (e.customerId === 'poison-customer') throw new Error('keyed state failed');
      return apply(e, out);
    };
    const outputs = openSideOutputs(nc, config.nats, () => {});
    await runUntilAllAcked(engine, sourceFor(p), 'PO', outputs.sinks);
    expect(engine.state.counters.toJSON()).toMatchObject({
      input: 1001,
      applied: 1000,
      rejected: 1,
      rejectedBy: { VIGIL_ERR_POISON: 1 },
    });
    expectBalanced(engine);
    const stored = await storedMessages('PO_DLQ');
    expect(
      stored.map((m) => [m.subject, m.header.get(DEAD_LETTER_HEADERS.reason), m.header.get(DEAD_LETTER_HEADERS.seq)]),
    ).toEqual([[`${p}.dlq.poison`, 'VIGIL_ERR_POISON', '501']]);
    expect(stored[0]!.data).toEqual(payloads[500]![1]);
    await endInput(engine);
    expect(dump(engine)).toEqual(await replayDump(config, good));
  }, 120_000);

  it('a message delivered more than nats.maxDeliveries times is dead-lettered as VIGIL_ERR_POISON, unprocessed', async () => {
    const p = 'md';
    const config = configFor(p, { maxDeliveries: 2 });
    await jsm.streams.add({ name: 'MD_DLQ', subjects: [`${p}.dlq.>`] });
    const events = shopEvents(20, 25);
    await publishAll(
      p,
      events.map((e) => [e.type, encodePayload(e, 'msgpack')] as const),
    );
    const engine = new Engine(config);
    const outputs = openSideOutputs(nc, config.nats, () => {});
    // A consumer that dies before acknowledging anything, each time: every message comes back.
    class NeverAcks extends NatsJetStreamSource {
      protected override settle(_m: JsMsg): void {}
    }
    const deliveries = new Map<number, number>();
    const counting: BatchSink = {
      handle: (b) => b.messages.forEach((m) => deliveries.set(m.seq!, (deliveries.get(m.seq!) ?? 0) + 1)),
    };
    const first = new NeverAcks(nc, { ...sourceOptions(p), ackWaitMs: 1000, maxDeliveries: 2 });
    const running = engine.run(first, { sinks: [...outputs.sinks, counting], heartbeatMs: 100 });
    await expect
      .poll(() => deliveries.size === 20 && [...deliveries.values()].every((n) => n >= 2), {
        timeout: 30_000,
        interval: 50,
      })
      .toBe(true);
    await first.stop();
    await running;
    // The next delivery of each is its third: rejected before decoding, dead-lettered, acknowledged.
    await runUntilAllAcked(engine, sourceFor(p, { ackWaitMs: 1000, maxDeliveries: 2 }), 'MD', outputs.sinks);
    const c = engine.state.counters;
    expect(c.applied).toBe(20);
    expect(c.rejected).toBeGreaterThanOrEqual(20);
    expect(c.toJSON().rejectedBy).toEqual({ VIGIL_ERR_POISON: c.rejected });
    expectBalanced(engine);
    const stored = await storedMessages('MD_DLQ');
    // One dead letter per message, however often it was rejected (Nats-Msg-Id).
    expect(stored.map((m) => Number(m.header.get(DEAD_LETTER_HEADERS.seq))).sort((a, b) => a - b)).toEqual(
      events.map((_, i) => i + 1),
    );
    expect(stored.every((m) => m.header.get(DEAD_LETTER_HEADERS.reason) === 'VIGIL_ERR_POISON')).toBe(true);
    await endInput(engine);
    expect(dump(engine)).toEqual(await replayDump(config, events));
  }, 120_000);

  it('with no capture stream and requireCaptureStream off, dead letters go out on core NATS, counted unconfirmed', async () => {
    const p = 'nc';
    const config = configFor(p);
    const seen: string[] = [];
    const sub = nc.subscribe(`${p}.dlq.>`, { callback: (_e, m) => void seen.push(m.subject) });
    const good = shopEvents(100, 26);
    await publishAll(p, [
      ['bad', new TextEncoder().encode('{"id": ')],
      ...good.map((e) => [e.type, encodePayload(e, 'msgpack')] as const),
    ]);
    const engine = new Engine(config);
    const logs: string[] = [];
    const outputs: SideOutputs = openSideOutputs(nc, config.nats, (l) => logs.push(l));
    await runUntilAllAcked(engine, sourceFor(p), 'NC', outputs.sinks);
    await nc.flush();
    sub.unsubscribe();
    expect(engine.state.counters.toJSON()).toMatchObject({ input: 101, applied: 100, rejected: 1 });
    expectBalanced(engine);
    expect(seen).toEqual([`${p}.dlq.decode_json`]);
    expect(outputs.publisher.stats()).toMatchObject({ confirmed: 0, unconfirmed: 1, blocked: false });
    expect(logs.filter((l) => l.includes('unconfirmed'))).toHaveLength(1);
  }, 60_000);

  it('vigil start: a bad message just under max_payload (no capture stream) no longer stops the engine; the events behind it are applied', async () => {
    const p = 'cl';
    const dir = mkdtempSync(join(tmpdir(), 'vigil-side-'));
    const configFile = join(dir, 'config.json');
    const nats = {
      stream: 'CL',
      subjects: [`${p}.events.>`],
      deadLetterPrefix: `${p}.dlq`,
      lateSubjectPrefix: `${p}.late`,
    };
    writeFileSync(configFile, JSON.stringify({ nats, server: { logLevel: 'silent' } }));
    const seen: number[] = [];
    const sub = nc.subscribe(`${p}.dlq.>`, { callback: (_e, m) => void seen.push(m.data.length) });
    const big = new Uint8Array(nc.info!.max_payload - 100).fill(0x7b);
    const good = shopEvents(1000, 27);
    await publishAll(p, [['big', big], ...good.map((e) => [e.type, encodePayload(e, 'msgpack')] as const)]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const abort = new AbortController();
    const running = startDemo({
      configFile,
      natsUrl: server.url,
      mode: 'jetstream',
      port: 0,
      out,
      signal: abort.signal,
    });
    try {
      await expect
        .poll(
          async () => {
            const info = await jsm.consumers.info('CL', 'vigil').catch(() => undefined);
            return (
              info !== undefined &&
              info.num_pending === 0 &&
              info.num_ack_pending === 0 &&
              info.delivered.stream_seq === 1001
            );
          },
          { timeout: 60_000, interval: 100 },
        )
        .toBe(true);
    } finally {
      abort.abort();
      await running;
      sub.unsubscribe();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(text).toContain('"input":1001,"applied":1000,"duplicate":0,"late":0,"rejected":1');
    expect(text).toContain('balanced=true');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeLessThan(big.length);
  }, 120_000);
});
