import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts/alert.js';
import { connectStream, VigilStreamError, type AlertFrame } from '../src/client/index.js';
import { encodePayload } from '../src/edges/encode.js';
import { Engine } from '../src/app/engine.js';
import type { EngineBatch as Batch } from '../src/app/engine.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { testConfig } from './support/engine-harness.js';

/**
 * The package's stream client against the real ops server: it yields exactly the alerts its
 * filter wants, in seq order, and after the server drops its connection it reconnects and
 * resumes with `since`, so the alerts published while it was away arrive once each. The
 * oracle is every alert the engine published, recorded by a second sink, filtered here.
 */
const TOKEN = 'client-test-token-0123456789abcdef';
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);

const config = testConfig({
  server: {
    port: 0,
    logLevel: 'silent',
    tokens: [
      {
        name: 'app',
        token: TOKEN,
        scopes: ['stream', 'kpi:read', 'customers:read', 'items:read', 'admin'],
        maxConnections: 4,
      },
    ],
    pingIntervalMs: 60_000,
  },
});
const engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
const published: Alert[] = [];
let server: OpsServer;

function messages(): RawMessage[] {
  const shop = new SyntheticShop({ seed: 9, customers: 500, products: 600, startTs: START, endTs: START + 120 * DAY });
  const out: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    out.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  return out;
}

async function drive(chunk: RawMessage[]): Promise<void> {
  const recorder = { handle: (b: Batch) => void published.push(...b.alerts) };
  const now = chunk.map((m) => ({ ...m, receivedAt: performance.now() }));
  await engine.run(new InProcessSource(now, { name: 'test', batchSize: 256, finite: true }), {
    sinks: [server.sink, recorder],
  });
  server.hub.flush();
}

beforeAll(async () => {
  server = await startOpsServer({ config, engine });
});
afterAll(async () => server?.close());

describe('vigil-engine/client', () => {
  it('yields the filtered alerts in order, and resumes with since after the server drops it', async () => {
    const all = messages();
    const url = server.url.replace(/^http/, 'ws') + '/v1/stream';
    const got: AlertFrame[] = [];
    const statuses: string[] = [];
    const stream = connectStream({
      url,
      token: TOKEN,
      filter: { types: ['cart.abandoned', 'churn.risk'] },
      since: 0,
      backoff: { baseMs: 50, maxMs: 200 },
      onStatus: (s) => statuses.push(s),
    });
    const consuming = (async () => {
      for await (const f of stream) got.push(f);
    })();
    const wanted = () =>
      published
        .map((a, i) => [i + 1, a] as const)
        .filter(([, a]) => a.type === 'cart.abandoned' || a.type === 'churn.risk');

    await drive(all.slice(0, all.length / 2));
    await expect.poll(() => got.length, { timeout: 30_000 }).toBe(wanted().length);
    expect(got.length).toBeGreaterThan(20);

    // The server drops the connection; more alerts are published while the client is away.
    for (const c of server.hub.connections) c.ws.terminate();
    await drive(all.slice(all.length / 2));
    await expect.poll(() => got.length, { timeout: 30_000 }).toBe(wanted().length);

    expect(got.map((f) => [f.seq, f.alert.id])).toEqual(wanted().map(([seq, a]) => [seq, a.id]));
    expect(statuses.filter((s) => s === 'open').length).toBeGreaterThanOrEqual(2);
    expect(stream.lastSeq).toBe(got.at(-1)!.seq);
    await stream.close();
    await consuming;
  }, 120_000);

  it('ends with VIGIL_ERR_AUTH when the token is refused, without retrying', async () => {
    const url = server.url.replace(/^http/, 'ws') + '/v1/stream';
    const stream = connectStream({
      url,
      token: 'not-a-token-of-this-server-000000',
      backoff: { baseMs: 10, maxMs: 20 },
    });
    const err = await (async () => {
      try {
        for await (const _ of stream) void _;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(VigilStreamError);
    expect((err as VigilStreamError).code).toBe('VIGIL_ERR_AUTH');
  });
});
