import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts/alert.js';
import { encodePayload } from '../src/edges/encode.js';
import { Engine } from '../src/app/engine.js';
import type { EngineBatch as Batch } from '../src/app/engine.js';
import type { AlertFilter } from '../src/alerts/alert-filter.js';
import { closeCodes, kpiFrame, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, type ServerFrame } from '../src/server/frames.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { wsMessage } from '../src/server/wire.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { testConfig } from './support/engine-harness.js';
import { refusal, StreamClient } from './support/stream-client.js';
import { wants } from './support/stream-filter-oracle.js';

/**
 * The live stream with real `ws` clients on 127.0.0.1, driven by a real engine over the
 * synthetic shop. The oracle for "what should a subscriber get" is the engine's own alerts
 * (recorded by a second sink on the same batches, in the same order, so the n-th alert
 * published has seq n) filtered by a brute-force predicate written out here.
 */
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const FULL = 'f'.repeat(32);
const CARTS = 'c'.repeat(32);

function shopMessages(): RawMessage[] {
  const shop = new SyntheticShop({ seed: 5, customers: 600, products: 800, startTs: START, endTs: START + 150 * DAY });
  const out: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    out.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  return out;
}

function serverConfig(server: Record<string, unknown> = {}) {
  return testConfig({
    // The hub's filters and scopes over customer alerts; demand alerts are judged in demand-alerts.test.ts.
    demand: { alerts: { granularities: [] } },
    server: {
      port: 0,
      logLevel: 'silent',
      tokens: [
        {
          name: 'ops',
          token: FULL,
          scopes: ['stream', 'kpi:read', 'customers:read', 'items:read', 'admin'],
          maxConnections: 20,
        },
        { name: 'carts', token: CARTS, scopes: ['stream'], types: ['cart.abandoned'], maxConnections: 2 },
      ],
      kpiIntervalMs: 100,
      pingIntervalMs: 60_000,
      maxBadFrames: 3,
      ...server,
    },
  });
}

/** The engine, the server and a recorder of every published alert by seq. */
class Rig {
  readonly engine: Engine;
  readonly published: Alert[] = [];
  readonly batches: Batch[] = [];
  server!: OpsServer;
  private at = 0;

  constructor(
    private readonly messages: RawMessage[],
    readonly config = serverConfig(),
  ) {
    this.engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
  }

  async start(): Promise<void> {
    this.server = await startOpsServer({ config: this.config, engine: this.engine });
  }

  /** Runs the next `share` of the shop's messages through the engine and the server; returns the seqs published. */
  async drive(share: number): Promise<{ from: number; to: number }> {
    const end = Math.min(this.messages.length, this.at + Math.ceil(this.messages.length * share));
    const chunk = this.messages.slice(this.at, end).map((m) => ({ ...m, receivedAt: performance.now() }));
    this.at = end;
    const from = this.published.length + 1;
    const recorder = {
      handle: (b: Batch) => void (this.published.push(...b.alerts), b.alerts.length > 0 && this.batches.push(b)),
    };
    await this.engine.run(new InProcessSource(chunk, { name: 'test', batchSize: 256, finite: true }), {
      sinks: [this.server.sink, recorder],
    });
    // The last alerts may still wait for their tick (server.flushIntervalMs): send them now.
    this.server.hub.flush();
    return { from, to: this.published.length };
  }

  /** Alerts with seq in [from, to] that the filter wants, as (seq, id). */
  expected(filter: AlertFilter, from: number, to: number, scope?: ReadonlySet<string>): [number, string][] {
    const out: [number, string][] = [];
    for (let seq = from; seq <= to; seq++)
      if (wants(filter, this.published[seq - 1]!, scope)) out.push([seq, this.published[seq - 1]!.id]);
    return out;
  }
}

const received = (c: StreamClient, sub?: string, from = 1, to = Infinity): [number, string][] =>
  c
    .alerts(sub)
    .filter((f) => f.seq >= from && f.seq <= to)
    .map((f) => [f.seq, f.alert.id]);

