import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload } from '../src/edges/encode.js';
import { Checkpointer } from '../src/app/checkpoint/checkpointer.js';
import { FileCheckpoints } from '../src/app/checkpoint/file-checkpoints.js';
import { Engine } from '../src/app/engine.js';
import { openErasure, type OpenErasure } from '../src/app/erasure/wiring.js';
import type { CanonicalEvent } from '../src/core/event.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { scopeNames } from '../src/server/scopes.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { dump, runMessages, testConfig } from './support/engine-harness.js';
import { httpRequest } from './support/http-request.js';
import { StreamClient } from './support/stream-client.js';

/**
 * Issue 18, failure 3: there was no way to erase a customer. A customer with state, alerts
 * in the stream's ring and later events is erased over the API; afterwards no trace of the
 * raw id is in the state dump, the state snapshot, the HTTP API, the stream replay or the
 * logs, and later events are rejected with VIGIL_ERR_SUPPRESSED. `vigil erase` adds to the
 * suppression file, which the running engine follows live. (NATS: test/erasure-nats.test.ts.)
 */
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const ADMIN = 'd'.repeat(32);
const READER = 'r'.repeat(32);
/** Ids made unique as substrings (`id-c0001-x` is in no other id), so a byte search finds only its customer. */
const renamed = (id: string) => `id-${id}-x`;

