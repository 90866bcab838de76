import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CATEGORIES } from '../src/analytics/demand/demand-process.js';
import { encodePayload } from '../src/edges/encode.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import type { RawMessage } from '../src/core/source.js';
import { SEASONAL_SHOP } from '../src/edges/demo/demand-cycle.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { runMessages, testConfig } from './support/engine-harness.js';

/** GET /v1/forecasts[/:category] over real HTTP, against the engine's own demand state. */
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const TOKEN = 'f'.repeat(40);
/** A valid token without `kpi:read`: refused with 403 on forecasts and campaigns. */
const CUSTOMERS_ONLY = 'c'.repeat(40);
const auth = { authorization: `Bearer ${TOKEN}` };
const unscoped = { authorization: `Bearer ${CUSTOMERS_ONLY}` };

function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
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
  const shop = new SyntheticShop({
    seed: 9,
    customers: 200,
    products: 200,
    startTs: START,
    endTs: START + 30 * DAY,
    demandCycle: SEASONAL_SHOP,
  });
  const messages: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  // Two customers bought through a campaign after the shop's month.
  for (const [i, customerId] of ['camp-a', 'camp-b'].entries()) {
    const e = {
      id: `camp-${i}`,
      customerId,
      type: 'purchase',
      ts: START + 31 * DAY + i,
      orderId: `camp-${i}`,
      items: [{ productId: 'p', price: 5, quantity: 1 }],
      campaign: { id: 'spring', channel: 'email' },
    };
    messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  }
  const config = testConfig({
    server: {
      port: 0,
      logLevel: 'silent',
      tokens: [
        { name: 'ops', token: TOKEN, scopes: ['kpi:read'], maxConnections: 2 },
        {
          name: 'support',
          token: CUSTOMERS_ONLY,
          scopes: ['customers:read', 'items:read', 'stream'],
          maxConnections: 2,
        },
      ],
    },
  });
  let server: OpsServer;
  let engine: Awaited<ReturnType<typeof runMessages>>['engine'];

  beforeAll(async () => {
    engine = (await runMessages(config, messages)).engine;
    server = await startOpsServer({
      config,
      engine,
      readiness: { sourceConnected: () => true, stateReady: () => true },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(() => server.close());

  const refusal = async (path: string, headers: Record<string, string> = {}) => {
    const r = await get(server.url, path, headers);
    return [r.status, JSON.parse(r.body).error.code];
  };

  it('lists the categories and returns a category’s forecasts as the engine holds them, with scope kpi:read', async () => {
    expect(await refusal('/v1/forecasts')).toEqual([401, 'VIGIL_ERR_AUTH']);
    expect(await refusal(`/v1/forecasts/${ALL_CATEGORIES}`)).toEqual([401, 'VIGIL_ERR_AUTH']);
    expect(await refusal('/v1/forecasts', unscoped)).toEqual([403, 'VIGIL_ERR_FORBIDDEN_SCOPE']);
    expect(await refusal(`/v1/forecasts/${ALL_CATEGORIES}`, unscoped)).toEqual([403, 'VIGIL_ERR_FORBIDDEN_SCOPE']);
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
      expect({ ...body, asOf: undefined }).toEqual(
        JSON.parse(JSON.stringify({ ...engine.state.demand!.view(c), asOf: undefined })),
      );
    }
    const all = JSON.parse((await get(server.url, `/v1/forecasts/${ALL_CATEGORIES}`, auth)).body);
    expect(all.hourly.measures.units.forecast).toHaveLength(24);
    expect(all.daily.measures.orders.forecast).toHaveLength(28);
    for (const f of all.daily.measures.orders.forecast)
      expect(f.lo95 <= f.lo80 && f.lo80 <= f.mean && f.mean <= f.hi80 && f.hi80 <= f.hi95).toBe(true);
    const missing = await get(server.url, '/v1/forecasts/no-such-category', auth);
    expect([missing.status, JSON.parse(missing.body).error.code]).toEqual([404, 'VIGIL_ERR_NOT_FOUND']);
  });

  it('GET /v1/campaigns/:id returns the campaign’s cohort report, with scope kpi:read', async () => {
    expect(await refusal('/v1/campaigns/spring')).toEqual([401, 'VIGIL_ERR_AUTH']);
    expect(await refusal('/v1/campaigns/spring', unscoped)).toEqual([403, 'VIGIL_ERR_FORBIDDEN_SCOPE']);
    const r = await get(server.url, '/v1/campaigns/spring', auth);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body).toEqual(
      JSON.parse(JSON.stringify(engine.state.campaigns!.report('spring', engine.state.watermark.watermark))),
    );
    expect([body.reached, body.converted, body.firstTimeBuyers]).toEqual([2, 2, 2]);
    // The body is what docs/openapi.json says it is.
    const openapi = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8'));
    const validate = new Ajv2020({ strict: false }).compile(
      openapi.paths['/v1/campaigns/{id}'].get.responses['200'].content['application/json'].schema,
    );
    expect(validate(body)).toBe(true);
    expect(validate({ ...body, reached: 'two' })).toBe(false);
    expect((await get(server.url, '/v1/campaigns/nothing', auth)).status).toBe(404);
  });
});
