import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts/alert.js';
import type { AlertFilter } from '../src/alerts/alert-filter.js';
import { Engine, type EngineBatch as Batch } from '../src/app/engine.js';
import { openErasure, type OpenErasure } from '../src/app/erasure/wiring.js';
import { PartitionedLiveEngine } from '../src/app/partitions/partitioned-live.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { encodePayload } from '../src/edges/encode.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { MAX_PENDING_ALERTS, ProcessFanout } from '../src/server/fanout/process-fanout.js';
import { closeCodes, SUBPROTOCOL_MSGPACK } from '../src/server/frames.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { testConfig } from './support/engine-harness.js';
import { httpRequest } from './support/http-request.js';
import { refusal, StreamClient } from './support/stream-client.js';
import { wants } from './support/stream-filter-oracle.js';

/**
 * `server.fanout: process`: the real ops server hands each admitted upgrade's socket to its
 * fan-out child process, real `ws` clients on 127.0.0.1. The oracle for what a subscriber
 * gets is the engine's own alerts, recorded by a second sink on the same batches (the n-th
 * alert posted has seq n), filtered by a brute-force predicate. Nothing here is timed: a
 * client's `sync()` (ping → pong through the child) orders what it has received.
 */
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const FULL = 'f'.repeat(32);
const CARTS = 'c'.repeat(32);
const NO_STREAM = 'n'.repeat(32);

function shopMessages(customers: number, days: number): RawMessage[] {
  const shop = new SyntheticShop({ seed: 5, customers, products: 800, startTs: START, endTs: START + days * DAY });
  const out: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    out.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  return out;
}

function fanoutConfig(server: Record<string, unknown> = {}, more: Record<string, unknown> = {}) {
  return testConfig({
    demand: { alerts: { granularities: [] } },
    server: {
      port: 0,
      logLevel: 'silent',
      fanout: 'process',
      tokens: [
        { name: 'ops', token: FULL, scopes: ['stream', 'kpi:read', 'customers:read', 'admin'], maxConnections: 20 },
        { name: 'carts', token: CARTS, scopes: ['stream'], types: ['cart.abandoned'], maxConnections: 2 },
        { name: 'api', token: NO_STREAM, scopes: ['customers:read'], maxConnections: 2 },
      ],
      kpiIntervalMs: 100,
      pingIntervalMs: 60_000,
      ...server,
    },
    ...more,
  });
}

/** The engine, the server (fan-out in its child) and a recorder of every posted alert by seq. */
class Rig {
  readonly engine: Engine;
  readonly published: Alert[] = [];
  readonly batches: Batch[] = [];
  server!: OpsServer;
  private at = 0;

  constructor(
    private readonly messages: RawMessage[],
    readonly config = fanoutConfig(),
  ) {
    this.engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
  }

  async start(erasure?: OpenErasure): Promise<void> {
    this.server = await startOpsServer({
      config: this.config,
      engine: this.engine,
      ...(erasure && { erasure: erasure.erasure }),
    });
  }

  get fanout(): ProcessFanout {
    return this.server.fanout as ProcessFanout;
  }

  /** Runs the next `share` of the messages through the engine and the server; returns the seqs posted. */
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
    // The last alerts may wait for their tick in the child: send them now.
    this.server.fanout.flush();
    return { from, to: this.published.length };
  }

  expected(filter: AlertFilter, from: number, to: number, scope?: ReadonlySet<string>): [number, string][] {
    const out: [number, string][] = [];
    for (let seq = from; seq <= to; seq++)
      if (wants(filter, this.published[seq - 1]!, scope)) out.push([seq, this.published[seq - 1]!.id]);
    return out;
  }
}

const received = (c: StreamClient, sub?: string): [number, string][] => c.alerts(sub).map((f) => [f.seq, f.alert.id]);

