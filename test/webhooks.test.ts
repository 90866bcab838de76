import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { registerMarketingMetrics } from '../src/delivery/sinks/marketing-metrics.js';
import { once } from 'node:events';
import { createWebhookReceiver } from '../examples/webhook-receiver.js';
import type { VigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { afterEach, describe, expect, it } from 'vitest';
import { marketingAlertTypes } from '../src/alerts/alert.js';
import { SuppressionList } from '../src/alerts/suppression.js';
import { MarketingGate } from '../src/delivery/marketing/audience.js';
import { retryAfterMs, backoffDelay } from '../src/core/backoff.js';
import { BoundedQueue } from '../src/delivery/marketing/bounded-queue.js';
import { vigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { Pseudonymiser } from '../src/delivery/marketing/pseudonym.js';
import { resolveWebhooks, type WebhookDestination } from '../src/delivery/marketing/webhook-destinations.js';
import { signWebhook, verifyWebhook } from '../src/delivery/marketing/webhook-signature.js';
import { WebhookSink, type WebhookSinkDeps } from '../src/delivery/sinks/webhooks.js';
import { cloudEventSpec } from './support/cloudevents-spec.js';
import { testConfig } from './support/engine-harness.js';
import { HttpReceiver, type Received, type Reply } from './support/http-receiver.js';
import { runWithSinks, shopMessages } from './support/shop-alerts.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
// Marketing delivery: demand.* are ops alerts (no customer), never sent to marketing; off here.
const config = testConfig({ demand: { alerts: { granularities: [] } } });
const messages = shopMessages();
const receivers: HttpReceiver[] = [];
const sinks: WebhookSink[] = [];

afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close(0);
  for (const r of receivers.splice(0)) await r.stop();
});

async function receiver(reply: (r: Received, all: readonly Received[]) => Reply): Promise<HttpReceiver> {
  const r = await HttpReceiver.start(reply);
  receivers.push(r);
  return r;
}

function destination(url: string, overrides: Record<string, unknown> = {}): WebhookDestination {
  const cfg = testConfig({
    triggers: {
      webhooks: {
        defaults: {
          timeoutMs: 5000,
          maxAttempts: 5,
          maxQueue: 100_000,
          concurrency: 4,
          backoff: { baseMs: 1, maxMs: 5 },
          maxRetryAfterMs: 3_600_000,
        },
        destinations: [{ name: 'crm', url, secret: SECRET, ...overrides }],
      },
    },
  });
  return resolveWebhooks(cfg.triggers.webhooks, {})[0]!;
}

function sink(
  dests: WebhookDestination[],
  gate = MarketingGate.of(SuppressionList.empty, null),
  deps: WebhookSinkDeps = {},
): WebhookSink {
  const s = new WebhookSink(dests, gate, 'urn:vigil:test', { log: () => {}, ...deps });
  sinks.push(s);
  return s;
}

const idOf = (r: Received) => r.headers['webhook-id'] as string;
const verifies = (r: Received) =>
  verifyWebhook({
    secret: SECRET,
    id: r.headers['webhook-id'] as string,
    timestamp: r.headers['webhook-timestamp'] as string,
    signature: r.headers['webhook-signature'] as string,
    body: r.body,
  }).ok;

