import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CATEGORIES } from '../src/analytics/demand/demand-process.js';
import { encodePayload } from '../src/codec/encode.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import type { RawMessage } from '../src/sources/source.js';
import { SEASONAL_SHOP } from '../src/synth/demand-cycle.js';
import { SyntheticShop } from '../src/synth/shop.js';
import { runMessages, testConfig } from './support/engine-harness.js';

/** GET /v1/forecasts[/:category] over real HTTP, against the engine's own demand state. */
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const TOKEN = 'f'.repeat(40);
const auth = { authorization: `Bearer ${TOKEN}` };

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /v1/forecasts', () => {
  const shop = new SyntheticShop({ seed: 9, customers: 200, products: 200, startTs: START, endTs: START + 30 * DAY, demandCycle: SEASONAL_SHOP });
  const messages: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  // Two customers bought through a campaign after the shop's month.
  for (const [i, customerId] of ['camp-a', 'camp-b'].entries()) {
    const e = { id: `camp-${i}`, customerId, type: 'purchase', ts: START + 31 * DAY + i, orderId: `camp-${i}`, items: [{ productId: 'p', price: 5, quantity: 1 }], campaign: { id: 'spring', channel: 'email' } };
    messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  }
  const config = testConfig({ server: { port: 0, logLevel: 'silent', tokens: [{ name: 'ops', token: TOKEN, maxConnections: 2 }] } });
  let server: OpsServer;
  let engine: Awaited<ReturnType<typeof runMessages>>['engine'];

  beforeAll(async () => {
    engine = (await runMessages(config, messages)).engine;
    server = await startOpsServer({ config, engine, readiness: { sourceConnected: () => true, stateReady: () => true }, logger: pino({ level: 'silent' }) });
  });
  afterAll(() => server.close());

  it('lists the categories and returns a category’s forecasts as the engine holds them, behind a token', async () => {
    expect((await get(server.url, '/v1/forecasts')).status).toBe(401);
    expect((await get(server.url, `/v1/forecasts/${ALL_CATEGORIES}`)).status).toBe(401);
    const list = await get(server.url, '/v1/forecasts', auth);
    expect(list.status).toBe(200);
    const categories = JSON.parse(list.body).categories as string[];
    expect(categories).toEqual(engine.state.demand!.categoryNames());
    expect(categories.length).toBeGreaterThan(2);
    for (const c of categories.slice(0, 4)) {
      const r = await get(server.url, `/v1/forecasts/${encodeURIComponent(c)}`, auth);
      expect(r.status).toBe(200);
      const body = JSON.parse(r.body);
      expect(body.asOf).toBe(engine.state.watermark.watermark);
      expect({ ...body, asOf: undefined }).toEqual(JSON.parse(JSON.stringify({ ...engine.state.demand!.view(c), asOf: undefined })));
    }
    const all = JSON.parse((await get(server.url, `/v1/forecasts/${ALL_CATEGORIES}`, auth)).body);
    expect(all.hourly.measures.units.forecast).toHaveLength(24);
    expect(all.daily.measures.orders.forecast).toHaveLength(28);
    for (const f of all.daily.measures.orders.forecast) expect(f.lo95 <= f.lo80 && f.lo80 <= f.mean && f.mean <= f.hi80 && f.hi80 <= f.hi95).toBe(true);
    const missing = await get(server.url, '/v1/forecasts/no-such-category', auth);
    expect([missing.status, JSON.parse(missing.body).error.code]).toEqual([404, 'VIGIL_ERR_NOT_FOUND']);
  });

  it('GET /v1/campaigns/:id returns the campaign’s cohort report, behind a token', async () => {
    expect((await get(server.url, '/v1/campaigns/spring')).status).toBe(401);
    const r = await get(server.url, '/v1/campaigns/spring', auth);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body).toEqual(JSON.parse(JSON.stringify(engine.state.campaigns!.report('spring', engine.state.watermark.watermark))));
    expect([body.reached, body.converted, body.firstTimeBuyers]).toEqual([2, 2, 2]);
    expect((await get(server.url, '/v1/campaigns/nothing', auth)).status).toBe(404);
  });
});