describe('the stream with its fan-out in a child process', () => {
  const rig = new Rig(shopMessages(600, 150));
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

  it('refuses bad upgrades on the main thread, before any WebSocket exists (401/403/404)', async () => {
    expect(rig.server.fanout).toBeInstanceOf(ProcessFanout);
    expect(() => rig.server.hub).toThrow(/fanout is process/);
    const url = rig.server.url;
    expect(await refusal(url, {})).toEqual({ status: 401, code: 'VIGIL_ERR_AUTH' });
    expect(await refusal(url, { token: 'x'.repeat(32) })).toEqual({ status: 401, code: 'VIGIL_ERR_AUTH' });
    expect(await refusal(url, { token: NO_STREAM })).toEqual({ status: 403, code: 'VIGIL_ERR_FORBIDDEN_SCOPE' });
    expect(await refusal(url, { token: FULL, origin: 'http://evil.example' })).toEqual({
      status: 403,
      code: 'VIGIL_ERR_ORIGIN',
    });
    await rig.server.fanout.sync();
    // None of them reached the child.
    expect(rig.server.fanout.clients).toBe(0);
    const metrics = await httpRequest(url, '/metrics', { authorization: `Bearer ${FULL}` });
    expect(metrics.body).toMatch(/vigil_http_refused_total\{code="VIGIL_ERR_AUTH"\} 2/);
  });

  it('subscribers with filters receive exactly the matching alerts, in seq order (JSON, msgpack, token scope)', async () => {
    const filters: { id: string; filter: AlertFilter }[] = [
      { id: 'all', filter: {} },
      { id: 'carts', filter: { types: ['cart.abandoned'] } },
      { id: 'strong', filter: { minSeverity: 'warning', minScore: 0.6 } },
    ];
    const json = await connect({ token: FULL });
    const msgpack = await connect({ token: FULL, msgpack: true, viaSubprotocol: true });
    expect(msgpack.ws.protocol).toBe(SUBPROTOCOL_MSGPACK);
    for (const { id, filter } of filters) {
      await json.subscribe({ id, filter });
      await msgpack.subscribe({ id, filter });
    }
    const scoped = await connect({ token: CARTS });
    await scoped.subscribe({});
    await rig.server.fanout.sync();
    expect(rig.server.fanout.clients).toBe(3);

    const { from, to } = await rig.drive(0.3);
    expect(to - from).toBeGreaterThan(200);
    await Promise.all([json.sync(), msgpack.sync(), scoped.sync()]);
    for (const { id, filter } of filters) {
      const want = rig.expected(filter, from, to);
      expect(want.length, id).toBeGreaterThan(10);
      expect(received(json, id), id).toEqual(want);
      expect(received(msgpack, id), id).toEqual(want);
    }
    expect(received(scoped)).toEqual(rig.expected({}, from, to, new Set(['cart.abandoned'])));
    const byId = new Map(rig.published.map((a) => [a.id, a]));
    for (const f of json.alerts('all').slice(0, 50))
      expect(f.alert).toEqual(JSON.parse(JSON.stringify(byId.get(f.alert.id))));

    // The child's counters and latency reach the main thread's /metrics.
    await rig.server.fanout.sync();
    const totals = rig.server.fanout.totals();
    expect(totals.published).toBe(to);
    expect(rig.server.fanout.sequence).toBe(to);
    const deliveries =
      2 *
        (rig.expected({}, from, to).length +
          rig.expected(filters[1]!.filter, from, to).length +
          rig.expected(filters[2]!.filter, from, to).length) +
      rig.expected({}, from, to, new Set(['cart.abandoned'])).length;
    expect(totals.delivered).toBe(deliveries);
    expect(rig.server.latency.summary().count).toBe(deliveries);
    const metrics = await httpRequest(rig.server.url, '/metrics', { authorization: `Bearer ${FULL}` });
    expect(metrics.body).toContain(`vigil_alert_latency_seconds_count ${deliveries}`);
    expect(metrics.body).toContain(`vigil_ws_alerts_total{result="delivered"} ${deliveries}`);
    expect(metrics.body).toContain('vigil_ws_clients 3');
  });

  it('clients in another process that subscribe the moment the 101 arrives are all served (no first frame lost)', async () => {
    // The main thread must stop reading a socket before it goes to the child: a frame sent
    // right after the 101 was otherwise read and dropped there now and then. The clients run
    // in a process of their own (in this one they would not race the server's reads), one
    // after another, each subscribing on 'open'; one whose `subscribed` never comes fails it.
    const script = `
      import WebSocket from 'ws';
      const [url, token, n] = process.argv.slice(1);
      for (let i = 0; i < Number(n); i++) {
        const ws = new WebSocket(url, ['vigil.v1.json'], { headers: { authorization: 'Bearer ' + token } });
        const ok = await new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), 10000);
          ws.on('message', (d) => { if (JSON.parse(d.toString()).type === 'subscribed') { clearTimeout(timer); resolve(true); } });
          ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe' })));
          ws.once('error', () => resolve(false));
        });
        ws.terminate();
        if (!ok) { console.log('lost at ' + i); process.exit(1); }
      }
      console.log('served ' + n);`;
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', script, rig.server.url.replace(/^http/, 'ws') + '/v1/stream', FULL, '100'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(out.trim()).toBe('served 100');
    expect(code).toBe(0);
  });

  it('kpi frames come through the child to tokens with kpi:read, with the engine counters', async () => {
    const c = await connect({ token: FULL });
    const kpi = await c.upcoming((f) => f.type === 'kpi');
    if (kpi.type !== 'kpi') throw new Error('not a kpi frame');
    expect(kpi.outcomes.applied).toBe(rig.engine.state.counters.applied);
    expect(kpi.latencyMs.count).toBeGreaterThan(0);
  });

  it('a resume with `since` gets the missed alerts from the child ring, then live', async () => {
    const filter: AlertFilter = { types: ['cart.abandoned', 'recommendation.cross_sell'] };
    const first = await connect({ token: FULL });
    await first.subscribe({ filter });
    const a = await rig.drive(0.1);
    await first.sync();
    expect(received(first)).toEqual(rig.expected(filter, a.from, a.to));
    const last = first.alerts().at(-1)!.seq;
    await first.close();
    const missed = await rig.drive(0.1);
    const again = await connect({ token: FULL });
    await again.subscribe({ filter, since: last });
    expect(received(again)).toEqual(rig.expected(filter, last + 1, missed.to));
    expect(again.frames.some((f) => f.type === 'gap')).toBe(false);
  });
});

