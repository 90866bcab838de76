import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload } from '../src/edges/encode.js';
import type { CanonicalEvent } from '../src/core/event.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { PartitionedLiveEngine } from '../src/app/partitions/partitioned-live.js';
import { openErasure, type OpenErasure } from '../src/app/erasure/wiring.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { runMessages, testConfig } from './support/engine-harness.js';
import { MAX_QUERIES, startWorkers } from '../src/app/partitions/worker-link.js';
import { BatchBuilder } from '../src/app/partitions/batch-builder.js';
import { partitionOfId } from '../src/app/partitions/partition-of.js';
import { httpRequest } from './support/http-request.js';

/**
 * The per-customer HTTP answers with the graph on 2 worker threads, over real HTTP: the main
 * thread asks the worker owning the customer's partition. Against the single-threaded engine
 * on the same input, served alike: the same customers known, each one's profile (keyed state)
 * as of the same event time, the same customer count; erasure's `existed` true for a held
 * customer and false for an unknown one, and the customer gone afterwards.
 */
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const TOKEN = 'w'.repeat(40);
const WALL_CLOCK = Date.UTC(2030, 0, 1);
const auth = { authorization: `Bearer ${TOKEN}` };

describe('per-customer answers with workers', () => {
  const shop = new SyntheticShop({ seed: 4, customers: 300, products: 200, startTs: START, endTs: START + 60 * DAY });
  const events: CanonicalEvent[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) events.push(e);
  const messages: RawMessage[] = events.map((e) => ({
    bytes: encodePayload(e, 'msgpack'),
    subject: 's',
    receivedAt: 0,
  }));
  const customers = [...new Set(events.map((e) => e.customerId))];
  const config = testConfig({
    server: {
      port: 0,
      logLevel: 'silent',
      tokens: [{ name: 'ops', token: TOKEN, scopes: ['kpi:read', 'customers:read', 'admin'], maxConnections: 2 }],
    },
  });
  let single: OpsServer;
  let workers: OpsServer;
  let live: PartitionedLiveEngine;
  let erasure: OpenErasure;

  beforeAll(async () => {
    const { engine } = await runMessages(config, messages);
    single = await startOpsServer({
      config,
      engine,
      readiness: { sourceConnected: () => true, stateReady: () => true },
    });
    live = await PartitionedLiveEngine.start(config, { workers: 2, wallClock: WALL_CLOCK });
    await live.run(new InProcessSource(messages, { name: 'test', batchSize: 128, finite: true }));
    await live.endEventTime();
    await live.countPopulation();
    erasure = await openErasure(config, live.front, { held: (id) => live.eraseHeld(id) });
    workers = await startOpsServer({
      config,
      engine: { state: live.front },
      readiness: { sourceConnected: () => true, stateReady: () => true },
      erasure: erasure.erasure,
    });
  }, 180_000);

  afterAll(async () => {
    await single?.close();
    await workers?.close();
    await erasure?.close();
    await live?.close();
  });

  const customer = async (server: OpsServer, id: string) => {
    const r = await httpRequest(server.url, `/v1/customers/${encodeURIComponent(id)}`, auth);
    return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
  };

  it("a customer's answer comes from its partition: the single-threaded engine's profile as of the same time", async () => {
    expect(customers.length).toBeGreaterThan(200);
    for (const id of customers.filter((_, i) => i % 10 === 0)) {
      const [one, two] = [await customer(single, id), await customer(workers, id)];
      expect(two.status).toBe(200);
      expect(one.status).toBe(200);
      expect(two.body.asOf).toBe(one.body.asOf);
      expect(two.body.profile).toEqual(one.body.profile);
      // Population models (segments, CLV, recommender) are each partition's own
      // (docs/architecture.md): the same fields, values not compared.
      expect(Object.keys(two.body).sort()).toEqual(Object.keys(one.body).sort());
    }
    const unknown = await customer(workers, 'nobody-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'VIGIL_ERR_NOT_FOUND' } });
  });

  it('the customer count and segment counts are summed over the workers', async () => {
    const gauge = async (server: OpsServer) => {
      const r = await httpRequest(server.url, '/metrics', auth);
      return Number(/^vigil_customers (\d+)$/m.exec(r.body)![1]);
    };
    expect(await gauge(workers)).toBe(await gauge(single));
    expect(await gauge(workers)).toBe(customers.length);
    // Segment counts: the sum of each worker's (each partition scores its own population).
    const population = live.population();
    expect(population.customers).toBe(customers.length);
    expect(Object.values(population.segments).reduce((s, n) => s + n, 0)).toBeLessThanOrEqual(customers.length);
  });

  it("erasure's existed is true for a customer a worker held, false otherwise, and the customer is gone", async () => {
    const id = customers[3]!;
    const erase = (who: string) =>
      httpRequest(workers.url, `/v1/customers/${encodeURIComponent(who)}`, auth, 'DELETE').then((r) => ({
        status: r.status,
        body: JSON.parse(r.body) as unknown,
      }));
    expect(await erase(id)).toEqual({ status: 200, body: { erased: true, existed: true } });
    expect((await customer(workers, id)).status).toBe(404);
    expect(await erase(id)).toEqual({ status: 200, body: { erased: true, existed: false } });
    expect(await erase('nobody-here')).toEqual({ status: 200, body: { erased: true, existed: false } });
    expect((await live.countPopulation()).customers).toBe(customers.length - 1);
  });
});

describe('questions to a worker', () => {
  it('time out with VIGIL_ERR_WORKER_QUERY while the worker is busy, are answered after, and are bounded', async () => {
    const config = testConfig();
    const [link] = await startWorkers(config, 4, 1, { collectAlerts: false, wallClock: WALL_CLOCK });
    try {
      const shop = new SyntheticShop({
        seed: 9,
        customers: 2000,
        products: 300,
        startTs: START,
        endTs: START + 20 * DAY,
      });
      const builder = new BatchBuilder();
      let n = 0;
      for (let e = shop.next(); e !== undefined; e = shop.next(), n++)
        builder.add(partitionOfId(e.customerId, 4), encodePayload(e, 'msgpack'));
      const { bytes, index } = builder.take();
      link!.post({ type: 'batch', bytes, index }, [bytes, index.buffer as ArrayBuffer]);
      // The worker is inside the batch: a 1 ms limit passes before it can answer.
      await expect(link!.query({ kind: 'population' }, 1)).rejects.toMatchObject({ code: 'VIGIL_ERR_WORKER_QUERY' });
      const open = Array.from({ length: MAX_QUERIES }, () => link!.query({ kind: 'population' }, 60_000));
      await expect(link!.query({ kind: 'population' }, 60_000)).rejects.toMatchObject({
        code: 'VIGIL_ERR_WORKER_QUERY',
      });
      const answers = (await Promise.all(open)) as { customers: number }[];
      expect(answers[0]!.customers).toBeGreaterThan(1000);
      expect(n).toBeGreaterThan(10_000);
      // A question the worker cannot answer fails alone; the worker goes on.
      await expect(link!.query({ kind: 'customer', partition: 99, customerId: 'x' }, 60_000)).rejects.toMatchObject({
        code: 'VIGIL_ERR_WORKER_QUERY',
      });
      expect(await link!.query({ kind: 'population' }, 60_000)).toEqual(answers[0]);
    } finally {
      await link!.worker.terminate();
    }
  }, 120_000);
});