describe('erasure of a customer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-erasure-'));
  const file = join(dir, 'erased.json');
  const config = testConfig({
    erasure: { file, reloadMs: 100 },
    server: {
      port: 0,
      tokens: [
        { name: 'admin', token: ADMIN, scopes: [...scopeNames], maxConnections: 4 },
        {
          name: 'reader',
          token: READER,
          scopes: ['stream', 'customers:read', 'items:read', 'kpi:read'],
          maxConnections: 4,
        },
      ],
    },
  });
  const shop = new SyntheticShop({ seed: 11, customers: 300, products: 120, startTs: START, endTs: START + 200 * DAY });
  const events: CanonicalEvent[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) events.push({ ...e, customerId: renamed(e.customerId) });
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
  let server: OpsServer;
  let erasure: OpenErasure;
  let target: string;

  beforeAll(async () => {
    erasure = await openErasure(config, engine.state, { logger });
    server = await startOpsServer({ config, engine, erasure: erasure.erasure, logger });
    const messages = events.map((e) => ({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 }));
    // Not the end of input: the engine goes on, as a live one would.
    await runMessages(config, messages, { engine, finite: false, onBatch: (b) => void server.sink.handle(b) });
    server.hub.flush();
    // The customer with the most alerts held in the ring.
    const held = new Map<string, number>();
    for (let seq = server.hub.ring.oldest; seq <= server.hub.ring.sequence; seq++) {
      const a = server.hub.ring.at(seq)?.alert;
      if (a !== undefined && a.customerId !== null && engine.state.store.has(a.customerId))
        held.set(a.customerId, (held.get(a.customerId) ?? 0) + 1);
    }
    target = [...held].sort((a, b) => b[1] - a[1])[0]![0];
  });
  afterAll(async () => {
    await server.close();
    await erasure.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const traces = (bytes: Uint8Array | string, id = target) => Buffer.from(bytes).indexOf(Buffer.from(id)) >= 0;
  const replayed = async (token: string) => {
    const c = await StreamClient.connect(server.url, { token });
    await c.subscribe({ replay: 10_000 });
    await c.sync();
    await c.close();
    return c.alerts();
  };

  it('removes the customer from state, snapshot, API and stream; later events are rejected', async () => {
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    const path = `/v1/customers/${encodeURIComponent(target)}`;
    // Before: the traces the erasure must remove are there (so their absence later means something).
    expect(traces(engine.state.snapshot())).toBe(true);
    expect(traces(JSON.stringify(dump(engine)))).toBe(true);
    expect((await httpRequest(server.url, path, auth(READER))).status).toBe(200);
    const before = (await replayed(READER)).filter((f) => f.alert.customerId === target);
    expect(before.length).toBeGreaterThan(0);

    // A checkpoint before the erasure holds the customer.
    const checkpoints = new FileCheckpoints(dir, 'erasure');
    const checkpointer = new Checkpointer(engine, checkpoints, {
      scope: 'erasure',
      source: 'test',
      intervalMs: 1e9,
      keep: 1,
      chunkBytes: 65_536,
      last: undefined,
      log: () => {},
    });
    await checkpointer.checkpointNow();
    const older = (await checkpoints.latest())!;
    expect(traces(await checkpoints.read(older))).toBe(true);

    // Only the admin scope may erase.
    expect((await httpRequest(server.url, path, auth(READER), 'DELETE')).status).toBe(403);
    expect((await httpRequest(server.url, path, {}, 'DELETE')).status).toBe(401);
    const del = await httpRequest(server.url, path, auth(ADMIN), 'DELETE');
    expect([del.status, JSON.parse(del.body)]).toEqual([200, { erased: true, existed: true }]);

    expect(engine.state.store.has(target)).toBe(false);
    expect(traces(engine.state.snapshot())).toBe(false);
    expect(traces(JSON.stringify(dump(engine)))).toBe(false);
    // The next checkpoint, read back, holds no trace; the older one that did is deleted once it is complete.
    await checkpointer.checkpointNow();
    const newest = (await checkpoints.latest())!;
    expect(newest.number).toBe(older.number + 1);
    expect(traces(await checkpoints.read(newest))).toBe(false);
    expect(existsSync(join(dir, older.name))).toBe(false);
    const get = await httpRequest(server.url, path, auth(READER));
    expect(get.status).toBe(404);
    expect((await replayed(ADMIN)).filter((f) => f.alert.customerId === target)).toEqual([]);
    // Other customers' held alerts stay.
    expect((await replayed(ADMIN)).length).toBeGreaterThan(0);

    // Later events about the customer: rejected, counted, not applied; the counters add up.
    const later = events
      .filter((e) => e.customerId === target)
      .map((e, i) => ({ ...e, id: `later-${i}`, ts: e.ts + 1 }));
    const rejectedBefore = engine.state.counters.rejectedBy.get('VIGIL_ERR_SUPPRESSED') ?? 0;
    const { batches } = await runMessages(
      config,
      later.map((e) => ({ bytes: encodePayload(e, 'json'), subject: 'shop', receivedAt: 0 })),
      { engine, finite: false },
    );
    expect(engine.state.counters.rejectedBy.get('VIGIL_ERR_SUPPRESSED')! - rejectedBefore).toBe(later.length);
    expect(batches.flatMap((b) => b.rejections.map((r) => [r.reason, r.path]))).toEqual(
      later.map(() => ['VIGIL_ERR_SUPPRESSED', 'customerId']),
    );
    expect(engine.state.counters.balanced).toBe(true);
    expect(engine.state.store.has(target)).toBe(false);
    expect(traces(engine.state.snapshot())).toBe(false);

    // The audit line names a pseudonym; no log line holds the raw id.
    const audit = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === 'erasure');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      via: 'http',
      existed: true,
      customer: expect.stringMatching(/^p-[A-Za-z0-9_-]{22}$/),
    });
    expect(logLines.filter((l) => traces(l))).toEqual([]);
    // The suppression list holds the id (it must, to refuse later events).
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([target]);
  });

  it('`vigil erase --customer` adds to erasure.file; the running engine erases within reloadMs', async () => {
    const other = [...engine.state.store.customerIds()].sort()[0]!;
    const cfgFile = join(dir, 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ erasure: { file, reloadMs: 100 } }));
    const cli = spawnSync('node', ['dist/src/app/cli.js', 'erase', '--customer', other, '--config', cfgFile], {
      encoding: 'utf8',
    });
    expect(cli.status).toBe(0);
    expect(cli.stderr).not.toContain(other);
    await expect.poll(() => engine.state.store.has(other), { timeout: 10_000 }).toBe(false);
    expect(engine.state.suppressed.has(other)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([target, other]);
    expect(traces(engine.state.snapshot(), other)).toBe(false);
    // Without a place to record it, the command refuses (usage, exit 2).
    const none = spawnSync('node', ['dist/src/app/cli.js', 'erase', '--customer', other], { encoding: 'utf8' });
    expect([none.status, none.stderr]).toEqual([
      2,
      expect.stringContaining('error VIGIL_ERR_USAGE: erase needs --nats-url'),
    ]);
  });
});