describe('slow readers, erasure and a dying child', () => {
  const messages = shopMessages(300, 120);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fanout-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a stalled client gets gaps then close 4008 in the child, while a healthy one receives every alert in order', async () => {
    const rig = new Rig(messages, fanoutConfig({ softBufferBytes: 64 * 1024, hardBufferBytes: 256 * 1024 }));
    await rig.start();
    try {
      await rig.drive(1);
      const healthy = await StreamClient.connect(rig.server.url, { token: FULL });
      const stalled = await StreamClient.connect(rig.server.url, { token: FULL });
      await healthy.subscribe({});
      await stalled.subscribe({});
      (stalled.ws as unknown as { _socket: Socket })._socket.pause();
      const first = rig.published.length + 1;
      // Re-post the recorded batches (synced round by round, so the healthy client reads)
      // until the child reports the stalled one closed for its hard limit.
      let posted = 0;
      for (let round = 0; round < 100 && rig.server.fanout.totals().closedTooSlow === 0; round++) {
        // A tick per batch: each tick that drops for the stalled one ends with a gap frame to it.
        for (const b of rig.batches) {
          rig.server.sink.handle(b);
          rig.server.fanout.flush();
          posted += b.alerts.length;
        }
        await healthy.sync();
        await rig.server.fanout.sync();
      }
      expect(rig.server.fanout.totals().closedTooSlow).toBe(1);
      (stalled.ws as unknown as { _socket: Socket })._socket.resume();
      const last = await healthy.sync();
      expect(last).toBe(first + posted - 1);
      const seqs = healthy.alerts().map((f) => f.seq);
      expect(seqs).toEqual(Array.from({ length: posted }, (_, i) => first + i));
      expect(healthy.frames.some((f) => f.type === 'gap')).toBe(false);
      expect((await stalled.closedPromise).code).toBe(closeCodes.tooSlow);
      // The stalled client's frames account for every seq up to where it was cut: an alert or a gap.
      let next = first;
      let gaps = 0;
      for (const f of stalled.frames) {
        if (f.type === 'alert') expect(f.seq).toBe(next++);
        else if (f.type === 'gap') {
          expect([f.reason, f.from]).toEqual(['slow_consumer', next]);
          next = f.to + 1;
          gaps++;
        }
      }
      expect(gaps).toBeGreaterThan(0);
      await rig.server.fanout.sync();
      expect(rig.server.fanout.totals().dropped).toBeGreaterThan(0);
      await healthy.close();
    } finally {
      await rig.server.close();
    }
  });

  it("erasure removes a customer's alerts from the child's ring", async () => {
    const config = fanoutConfig({}, { erasure: { file: join(dir, 'erased.json'), reloadMs: 100 } });
    const rig = new Rig(messages, config);
    const erasure = await openErasure(config, rig.engine.state, {});
    await rig.start(erasure);
    try {
      const { to } = await rig.drive(1);
      const counts = new Map<string, number>();
      for (const a of rig.published.slice(-config.server.ringCapacity))
        if (a.customerId !== null) counts.set(a.customerId, (counts.get(a.customerId) ?? 0) + 1);
      const target = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      const replay = async () => {
        const c = await StreamClient.connect(rig.server.url, { token: FULL });
        await c.subscribe({ since: 0 });
        await c.close();
        return c.alerts().map((f) => f.alert);
      };
      const before = await replay();
      expect(before.filter((a) => a.customerId === target).length).toBe(counts.get(target));
      const del = await httpRequest(
        rig.server.url,
        `/v1/customers/${encodeURIComponent(target)}`,
        { authorization: `Bearer ${FULL}` },
        'DELETE',
      );
      expect(del.status).toBe(200);
      const after = await replay();
      expect(after.filter((a) => a.customerId === target)).toEqual([]);
      expect(after.map((a) => a.id)).toEqual(before.filter((a) => a.customerId !== target).map((a) => a.id));
      expect(after.length).toBeGreaterThan(0);
      expect(to).toBeGreaterThan(0);
    } finally {
      await rig.server.close();
      await erasure.close();
    }
  });

  it('a batch past the bound on what waits for the child is dropped and counted, and later batches still flow', async () => {
    const rig = new Rig(messages);
    await rig.start();
    try {
      const client = await StreamClient.connect(rig.server.url, { token: FULL });
      await client.subscribe({});
      const a = await rig.drive(0.3);
      await client.sync();
      expect(received(client)).toEqual(rig.expected({}, a.from, a.to));
      // One batch larger than MAX_PENDING_ALERTS can never be queued: it is dropped whole, at once.
      const n = MAX_PENDING_ALERTS + 1;
      const oversized = new Array<Alert>(n).fill(rig.published[0]!);
      rig.server.fanout.publish(oversized, new Array<number>(n).fill(performance.now()));
      expect(rig.server.fanout.fanoutCounters.alertsDropped).toBe(n);
      const b = await rig.drive(0.3);
      await client.sync();
      expect(b.to).toBeGreaterThan(b.from);
      // Nothing of the dropped batch reached the subscriber; what came after did, with no gap in seq.
      expect(received(client)).toEqual(rig.expected({}, a.from, b.to));
      const metrics = await httpRequest(rig.server.url, '/metrics', { authorization: `Bearer ${FULL}` });
      expect(metrics.body).toContain(`vigil_ws_fanout_total{event="alerts_dropped"} ${n}`);
      await client.close();
    } finally {
      await rig.server.close();
    }
  });

  it('a child killed with SIGKILL is restarted: clients reconnect, `since` from before gets an aged_out gap, new alerts flow', async () => {
    const rig = new Rig(messages);
    await rig.start();
    try {
      const old = await StreamClient.connect(rig.server.url, { token: FULL });
      await old.subscribe({});
      const a = await rig.drive(0.3);
      await old.sync();
      expect(received(old)).toEqual(rig.expected({}, a.from, a.to));
      const pid = rig.fanout.pid!;
      process.kill(pid, 'SIGKILL');
      // The client's socket lived in the child: it is cut (no close frame).
      expect((await old.closedPromise).code).toBe(1006);
      // Restarted: a new child (the restart delay is short, the wait generous).
      for (let i = 0; i < 600 && (rig.fanout.pid === undefined || rig.fanout.pid === pid); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(rig.fanout.pid).toBeDefined();
      expect(rig.fanout.pid).not.toBe(pid);
      expect(rig.server.fanout.fanoutCounters.restarts).toBe(1);

      const again = await StreamClient.connect(rig.server.url, { token: FULL });
      const hello = await again.next((f) => f.type === 'hello');
      // The new ring starts after every alert posted to the old child: seqs never go back.
      expect(hello).toMatchObject({ seq: a.to, oldest: a.to + 1 });
      const last = old.alerts().at(-1)!.seq - 5;
      await again.subscribe({ since: last });
      expect(again.frames.filter((f) => f.type === 'gap')).toEqual([
        { type: 'gap', sub: 'default', from: last + 1, to: a.to, reason: 'aged_out' },
      ]);
      const b = await rig.drive(0.3);
      await again.sync();
      expect(b.to).toBeGreaterThan(b.from);
      expect(received(again)).toEqual(rig.expected({}, b.from, b.to));
      const metrics = await httpRequest(rig.server.url, '/metrics', { authorization: `Bearer ${FULL}` });
      expect(metrics.body).toContain('vigil_ws_fanout_total{event="restarts"} 1');
      await again.close();
    } finally {
      await rig.server.close();
    }
  });
});

describe('the fan-out process under the partitioned live engine', () => {
  it('a subscriber receives every alert the workers emitted, once, in seq order', async () => {
    const config = fanoutConfig();
    const live = await PartitionedLiveEngine.start(config, { workers: 2 });
    const ops = await startOpsServer({ config, engine: { state: live.front } });
    try {
      const c = await StreamClient.connect(ops.url, { token: FULL });
      await c.subscribe({});
      const published: Alert[] = [];
      const messages = shopMessages(300, 90).map((m) => ({ ...m, receivedAt: performance.now() }));
      await live.run(new InProcessSource(messages, { name: 'test', batchSize: 128, finite: true }), {
        sinks: [ops.sink, { handle: (b: Batch) => void published.push(...b.alerts) }],
      });
      ops.fanout.flush();
      await c.sync();
      expect(published.length).toBeGreaterThan(100);
      expect(received(c)).toEqual(published.map((a, i) => [i + 1, a.id]));
      await c.close();
    } finally {
      await ops.close();
      await live.close();
    }
  });
});