describe('Standard Webhooks signatures', () => {
  const vector = { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', ts: 1614265330, body: '{"test": 2432232314}' };
  const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

  it("reproduces the specification's published test vector", () => {
    expect(signWebhook(SECRET, vector.id, vector.ts, vector.body)).toBe(expected);
    expect(signWebhook(SECRET, vector.id, vector.ts, Buffer.from(vector.body))).toBe(expected);
  });

  it('verifies the vector, one of several signatures, and rejects tampering, old or future timestamps', () => {
    const base = {
      secret: SECRET,
      id: vector.id,
      timestamp: String(vector.ts),
      signature: expected,
      body: vector.body,
      nowSeconds: vector.ts + 10,
    };
    expect(verifyWebhook(base)).toEqual({ ok: true });
    expect(verifyWebhook({ ...base, signature: `v1,bm9wZQ== ${expected}` })).toEqual({ ok: true });
    expect(verifyWebhook({ ...base, body: '{"test": 2432232315}' })).toEqual({
      ok: false,
      reason: 'no_matching_signature',
    });
    expect(verifyWebhook({ ...base, id: 'msg_other' }).ok).toBe(false);
    expect(verifyWebhook({ ...base, timestamp: String(vector.ts + 1), nowSeconds: vector.ts }).ok).toBe(false);
    expect(verifyWebhook({ ...base, signature: expected.replace('v1,', 'v2,') }).ok).toBe(false);
    expect(
      verifyWebhook({ ...base, secret: 'whsec_' + Buffer.from('another key of sixteen+').toString('base64') }).ok,
    ).toBe(false);
    expect(verifyWebhook({ ...base, nowSeconds: vector.ts + 301 })).toEqual({
      ok: false,
      reason: 'timestamp_out_of_tolerance',
    });
    expect(verifyWebhook({ ...base, nowSeconds: vector.ts - 301 })).toEqual({
      ok: false,
      reason: 'timestamp_out_of_tolerance',
    });
    expect(verifyWebhook({ ...base, signature: undefined })).toEqual({ ok: false, reason: 'missing_headers' });
  });

  it('any change to id, timestamp or body breaks the signature (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.string(),
        fc.string({ minLength: 1 }),
        (id, ts, body, extra) => {
          const signature = signWebhook(SECRET, id, ts, body);
          const ok = (i: string, t: number, b: string) =>
            verifyWebhook({ secret: SECRET, id: i, timestamp: String(t), signature, body: b, nowSeconds: ts }).ok;
          return ok(id, ts, body) && !ok(id + extra, ts, body) && !ok(id, ts, body + extra) && !ok(id, ts + 1, body);
        },
      ),
    );
  });
});

describe('vigil webhook verify', () => {
  it('says valid for a signed body and invalid for a tampered one, the secret from the environment', () => {
    const body = '{"specversion":"1.0","id":"x"}';
    const ts = Math.floor(Date.now() / 1000);
    const signature = signWebhook(SECRET, 'msg_1', ts, body);
    const verify = (input: string) =>
      spawnSync(
        'node',
        [
          'dist/src/app/cli.js',
          'webhook',
          'verify',
          '--id',
          'msg_1',
          '--timestamp',
          String(ts),
          '--signature',
          signature,
        ],
        {
          input,
          encoding: 'utf8',
          env: { ...process.env, WEBHOOK_SECRET: SECRET },
        },
      );
    const ok = verify(body);
    expect([ok.status, ok.stdout]).toEqual([0, 'valid\n']);
    const bad = verify(body.replace('x', 'y'));
    expect([bad.status, bad.stdout]).toEqual([1, 'invalid: no_matching_signature\n']);
  });
});

describe('delivery policy pieces', () => {
  it('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 12);
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(retryAfterMs(new Date(now - 90_000).toUTCString(), now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('backoff is full jitter under a doubling, capped ceiling', () => {
    const cfg = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffDelay(n, cfg, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, cfg, () => 0)).toBe(0);
  });

  it('the bounded queue behaves as a FIFO that refuses pushes past its capacity (against an array model)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.constant<'shift'>('shift'), fc.integer())),
        (capacity, ops) => {
          const q = new BoundedQueue<number>(capacity);
          const model: number[] = [];
          let overflow = 0;
          for (const op of ops) {
            if (op === 'shift') {
              if (q.shift() !== model.shift()) return false;
            } else if (model.length < capacity) {
              model.push(op);
              if (!q.push(op)) return false;
            } else {
              overflow++;
              if (q.push(op)) return false;
            }
            if (q.size !== model.length) return false;
          }
          return q.overflow === overflow;
        },
      ),
    );
  });
});