describe('the live stream', () => {
  const messages = shopMessages();
  const rig = new Rig(messages);
  const clients: StreamClient[] = [];
  const connect = async (opts: Parameters<typeof StreamClient.connect>[1]) => {
    const c = await StreamClient.connect(rig.server.url, opts);
    clients.push(c);
    return c;
  };

  beforeAll(() => rig.start());
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await rig.server.close();
  });

  it('subscribers with filters receive exactly the matching alerts, in seq order (JSON and msgpack, token scopes)', async () => {
    const filters: { id: string; filter: AlertFilter }[] = [
      { id: 'all', filter: {} },
      { id: 'carts', filter: { types: ['cart.abandoned'] } },
      { id: 'strong', filter: { minSeverity: 'warning', minScore: 0.6 } },
      {
        id: 'valuable',
        filter: {
          segments: ['champions', 'loyal_customers', 'at_risk', 'cant_lose'],
          types: ['churn.risk', 'segment.changed', 'value.tier_changed'],
        },
      },
    ];
    const json = await connect({ token: FULL });
    const msgpack = await connect({ token: FULL, msgpack: true, viaSubprotocol: true });
    expect(json.ws.protocol).toBe(SUBPROTOCOL_JSON);
    expect(msgpack.ws.protocol).toBe(SUBPROTOCOL_MSGPACK);
    for (const { id, filter } of filters) {
      await json.subscribe({ id, filter });
      await msgpack.subscribe({ id, filter });
    }
    // A token scoped to carts, subscribing with no filter, sees carts only.
    const scoped = await connect({ token: CARTS });
    expect((await scoped.next((f): f is Extract<ServerFrame, { type: 'hello' }> => f.type === 'hello')).types).toEqual([
      'cart.abandoned',
    ]);
    await scoped.subscribe({});

    const { from, to } = await rig.drive(0.3);
    expect(to - from).toBeGreaterThan(200);
    await Promise.all([json.sync(), msgpack.sync(), scoped.sync()]);
    for (const { id, filter } of filters) {
      const want = rig.expected(filter, from, to);
      expect(want.length, id).toBeGreaterThan(10);
      if (id !== 'all') expect(want.length, id).toBeLessThan(to - from + 1);
      expect(received(json, id), id).toEqual(want);
      expect(received(msgpack, id), id).toEqual(want);
    }
    expect(received(scoped)).toEqual(rig.expected({}, from, to, new Set(['cart.abandoned'])));
    // Alert frames carry the alert as the engine emitted it.
    const byId = new Map(rig.published.map((a) => [a.id, a]));
    for (const f of json.alerts('all').slice(0, 50))
      expect(f.alert).toEqual(JSON.parse(JSON.stringify(byId.get(f.alert.id))));
  });

  it('a client that reconnects with `since` receives the missed alerts in order, then live ones', async () => {
    const filter: AlertFilter = { types: ['cart.abandoned', 'recommendation.cross_sell'] };
    const first = await connect({ token: FULL });
    await first.subscribe({ filter });
    const a = await rig.drive(0.1);
    await first.sync();
    const last = first.alerts().at(-1)!.seq;
    expect(received(first)).toEqual(rig.expected(filter, a.from, a.to));
    await first.close();

    const missed = await rig.drive(0.1);
    const again = await connect({ token: FULL });
    await again.subscribe({ filter, since: last });
    expect(received(again)).toEqual(rig.expected(filter, last + 1, missed.to));
    expect(again.frames.some((f) => f.type === 'gap')).toBe(false);
    const live = await rig.drive(0.05);
    await again.sync();
    expect(received(again)).toEqual(rig.expected(filter, last + 1, live.to));

    // replay: N gives the newest N matching alerts.
    const replayed = await connect({ token: FULL });
    await replayed.subscribe({ filter, replay: 7 });
    expect(received(replayed)).toEqual(rig.expected(filter, 1, live.to).slice(-7));
  });

  it('kpi frames reach every connection whose token holds kpi:read, before any subscribe, and agree with the engine', async () => {
    const c = await connect({ token: FULL });
    const kpi = kpiFrame.parse(await c.upcoming((f) => f.type === 'kpi'));
    const s = rig.engine.state;
    expect(kpi.customers).toBe(s.store.size);
    expect(kpi.outcomes).toEqual({
      applied: s.counters.applied,
      duplicate: s.counters.duplicate,
      late: s.counters.late,
      rejected: s.counters.rejected,
    });
    expect(kpi.alerts).toEqual(s.alerts!.emitted);
    expect(Object.values(kpi.segments).reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(s.store.size);
    expect(Object.keys(kpi.segments).length).toBeGreaterThan(2);
    // One latency record per live delivery (resumes and replays are not live).
    const t = rig.server.hub.totals();
    expect(kpi.latencyMs.count).toBe(t.delivered - t.resent);
    expect(t.resent).toBeGreaterThan(0);
    expect(kpi.latencyMs.p99).toBeGreaterThanOrEqual(kpi.latencyMs.p50);
    expect(kpi.eventTime).toBe(s.watermark.watermark);
  });

  it('refuses bad tokens, wrong origins and too many connections with plain HTTP before any WebSocket', async () => {
    const before = rig.server.hub.connections.size;
    expect(await refusal(rig.server.url, {})).toEqual({ status: 401, code: 'VIGIL_ERR_AUTH' });
    expect(await refusal(rig.server.url, { token: 'x'.repeat(32) })).toEqual({ status: 401, code: 'VIGIL_ERR_AUTH' });
    expect(await refusal(rig.server.url, { token: FULL.slice(0, 31) + 'g', viaSubprotocol: true })).toEqual({
      status: 401,
      code: 'VIGIL_ERR_AUTH',
    });
    expect(await refusal(rig.server.url, { token: FULL, origin: 'http://evil.example' })).toEqual({
      status: 403,
      code: 'VIGIL_ERR_ORIGIN',
    });
    expect(rig.server.hub.connections.size).toBe(before); // no WebSocket was made for any of them
    const port = new URL(rig.server.url).port;
    const sameOrigin = await connect({ token: FULL, origin: `http://localhost:${port}`, viaSubprotocol: true });
    expect(sameOrigin.ws.protocol).toBe(SUBPROTOCOL_JSON);
    // The carts token may hold two connections: the third is refused, and a slot frees on close.
    await Promise.all(clients.splice(0).map((c) => c.close()));
    const cartsHeld = () => [...rig.server.hub.connections].filter((c) => c.principal.name === 'carts').length;
    await expect.poll(cartsHeld).toBe(0);
    const one = await connect({ token: CARTS });
    const two = await connect({ token: CARTS });
    expect(await refusal(rig.server.url, { token: CARTS })).toEqual({
      status: 429,
      code: 'VIGIL_ERR_CONNECTION_LIMIT',
    });
    await one.close();
    await expect.poll(cartsHeld).toBe(1);
    const three = await connect({ token: CARTS });
    expect(three.closed).toBeUndefined();
    await Promise.all([two.close(), three.close()]);
  });

  it('answers malformed and refused frames with stable error codes, closes a repeat offender with 4002 and an oversized frame with 1009', async () => {
    const c = await connect({ token: CARTS });
    const errors = () => c.frames.filter((f): f is Extract<ServerFrame, { type: 'error' }> => f.type === 'error');
    c.send({ type: 'subscribe', filter: { types: ['churn.risk'] } });
    c.send({ type: 'unsubscribe', id: 'nothing' });
    await c.sync();
    expect(errors().map((e) => e.code)).toEqual([
      'VIGIL_ERR_STREAM_FORBIDDEN_TYPE',
      'VIGIL_ERR_STREAM_UNKNOWN_SUBSCRIPTION',
    ]);
    c.ws.send('{not json');
    c.send({ type: 'subscribe', filter: { minScore: 2 } });
    await c.sync();
    expect(
      errors()
        .slice(2)
        .map((e) => [e.code, e.path]),
    ).toEqual([
      ['VIGIL_ERR_STREAM_BAD_FRAME', undefined],
      ['VIGIL_ERR_STREAM_BAD_FRAME', 'filter.minScore'],
    ]);
    expect(c.closed).toBeUndefined();
    c.send({ type: 'launch' }); // the third malformed frame (maxBadFrames 3)
    expect((await c.closedPromise).code).toBe(closeCodes.protocolError);
    expect(errors().at(-1)!.code).toBe('VIGIL_ERR_STREAM_BAD_FRAME');

    // On a msgpack connection, a binary frame that is not msgpack.
    const mp = await connect({ token: FULL, msgpack: true });
    mp.ws.send(Buffer.from([0xc1, 0x00]));
    const mpError = await mp.next((f): f is Extract<ServerFrame, { type: 'error' }> => f.type === 'error');
    expect([mpError.code, mpError.message]).toEqual(['VIGIL_ERR_STREAM_BAD_FRAME', 'frame is not msgpack']);

    const big = await connect({ token: FULL });
    big.ws.send(JSON.stringify({ type: 'ping', nonce: 'x'.repeat(5000) }));
    expect((await big.closedPromise).code).toBe(closeCodes.messageTooBig);
  });

  it('rations client frames: a burst past twice clientFramesPerSecond is refused, then closed as malformed', async () => {
    const c = await connect({ token: FULL });
    for (let i = 0; i < 40; i++) c.send({ type: 'ping', nonce: String(i) });
    expect((await c.closedPromise).code).toBe(closeCodes.protocolError);
    const pongs = c.frames.filter((f) => f.type === 'pong').length;
    const limited = c.frames.filter((f) => f.type === 'error' && f.code === 'VIGIL_ERR_STREAM_RATE_LIMITED').length;
    // Burst of 2 × 10; refill during the burst is a fraction of a frame unless the machine stalls.
    expect(pongs).toBeGreaterThanOrEqual(20);
    expect(pongs).toBeLessThan(40);
    expect(limited).toBe(3); // maxBadFrames
  });

  it('keeps processing and delivering after all of that', async () => {
    const c = await connect({ token: FULL });
    await c.subscribe({});
    const { from, to } = await rig.drive(1);
    await c.sync();
    expect(to - from).toBeGreaterThan(100);
    expect(received(c)).toEqual(rig.expected({}, from, to));
    expect(rig.engine.state.counters.balanced).toBe(true);
    expect(rig.engine.state.counters.input).toBe(messages.length);
  });
});

