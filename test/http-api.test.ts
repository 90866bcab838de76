import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload } from '../src/edges/encode.js';
import type { CanonicalEvent } from '../src/core/event.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { runMessages, testConfig } from './support/engine-harness.js';
import { httpRequest } from './support/http-request.js';
import { refusal, StreamClient } from './support/stream-client.js';

/**
 * The ops server's HTTP side over real HTTP on 127.0.0.1: the customer and item endpoints
 * against the engine's own state (store.view, analytics.insight) and the shop's events,
 * the Prometheus text, health, and the static files' safety.
 */
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const TOKEN = 't'.repeat(40);

const get = httpRequest;

const auth = { authorization: `Bearer ${TOKEN}` };

describe('the ops HTTP API', () => {
  const shop = new SyntheticShop({ seed: 3, customers: 400, products: 300, startTs: START, endTs: START + 120 * DAY });
  const events: CanonicalEvent[] = [];
  const messages: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) {
    events.push(e);
    messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  }
  const config = testConfig({
    server: {
      port: 0,
      logLevel: 'silent',
      tokens: [
        {
          name: 'ops',
          token: TOKEN,
          scopes: ['stream', 'kpi:read', 'customers:read', 'items:read', 'admin'],
          maxConnections: 2,
        },
      ],
    },
  });
  let server: OpsServer;
  let ready = true;
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  let engine: Awaited<ReturnType<typeof runMessages>>['engine'];

  beforeAll(async () => {
    engine = (await runMessages(config, messages)).engine;
    server = await startOpsServer({
      config,
      engine,
      readiness: { sourceConnected: () => ready, stateReady: () => true },
      logger,
    });
  });
  afterAll(() => server.close());

  it('GET /v1/customers/:id needs a bearer token and returns the live profile the engine holds', async () => {
    const ids = [...engine.state.store.customerIds()].sort();
    const id = ids[17]!;
    expect((await get(server.url, `/v1/customers/${id}`)).status).toBe(401);
    const wrong = await get(server.url, `/v1/customers/${id}`, { authorization: `Bearer ${'u'.repeat(40)}` });
    expect([wrong.status, JSON.parse(wrong.body).error.code]).toEqual([401, 'VIGIL_ERR_AUTH']);
    expect(wrong.body).not.toContain(id);

    const asOf = engine.state.watermark.watermark;
    const analytics = engine.state.analytics!;
    let withRecs = 0;
    for (const cid of ids.slice(0, 40)) {
      const r = await get(server.url, `/v1/customers/${encodeURIComponent(cid)}`, auth);
      expect(r.status).toBe(200);
      expect(r.headers['cache-control']).toBe('no-store');
      const body = JSON.parse(r.body);
      expect(body.asOf).toBe(asOf);
      expect(body.profile).toEqual(JSON.parse(JSON.stringify(engine.state.store.view(cid, asOf))));
      expect(body.analytics).toEqual(JSON.parse(JSON.stringify(analytics.insight(cid, asOf))));
      expect(body.segment).toBe(analytics.segmentOf(cid));
      // Recommendations leave out what the customer touched recently.
      const recent = new Set(body.profile.recentItems.map((i: { productId: string }) => i.productId));
      for (const rec of body.recommendations) expect(recent.has(rec.productId)).toBe(false);
      if (body.recommendations.length > 0) withRecs++;
    }
    expect(withRecs).toBeGreaterThan(5);
    const missing = await get(server.url, '/v1/customers/nobody-here', auth);
    expect([missing.status, JSON.parse(missing.body).error.code]).toEqual([404, 'VIGIL_ERR_NOT_FOUND']);
    expect(missing.body).not.toContain('nobody-here');
  });

  it('GET /v1/token names the presented token and its scope, and refuses a bad one', async () => {
    const ok = await get(server.url, '/v1/token', auth);
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body) as { name: string; scopes: string[]; types: string[] };
    const configured = config.server.tokens.find((t) => auth.authorization === `Bearer ${t.token}`)!;
    expect(body.name).toBe(configured.name);
    expect(body.scopes).toEqual(configured.scopes);
    expect(body.types.length).toBeGreaterThan(0);
    expect(ok.body).not.toContain(configured.token);
    expect((await get(server.url, '/v1/token')).status).toBe(401);
    expect((await get(server.url, '/v1/token', { authorization: `Bearer ${'u'.repeat(40)}` })).status).toBe(401);
  });

  it('GET /v1/items/:id/similar returns products co-viewed with it, best first', async () => {
    // Oracle: co-views come from one customer's session, so a neighbour must have been touched
    // by a customer who touched the item within a few hours of it (sessions close after 30 min idle).
    const NEAR = 6 * 3_600_000;
    const touches = new Map<string, { p: string; ts: number }[]>();
    for (const e of events) {
      const ps =
        e.type === 'purchase'
          ? e.items.map((i) => i.productId)
          : 'productId' in e && typeof e.productId === 'string'
            ? [e.productId]
            : [];
      for (const p of ps) {
        if (!touches.has(e.customerId)) touches.set(e.customerId, []);
        touches.get(e.customerId)!.push({ p, ts: e.ts });
      }
    }
    const nearby = (item: string): Set<string> => {
      const out = new Set<string>();
      for (const list of touches.values())
        for (const a of list) if (a.p === item) for (const b of list) if (Math.abs(b.ts - a.ts) <= NEAR) out.add(b.p);
      return out;
    };
    const viewed = [
      ...new Set(events.filter((e) => e.type === 'product_view').map((e) => (e as { productId: string }).productId)),
    ].slice(0, 30);
    let nonEmpty = 0;
    for (const p of viewed) {
      const r = await get(server.url, `/v1/items/${encodeURIComponent(p)}/similar?k=5`, auth);
      expect(r.status).toBe(200);
      const { productId, similar } = JSON.parse(r.body) as {
        productId: string;
        similar: { productId: string; score: number }[];
      };
      expect(productId).toBe(p);
      expect(similar.length).toBeLessThanOrEqual(5);
      expect(new Set(similar.map((s) => s.productId)).size).toBe(similar.length);
      for (let i = 1; i < similar.length; i++) expect(similar[i]!.score).toBeLessThanOrEqual(similar[i - 1]!.score);
      const near = nearby(p);
      for (const s of similar) {
        expect(s.productId).not.toBe(p);
        expect(near.has(s.productId), `${s.productId} was never touched near ${p}`).toBe(true);
      }
      if (similar.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(10);
    expect((await get(server.url, `/v1/items/${viewed[0]}/similar`)).status).toBe(401);
    expect((await get(server.url, `/v1/items/${viewed[0]}/similar?k=0`, auth)).status).toBe(400);
    expect((await get(server.url, `/v1/items/${viewed[0]}/similar?k=51`, auth)).status).toBe(400);
    expect((await get(server.url, '/v1/items/no-such-product/similar', auth)).status).toBe(404);
  });

  it('GET /metrics is Prometheus text with the engine figures and no customer or product ids', async () => {
    const r = await get(server.url, '/metrics', auth);
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = new Map<string, number>();
    for (const line of r.body.split('\n')) {
      if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      const m =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(
          line,
        );
      expect(m, line).not.toBeNull();
      samples.set(m![1]! + (m![2] ?? ''), Number(m![3]));
    }
    const c = engine.state.counters;
    expect(samples.get('vigil_events_total{outcome="applied"}')).toBe(c.applied);
    expect(samples.get('vigil_events_total{outcome="rejected"}')).toBe(c.rejected);
    expect(samples.get('vigil_customers')).toBe(engine.state.store.size);
    expect(samples.get('vigil_alerts_total{type="cart.abandoned"}')).toBe(
      engine.state.alerts!.emitted['cart.abandoned'],
    );
    const analytics = engine.state.analytics!;
    expect(samples.get('vigil_model_refits_total{result="completed"}')).toBe(analytics.refits);
    expect(samples.get('vigil_model_refits_total{result="bgnbd_rejected"}')).toBe(analytics.refitsRejected);
    expect(samples.get('vigil_model_refit_pending')).toBe(analytics.refitPending ? 1 : 0);
    const campaigns = engine.state.campaigns!.cohorts;
    expect(samples.get('vigil_campaign_events_total{outcome="over_limit"}')).toBe(campaigns.outcomes.overLimit);
    expect(samples.get('vigil_campaign_events_total{outcome="untracked"}')).toBe(campaigns.outcomes.untracked);
    expect(samples.get('vigil_campaigns_live')).toBe(campaigns.liveCount());
    for (const name of [
      'vigil_batch_processing_seconds_count',
      'vigil_event_time_lag_seconds',
      'vigil_watermark_lag_seconds',
      'vigil_ws_clients',
      'vigil_alert_latency_seconds_bucket{le="+Inf"}',
      'vigil_alert_latency_seconds_count',
      'vigil_process_cpu_seconds_total',
      'vigil_nodejs_eventloop_lag_p99_seconds',
      'vigil_ws_alerts_total{result="dropped"}',
    ]) {
      expect(samples.has(name), name).toBe(true);
    }
    expect(r.body).toContain('# TYPE vigil_alert_latency_seconds histogram');
    expect(r.body).not.toMatch(/_process_process_|vigil_process_nodejs_/);
    for (const id of engine.state.store.customerIds()) expect(r.body.includes(id), id).toBe(false);
    for (const p of engine.state.store.products.snapshot()) expect(r.body.includes(`"${p}"`), p).toBe(false);
  });

  it('GET /livez always, /readyz only while the source is connected', async () => {
    expect((await get(server.url, '/livez')).status).toBe(200);
    expect(JSON.parse((await get(server.url, '/readyz')).body)).toEqual({
      status: 'ready',
      sourceConnected: true,
      stateReady: true,
      outputsFlowing: true,
    });
    ready = false;
    const r = await get(server.url, '/readyz');
    expect([r.status, JSON.parse(r.body).sourceConnected]).toEqual([503, false]);
    ready = true;
    expect((await get(server.url, '/readyz')).status).toBe(200);
  });

  it('serves the dashboard and uPlot by name only, with CSP and nosniff; nothing else of the file system', async () => {
    const page = await get(server.url, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const uplot = await get(server.url, '/assets/uplot.iife.min.js');
    expect([uplot.status, uplot.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(uplot.body).toContain('uPlot');
    expect((await get(server.url, '/assets/uPlot.min.css')).status).toBe(200);
    for (const path of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/assets/../../package.json',
      '/src/server/dashboard/index.html',
      '/config/default.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '//etc/passwd',
      '/index.html%00.js',
    ]) {
      const r = await get(server.url, path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('"name": "vigil"');
    }
    expect((await get(server.url, '/', {}, 'POST')).status).toBe(405);
    // A request target that does not parse as a URL is a 400, not a crash.
    for (const path of ['//[', 'http://%zz/']) expect((await get(server.url, path)).status, path).toBe(400);
    expect((await get(server.url, '/livez')).status).toBe(200);
  });

  it('logs JSON lines with levels, and even at debug no customer id, product id or token', async () => {
    expect(await refusal(server.url, { token: 'z'.repeat(40) })).toEqual({ status: 401, code: 'VIGIL_ERR_AUTH' });
    const c = await StreamClient.connect(server.url, { token: TOKEN });
    await c.subscribe({ replay: 10 });
    await c.close();
    const lines = logLines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.every((l) => typeof l.level === 'number' && typeof l.msg === 'string')).toBe(true);
    expect(lines.some((l) => l.msg === 'stream upgrade refused')).toBe(true);
    const text = logLines.join('');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('z'.repeat(40));
    for (const id of engine.state.store.customerIds()) expect(text.includes(id), id).toBe(false);
    for (const p of engine.state.store.products.snapshot()) expect(text.includes(`"${p}"`), p).toBe(false);
  });
});
