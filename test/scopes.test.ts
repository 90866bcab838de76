import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload } from '../src/edges/encode.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { scopeNames, type Scope } from '../src/server/scopes.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { runMessages, testConfig } from './support/engine-harness.js';
import { httpRequest } from './support/http-request.js';
import { refusal, StreamClient } from './support/stream-client.js';

/**
 * Issue 18, failure 1: a token scoped to two alert types read full customer profiles, similar
 * items, and the kpi frames. Every route and frame kind now checks its scope; the oracle is
 * the scope table (src/server/scopes.ts, docs/ops.md).
 */
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const token = (c: string) => c.repeat(32);
const tokens = [
  // The token of the report: two alert types on the stream, nothing else.
  {
    name: 'alerts',
    token: token('a'),
    scopes: ['stream'],
    types: ['churn.risk', 'value.tier_changed'],
    maxConnections: 4,
  },
  { name: 'profiles', token: token('p'), scopes: ['customers:read'], maxConnections: 4 },
  { name: 'items', token: token('i'), scopes: ['items:read'], maxConnections: 4 },
  { name: 'kpi', token: token('k'), scopes: ['stream', 'kpi:read'], maxConnections: 4 },
  { name: 'all', token: token('z'), scopes: [...scopeNames], maxConnections: 4 },
] as const;

describe('scopes', () => {
  const config = testConfig({ server: { port: 0, logLevel: 'silent', kpiIntervalMs: 100, tokens } });
  const shop = new SyntheticShop({ seed: 5, customers: 200, products: 100, startTs: START, endTs: START + 60 * DAY });
  const messages = shop
    .take(20_000)
    .map((e) => ({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 }));
  let server: OpsServer;
  let customerId: string;
  let productId: string;

  beforeAll(async () => {
    const { engine } = await runMessages(config, messages);
    customerId = [...engine.state.store.customerIds()].sort()[3]!;
    productId = (
      engine.state.store.view(customerId, engine.state.watermark.watermark) as { recentItems: { productId: string }[] }
    ).recentItems[0]!.productId;
    server = await startOpsServer({ config, engine });
  });
  afterAll(() => server.close());

  const routes: { path: () => string; scope: Scope }[] = [
    { path: () => `/v1/customers/${encodeURIComponent(customerId)}`, scope: 'customers:read' },
    { path: () => `/v1/items/${encodeURIComponent(productId)}/similar`, scope: 'items:read' },
    { path: () => '/metrics', scope: 'kpi:read' },
    { path: () => '/v1/forecasts', scope: 'kpi:read' },
    { path: () => '/v1/forecasts/_all', scope: 'kpi:read' },
  ];

  it('the alert-only token of the report gets 403 on profiles, similar items and metrics, with no data', async () => {
    const auth = { authorization: `Bearer ${tokens[0].token}` };
    for (const r of routes) {
      const reply = await httpRequest(server.url, r.path(), auth);
      expect(reply.status).toBe(403);
      expect(JSON.parse(reply.body)).toEqual({
        error: { code: 'VIGIL_ERR_FORBIDDEN_SCOPE', message: `this token lacks the scope ${r.scope}` },
      });
      expect(reply.body).not.toContain(customerId);
    }
  });

  it('every route answers each token as the scope table says', async () => {
    for (const t of tokens) {
      for (const r of routes) {
        const reply = await httpRequest(server.url, r.path(), { authorization: `Bearer ${t.token}` });
        expect([t.name, r.scope, reply.status]).toEqual([
          t.name,
          r.scope,
          (t.scopes as readonly Scope[]).includes(r.scope) ? 200 : 403,
        ]);
      }
      // /v1/token only needs a valid token, and names the scopes.
      const who = await httpRequest(server.url, '/v1/token', { authorization: `Bearer ${t.token}` });
      expect(JSON.parse(who.body)).toMatchObject({ name: t.name, scopes: t.scopes });
      const hasStream = (t.scopes as readonly Scope[]).includes('stream');
      if (!hasStream)
        expect(await refusal(server.url, { token: t.token })).toEqual({
          status: 403,
          code: 'VIGIL_ERR_FORBIDDEN_SCOPE',
        });
    }
  });

  it('kpi frames reach only tokens with kpi:read; hello names the scopes', async () => {
    const alertsOnly = await StreamClient.connect(server.url, { token: tokens[0].token });
    const kpi = await StreamClient.connect(server.url, { token: tokens[3].token });
    expect(alertsOnly.frames[0]).toMatchObject({
      type: 'hello',
      scopes: ['stream'],
      types: ['churn.risk', 'value.tier_changed'],
    });
    // Three kpi periods reach the kpi reader; then a round trip to the other makes sure everything sent to it has arrived.
    for (let i = 0; i < 3; i++) await kpi.upcoming((f) => f.type === 'kpi');
    await alertsOnly.sync();
    expect(alertsOnly.frames.filter((f) => f.type === 'kpi')).toEqual([]);
    await alertsOnly.close();
    await kpi.close();
  });
});