describe('resume past the ring, slow consumers and dead peers', () => {
  const messages = shopMessages().slice(0, 60_000);
  const source = new Rig(messages);
  beforeAll(async () => {
    await source.start();
    await source.drive(1);
    await source.server.close();
  });

  it('a `since` that has aged out of the ring gets a gap naming exactly what was lost, then the rest', async () => {
    const rig = new Rig([], serverConfig({ ringCapacity: 50 }));
    await rig.start();
    try {
      for (const b of source.batches) rig.server.sink.handle(b);
      rig.server.hub.flush();
      const total = source.published.length;
      expect(total).toBeGreaterThan(100);
      const c = await StreamClient.connect(rig.server.url, { token: FULL });
      await c.subscribe({ since: 10 });
      const gaps = c.frames.filter((f) => f.type === 'gap');
      expect(gaps).toEqual([{ type: 'gap', sub: 'default', from: 11, to: total - 50, reason: 'aged_out' }]);
      expect(c.alerts().map((f) => f.seq)).toEqual(Array.from({ length: 50 }, (_, i) => total - 49 + i));
      await c.close();
    } finally {
      await rig.server.close();
    }
  });

  it('a resume far larger than the send buffer is paced by the reader: every held alert, in order, no gap, then live', async () => {
    const soft = 16 * 1024;
    const rig = new Rig([], serverConfig({ softBufferBytes: soft, hardBufferBytes: 2 * soft }));
    await rig.start();
    try {
      for (const b of source.batches) rig.server.sink.handle(b);
      rig.server.hub.flush();
      const total = source.published.length;
      const c = await StreamClient.connect(rig.server.url, { token: FULL });
      const tcp = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
      // The client stops reading right after asking: the server must wait for it, not drop or close.
      const done = c.subscribe({ since: 0 });
      tcp.pause();
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      const [conn] = [...rig.server.hub.connections];
      expect(conn!.ws.bufferedAmount).toBeLessThanOrEqual(soft + 4096);
      expect(rig.server.hub.counters.closedTooSlow).toBe(0);
      tcp.resume();
      await done;
      expect(c.frames.filter((f) => f.type === 'gap')).toEqual([]);
      const seqs = c.alerts().map((f) => f.seq);
      expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      // Held alerts far exceed the buffer: the resume really was paced, not sent at once.
      expect(total * 300).toBeGreaterThan(8 * soft);
      // `subscribed` comes after the last resent alert and says how far the client is complete.
      const subscribed = c.frames.find((f) => f.type === 'subscribed');
      expect(subscribed).toMatchObject({ seq: total });
      expect(c.frames.indexOf(subscribed!)).toBeGreaterThan(c.frames.lastIndexOf(c.alerts().at(-1)!));
      // Then live: the next tick's alerts follow without a gap.
      rig.server.sink.handle(source.batches[0]!);
      const last = await c.sync();
      expect(last).toBe(total + source.batches[0]!.alerts.length);
      expect(c.alerts().map((f) => f.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      // A replay of more than the buffer holds is paced the same way.
      const r = await StreamClient.connect(rig.server.url, { token: FULL });
      await r.subscribe({ replay: total });
      expect(r.frames.filter((f) => f.type === 'gap')).toEqual([]);
      expect(r.alerts().map((f) => f.seq)).toEqual(Array.from({ length: total }, (_, i) => last - total + 1 + i));
      await c.close();
      await r.close();
    } finally {
      await rig.server.close();
    }
  });

  it('a stalled client gets gaps then close 4008, while a healthy client on the same server receives every alert', async () => {
    const rig = new Rig([], serverConfig({ softBufferBytes: 64 * 1024, hardBufferBytes: 256 * 1024 }));
    await rig.start();
    try {
      const healthy = await StreamClient.connect(rig.server.url, { token: FULL });
      const stalled = await StreamClient.connect(rig.server.url, { token: FULL });
      await healthy.subscribe({});
      await stalled.subscribe({});
      const tcp = (stalled.ws as unknown as { _socket: import('node:net').Socket })._socket;
      tcp.pause();
      // Re-publish the recorded batches (one tick each, yielding between them so the healthy
      // client reads) until the stalled client's buffer passes the hard limit.
      for (let round = 0; round < 100 && rig.server.hub.counters.closedTooSlow === 0; round++) {
        for (const b of source.batches) {
          rig.server.sink.handle(b);
          rig.server.hub.flush();
          await new Promise((r) => setImmediate(r));
        }
      }
      const hub = rig.server.hub;
      expect(hub.counters.closedTooSlow).toBe(1);
      // Read the backlog now: the server cuts a 4008 connection that has not read it within 5 s.
      tcp.resume();
      const last = await healthy.sync();
      expect(last).toBe(hub.ring.sequence);
      // Every seq, once, in order, and no gap for the healthy one.
      const seqs = healthy.alerts().map((f) => f.seq);
      expect(seqs.length).toBe(last);
      expect(seqs.every((s, i) => s === i + 1)).toBe(true);
      expect(healthy.frames.some((f) => f.type === 'gap')).toBe(false);
      expect(hub.totals().dropped).toBeGreaterThan(0);

      expect((await stalled.closedPromise).code).toBe(closeCodes.tooSlow);
      // What the stalled client read accounts for every seq up to where it was cut: an alert, or a gap.
      let next = 1;
      let gaps = 0;
      for (const f of stalled.frames) {
        if (f.type === 'alert') {
          expect(f.seq).toBe(next);
          next++;
        } else if (f.type === 'gap') {
          expect([f.reason, f.from]).toEqual(['slow_consumer', next]);
          next = f.to + 1;
          gaps++;
        }
      }
      expect(gaps).toBeGreaterThan(0);
      expect(next - 1).toBeLessThanOrEqual(hub.ring.sequence);
      await healthy.close();
    } finally {
      await rig.server.close();
    }
  });

  it('coalesces: batches published within flushIntervalMs of a tick go out together in the next, every seq once and in order', async () => {
    // Buffers large enough for the whole recording in one tick: nothing here is a slow reader.
    const rig = new Rig(
      [],
      serverConfig({ flushIntervalMs: 1000, softBufferBytes: 32 << 20, hardBufferBytes: 64 << 20 }),
    );
    await rig.start();
    try {
      const c = await StreamClient.connect(rig.server.url, { token: FULL });
      await c.subscribe({});
      const hub = rig.server.hub;
      const [first, ...rest] = source.batches;
      // After a quiet spell the first batch's tick runs at once; the rest, in the same turn, wait for one more.
      rig.server.sink.handle(first!);
      expect([hub.counters.ticks, hub.ring.sequence]).toEqual([1, first!.alerts.length]);
      for (const b of rest) rig.server.sink.handle(b);
      expect([hub.counters.ticks, hub.ring.sequence]).toEqual([1, first!.alerts.length]);
      await new Promise((r) => setTimeout(r, 1100));
      expect([hub.counters.ticks, hub.ring.sequence]).toEqual([2, source.published.length]);
      await c.sync();
      const seqs = c.alerts().map((f) => f.seq);
      expect(seqs.length).toBe(source.published.length);
      expect(seqs.every((s, i) => s === i + 1)).toBe(true);
      expect(c.alerts().map((f) => f.alert.id)).toEqual(source.published.map((a) => a.id));
      await c.close();
    } finally {
      await rig.server.close();
    }
  });

  it('terminates a peer that stops answering pings; one that answers stays', async () => {
    const rig = new Rig([], serverConfig({ pingIntervalMs: 1000 })); // generous: the live client must answer within one period
    await rig.start();
    try {
      const alive = await StreamClient.connect(rig.server.url, { token: FULL });
      const dead = await StreamClient.connect(rig.server.url, { token: FULL, autoPong: false });
      expect((await dead.closedPromise).code).toBe(1006);
      expect(rig.server.hub.counters.closedDead).toBe(1);
      expect(alive.closed).toBeUndefined();
      await alive.sync();
      await alive.close();
    } finally {
      await rig.server.close();
    }
  });
});

describe('ready-made WebSocket messages', () => {
  it('ws itself reads back every length class of wsMessage, text and binary', async () => {
    // ws's own frame parser (exported by the package, absent from its type declarations).
    const { Receiver } = (await import('ws')) as unknown as {
      Receiver: new (o: { isServer: boolean; maxPayload: number }) => import('node:stream').Writable;
    };
    for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 200_001]) {
      for (const binary of [false, true]) {
        const payload = Buffer.alloc(n, binary ? 0xab : 0x61);
        const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
        const got = new Promise<[Buffer, boolean]>((resolve) =>
          receiver.on('message', (d: Buffer, b: boolean) => resolve([d, b])),
        );
        receiver.write(wsMessage(payload, binary));
        const [data, isBinary] = await got;
        expect([data.length, isBinary, data.equals(payload)], `${n} ${binary}`).toEqual([n, binary, true]);
      }
    }
  });
});
