import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSpecFiles } from '../scripts/api-specs.js';
import { encodePayload } from '../src/edges/encode.js';
import { Engine } from '../src/app/engine.js';
import { encodeCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import type { Alert } from '../src/alerts/alert.js';
import type { EngineBatch as Batch } from '../src/app/engine.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { testConfig } from './support/engine-harness.js';
import { StreamClient } from './support/stream-client.js';

/**
 * docs/openapi.json and docs/asyncapi.json are what the zod schemas generate, the server
 * serves the same, and real answers of a running server (HTTP bodies, stream frames, trigger
 * CloudEvents) validate against the schemas in them (ajv, JSON Schema 2020-12).
 */
const TOKEN = 'api-specs-test-token-0123456789abcdef';
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
    kpiIntervalMs: 100,
  },
});
const engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
const alerts: Alert[] = [];
let server: OpsServer;

beforeAll(async () => {
  server = await startOpsServer({ config, engine });
  const shop = new SyntheticShop({
    seed: 3,
    customers: 300,
    products: 300,
    startTs: START,
    endTs: START + 60 * 86_400_000,
  });
  const messages: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 's', receivedAt: performance.now() });
  const recorder = { handle: (b: Batch) => void alerts.push(...b.alerts) };
  await engine.run(new InProcessSource(messages, { name: 'test', batchSize: 256, finite: true }), {
    sinks: [server.sink, recorder],
  });
  server.hub.flush();
});
afterAll(async () => server?.close());

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const openapi = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8'));
const asyncapi = JSON.parse(readFileSync(new URL('../docs/asyncapi.json', import.meta.url), 'utf8'));

function responseSchema(path: string, status: number): object {
  return openapi.paths[path].get.responses[String(status)].content['application/json'].schema;
}

async function getJson(path: string, auth = true): Promise<{ status: number; body: unknown }> {
  const r = await fetch(server.url + path, { headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} });
  return { status: r.status, body: await r.json() };
}

function expectValid(schema: object, value: unknown, what: string): void {
  const validate = ajv.compile(schema);
  expect(validate(value), `${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

describe('OpenAPI and AsyncAPI documents', () => {
  it('the checked-in documents are what the schemas generate, and the server serves them', async () => {
    for (const [file, text] of Object.entries(apiSpecFiles()))
      expect(
        readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'),
        `${file}: run npx tsx scripts/api-specs.ts`,
      ).toBe(text);
    expect((await getJson('/v1/openapi.json', false)).body).toEqual(openapi);
    expect((await getJson('/v1/asyncapi.json', false)).body).toEqual(asyncapi);
    expect(openapi.openapi).toBe('3.1.0');
    expect(asyncapi.asyncapi).toBe('3.0.0');
  });

  it('real HTTP answers validate against the OpenAPI response schemas, and a wrong body does not', async () => {
    const customer = [...engine.state.store.customerIds()][0]!;
    const product = engine.state.store.products.snapshot()[0]!;
    const cases: [string, boolean, number][] = [
      ['/livez', false, 200],
      ['/readyz', false, 200],
      ['/v1/token', true, 200],
      ['/v1/token', false, 401],
      [`/v1/customers/${encodeURIComponent(customer)}`, true, 200],
      ['/v1/customers/nobody-here', true, 404],
      [`/v1/items/${encodeURIComponent(product)}/similar?k=5`, true, 200],
      [`/v1/items/${encodeURIComponent(product)}/similar?k=0`, true, 400],
      ['/v1/forecasts', true, 200],
      ['/v1/forecasts/_all', true, 200],
      ['/v1/forecasts/no-such-category', true, 404],
      ['/v1/campaigns/no-such-campaign', true, 404],
    ];
    const templates: [string, string][] = [
      ['/v1/customers/', '/v1/customers/{id}'],
      ['/v1/items/', '/v1/items/{id}/similar'],
      ['/v1/forecasts/', '/v1/forecasts/{category}'],
      ['/v1/campaigns/', '/v1/campaigns/{id}'],
    ];
    for (const [path, auth, status] of cases) {
      const r = await getJson(path, auth);
      expect(r.status, path).toBe(status);
      const template = templates.find(([prefix]) => path.startsWith(prefix))?.[1] ?? path;
      expectValid(responseSchema(template, status), r.body, path);
    }
    const validate = ajv.compile(responseSchema('/v1/token', 200));
    expect(validate({ name: 'app' })).toBe(false);
  });

  it('real stream frames and trigger CloudEvents validate against the AsyncAPI payloads', async () => {
    const client = await StreamClient.connect(server.url, { token: TOKEN });
    client.send({ type: 'subscribe', since: 0 });
    await expect
      .poll(() => client.frames.filter((f) => f.type === 'alert').length, { timeout: 30_000 })
      .toBeGreaterThan(20);
    await expect.poll(() => client.frames.some((f) => f.type === 'kpi'), { timeout: 30_000 }).toBe(true);
    const frame = ajv.compile(asyncapi.components.messages.serverFrame.payload);
    const kinds = new Set<string>();
    for (const f of client.frames) {
      expect(frame(f), `${f.type}: ${ajv.errorsText(frame.errors)}`).toBe(true);
      kinds.add(f.type);
    }
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['alert', 'hello', 'kpi']));
    expect(frame({ type: 'alert', seq: 0 })).toBe(false);
    const sent = ajv.compile(asyncapi.components.messages.clientFrame.payload);
    expect(sent({ type: 'subscribe', since: 0, filter: { types: ['churn.risk'] } })).toBe(true);
    expect(sent({ type: 'subscribe', since: -1 })).toBe(false);
    await client.close();

    const trigger = ajv.compile(asyncapi.components.messages.trigger.payload);
    const types = new Set<string>();
    for (const a of alerts) {
      const event = JSON.parse(Buffer.from(encodeCloudEvent(a, 'urn:vigil:test')).toString('utf8'));
      expect(trigger(event), ajv.errorsText(trigger.errors)).toBe(true);
      types.add(a.type);
    }
    expect(types.size).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