describe('webhook deliveries to a real local HTTP receiver', () => {
  it('every marketing alert is delivered once, signed, as a valid CloudEvent', async () => {
    const r = await receiver(() => ({ status: 204 }));
    const s = sink([destination(r.url)]);
    const { alerts } = await runWithSinks(config, messages, [s]);
    await s.idle();
    const wanted = alerts.filter((a) => marketingAlertTypes.includes(a.type));
    expect(r.received.length).toBe(wanted.length);
    expect(new Set(r.received.map(idOf))).toEqual(new Set(wanted.map((a) => a.id)));
    for (const got of r.received) {
      expect(verifies(got)).toBe(true);
      expect(got.headers['content-type']).toBe('application/cloudevents+json');
      const event = JSON.parse(got.body.toString('utf8'));
      expect(cloudEventSpec.safeParse(event).success).toBe(true);
      expect(vigilCloudEvent.parse(event).id).toBe(idOf(got));
    }
    // Tampering with what was received breaks it.
    const first = r.received[0]!;
    expect(verifies({ headers: first.headers, body: Buffer.concat([first.body, Buffer.from(' ')]) })).toBe(false);
    expect(s.stats().crm).toMatchObject({
      delivered: wanted.length,
      failed: 0,
      retried: 0,
      overflow: 0,
      queued: 0,
      inFlight: 0,
    });
  }, 60_000);

  it('a filter selects types, segments, severity and score', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const filter = { types: ['churn.risk', 'cart.abandoned'], minScore: 0.6 };
    const s = sink([destination(r.url, { filter })]);
    const { alerts } = await runWithSinks(config, messages, [s]);
    await s.idle();
    const wanted = alerts.filter((a) => (a.type === 'churn.risk' || a.type === 'cart.abandoned') && a.score >= 0.6);
    expect(wanted.length).toBeGreaterThan(0);
    expect(r.received.map(idOf).sort()).toEqual(wanted.map((a) => a.id).sort());
  }, 60_000);

  it('a receiver failing transiently gets each delivery after retries, exactly once by webhook-id', async () => {
    const okBy = new Map<string, number>();
    const r = await receiver((got, all) => {
      const tries = all.filter((x) => idOf(x) === idOf(got)).length;
      if (tries <= 2) return { status: tries === 1 ? 500 : 503 };
      okBy.set(idOf(got), (okBy.get(idOf(got)) ?? 0) + 1);
      return { status: 200 };
    });
    const s = sink([destination(r.url)]);
    const { alerts } = await runWithSinks(config, messages.slice(0, 6000), [s]);
    await s.idle();
    expect(alerts.length).toBeGreaterThan(10);
    expect(okBy.size).toBe(alerts.length);
    expect([...okBy.values()].every((n) => n === 1)).toBe(true);
    expect(r.received.length).toBe(3 * alerts.length);
    for (const got of r.received) expect(verifies(got)).toBe(true);
    expect(s.stats().crm).toMatchObject({ delivered: alerts.length, retried: 2 * alerts.length, failed: 0 });
  }, 60_000);

  it('gives up after maxAttempts; a 4xx other than 408/410/429 is not retried', async () => {
    const r500 = await receiver(() => ({ status: 500 }));
    const r400 = await receiver(() => ({ status: 400 }));
    const logs: string[] = [];
    const s = sink([destination(r500.url, { maxAttempts: 3 }), { ...destination(r400.url), name: 'bad' }], undefined, {
      log: (l) => logs.push(l),
    });
    const { alerts } = await runWithSinks(config, messages.slice(0, 3000), [s]);
    await s.idle();
    // Failures are logged at the 1st, 10th, 100th…, by destination and reason, without customer data.
    const powers = [1, 10, 100, 1000].filter((n) => n <= alerts.length);
    expect(logs.filter((l) => l.startsWith('webhook bad: a delivery failed (HTTP 400, not retried)')).length).toBe(
      powers.length,
    );
    expect(logs.filter((l) => l.startsWith('webhook crm: a delivery failed (no success in 3 attempts)')).length).toBe(
      powers.length,
    );
    for (const l of logs) expect(l).not.toMatch(/c\d{6}/);
    expect(r500.received.length).toBe(3 * alerts.length);
    expect(r400.received.length).toBe(alerts.length);
    expect(s.stats().crm).toMatchObject({ delivered: 0, failed: alerts.length, retried: 2 * alerts.length });
    expect(s.stats().bad).toMatchObject({ delivered: 0, failed: alerts.length, retried: 0 });
  }, 60_000);

  it('410 Gone disables the destination: no further deliveries', async () => {
    const r = await receiver(() => ({ status: 410 }));
    const s = sink([destination(r.url, { concurrency: 1 })]);
    const { alerts } = await runWithSinks(config, messages.slice(0, 6000), [s]);
    await s.idle();
    expect(alerts.length).toBeGreaterThan(10);
    expect(r.received.length).toBe(1);
    expect(s.stats().crm).toMatchObject({ gone: 1, delivered: 0, dropped: alerts.length - 1, disabled: true });
    // Later alerts are not sent either.
    await runWithSinks(config, messages.slice(0, 6000), [s]);
    await s.idle();
    expect(r.received.length).toBe(1);
    expect(s.stats().crm!.dropped).toBe(2 * alerts.length - 1);
  }, 60_000);

  it('429 with Retry-After (seconds or date) is honoured, capped by maxRetryAfterMs', async () => {
    const now = Date.UTC(2026, 5, 1);
    const r = await receiver((got, all) => {
      const tries = all.filter((x) => idOf(x) === idOf(got)).length;
      if (tries === 1) return { status: 429, headers: { 'retry-after': '2' } };
      if (tries === 2) return { status: 503, headers: { 'retry-after': new Date(now + 7000).toUTCString() } };
      if (tries === 3) return { status: 429, headers: { 'retry-after': '100000' } };
      return { status: 200 };
    });
    const waits: number[] = [];
    const s = sink([destination(r.url, { concurrency: 1, maxRetryAfterMs: 60_000 })], undefined, {
      now: () => now,
      sleep: async (ms) => void waits.push(ms),
    });
    const { alerts } = await runWithSinks(config, messages.slice(0, 3000), [s]);
    await s.idle();
    expect(alerts.length).toBeGreaterThan(2);
    // One delivery at a time: each waited exactly what the receiver asked for, in order.
    expect(waits).toEqual(alerts.flatMap(() => [2000, 7000, 60_000]));
    expect(r.received.length).toBe(4 * alerts.length);
    expect(s.stats().crm).toMatchObject({ delivered: alerts.length, retried: 3 * alerts.length });
  }, 60_000);

  it('a receiver that never answers does not slow the engine: deliveries back up to maxQueue, the overflow is counted', async () => {
    const r = await receiver(() => 'hang');
    const s = sink([destination(r.url, { concurrency: 2, maxQueue: 10, timeoutMs: 60_000 })]);
    const { engine, alerts } = await runWithSinks(config, messages, [s]);
    expect(engine.state.counters.input).toBe(messages.length);
    expect(alerts.length).toBeGreaterThan(100);
    expect(s.stats().crm).toMatchObject({ delivered: 0, inFlight: 2, queued: 10, overflow: alerts.length - 12 });
    await s.close(0);
    expect(s.stats().crm).toMatchObject({
      delivered: 0,
      inFlight: 0,
      queued: 0,
      dropped: 12,
      overflow: alerts.length - 12,
    });
    const registry = new Registry();
    registerMarketingMetrics(registry, { webhooks: s });
    const text = await registry.metrics();
    expect(text).toContain(
      `vigil_webhook_deliveries_total{destination="crm",outcome="overflow"} ${alerts.length - 12}`,
    );
    expect(text).toContain('vigil_webhook_deliveries_total{destination="crm",outcome="dropped"} 12');
    expect(text).toContain('vigil_webhook_queue{destination="crm",state="queued"} 0');
    expect(text).toContain('vigil_webhook_disabled{destination="crm"} 0');
  }, 60_000);

  it('a timed-out attempt is retried and counted', async () => {
    // The first 8 deliveries hang on their first attempt; everything else is answered at once.
    const hung = new Set<string>();
    const r = await receiver((got) => {
      if (hung.size < 8 && !hung.has(idOf(got))) {
        hung.add(idOf(got));
        return 'hang';
      }
      return { status: 200 };
    });
    const s = sink([destination(r.url, { timeoutMs: 500 })]);
    const { alerts } = await runWithSinks(config, messages.slice(0, 3000), [s]);
    await s.idle();
    const stats = s.stats().crm!;
    expect(stats).toMatchObject({ delivered: alerts.length, failed: 0 });
    expect(stats.timeouts).toBeGreaterThanOrEqual(8);
    expect(stats.retried).toBe(stats.timeouts);
    for (const id of hung) expect(r.received.filter((x) => idOf(x) === id).length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('suppressed customers never reach a destination; pseudonymised ids: no raw id in any header or body', async () => {
    const secret = 'the pseudonymisation key for the webhook test, 32+ chars';
    const { alerts: all } = await runWithSinks(config, messages, []);
    const customers = [...new Set(all.map((a) => a.customerId!))].sort();
    const suppressed = new Set(customers.filter((_, i) => i % 4 === 1));
    const r = await receiver(() => ({ status: 200 }));
    const s = sink([destination(r.url)], MarketingGate.of(SuppressionList.of(suppressed, 1000), secret));
    const { alerts } = await runWithSinks(config, messages, [s]);
    await s.idle();
    const allowed = alerts.filter((a) => !suppressed.has(a.customerId!));
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.length).toBeLessThan(alerts.length);
    const p = new Pseudonymiser(secret);
    expect(r.received.map(idOf).sort()).toEqual(allowed.map((a) => p.alertId(a)).sort());
    expect(s.stats().crm).toMatchObject({ delivered: allowed.length, suppressed: alerts.length - allowed.length });
    const suppressedPseudonyms = [...suppressed].map((id) => p.customer(id));
    for (const got of r.received) {
      const everything = JSON.stringify(got.headers) + got.body.toString('utf8');
      for (const id of customers) expect(everything.includes(id), `raw id ${id} leaked`).toBe(false);
      for (const pid of suppressedPseudonyms) expect(everything.includes(pid)).toBe(false);
      expect(verifies(got)).toBe(true);
      const event = vigilCloudEvent.parse(JSON.parse(got.body.toString('utf8')));
      expect(event.subject).toBe(event.data.customerId);
      expect(event.subject.startsWith('p-')).toBe(true);
    }
  }, 60_000);
});

describe('examples/webhook-receiver.ts', () => {
  it('accepts signed deliveries once by webhook-id and refuses forged ones', async () => {
    const got: VigilCloudEvent[] = [];
    const server = createWebhookReceiver(SECRET, (e) => got.push(e));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    try {
      const s = sink([destination(url)]);
      const { alerts } = await runWithSinks(config, messages.slice(0, 6000), [s]);
      await s.idle();
      expect(got.map((e) => e.id).sort()).toEqual(alerts.map((a) => a.id).sort());
      expect(s.stats().crm).toMatchObject({ delivered: alerts.length, failed: 0 });
      // The same delivery again (a retry whose answer was lost): accepted, not handled twice.
      const body = JSON.stringify({ ...got[0]! });
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        'webhook-id': got[0]!.id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signWebhook(SECRET, got[0]!.id, ts, body),
      };
      expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(204);
      expect(got.length).toBe(alerts.length);
      // Forged: the body changed after signing.
      expect((await fetch(url, { method: 'POST', headers, body: body.replace('"data"', '"data" ') })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', body })).status).toBe(401);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('webhook destinations from config', () => {
  it('secretEnv reads the secret from the environment; a missing one is a config error that does not print it', () => {
    const cfg = testConfig({
      triggers: {
        webhooks: {
          destinations: [{ name: 'crm', url: 'https://crm.example/hook', secretEnv: 'CRM_HOOK_SECRET', maxQueue: 7 }],
        },
      },
    });
    const [d] = resolveWebhooks(cfg.triggers.webhooks, { CRM_HOOK_SECRET: SECRET });
    expect(d).toMatchObject({ name: 'crm', maxQueue: 7, timeoutMs: cfg.triggers.webhooks.defaults.timeoutMs });
    expect(d!.key.equals(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'))).toBe(true);
    expect(() => resolveWebhooks(cfg.triggers.webhooks, { CRM_HOOK_SECRET: 'not-a-secret' })).toThrow(
      /CRM_HOOK_SECRET/,
    );
    try {
      resolveWebhooks(cfg.triggers.webhooks, { CRM_HOOK_SECRET: 'not-a-secret' });
    } catch (e) {
      expect(JSON.stringify({ m: (e as Error).message, d: (e as { details: unknown }).details })).not.toContain(
        'not-a-secret',
      );
    }
  });

  it('refuses plain http beyond localhost, a malformed secret, both or neither secret, duplicate names', () => {
    const problems = (destinations: unknown[]): string => {
      try {
        testConfig({ triggers: { webhooks: { destinations } } });
      } catch (e) {
        return (e as { details: string[] }).details.join('\n');
      }
      return 'accepted';
    };
    const bad = (destinations: unknown[]) => ({ toThrow: (re: RegExp) => expect(problems(destinations)).toMatch(re) });
    bad([{ name: 'a', url: 'http://crm.example/hook', secret: SECRET }]).toThrow(/url: must be an https URL/);
    bad([{ name: 'a', url: 'https://crm.example/hook', secret: 'whsec_short' }]).toThrow(/secret: must be whsec_/);
    bad([{ name: 'a', url: 'https://crm.example/hook' }]).toThrow(/exactly one/);
    bad([{ name: 'a', url: 'https://crm.example/hook', secret: SECRET, secretEnv: 'X' }]).toThrow(/exactly one/);
    bad([
      { name: 'a', url: 'https://x.example/', secret: SECRET },
      { name: 'a', url: 'https://y.example/', secret: SECRET },
    ]).toThrow(/unique/);
    expect(problems([{ name: 'a', url: 'https://crm.example/hook', secret: SECRET }])).toBe('accepted');
    expect(problems([{ name: 'a', url: 'http://127.0.0.1:9/hook', secret: SECRET }])).toBe('accepted');
    expect(problems([{ name: 'a', url: 'https://crm.example/hook', secret: 'whsec_short' }])).not.toContain(
      'whsec_short',
    );
  });
});
