import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertSchema, marketingAlertTypes, type Alert } from '../src/alerts/alert.js';
import { SuppressionList } from '../src/alerts/suppression.js';
import { decodePayload } from '../src/ingest/codec/decode.js';
import { MarketingGate } from '../src/delivery/marketing/audience.js';
import { vigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { Pseudonymiser } from '../src/delivery/marketing/pseudonym.js';
import { NatsTriggerSink, type NatsTriggerOptions } from '../src/delivery/sinks/nats-triggers.js';
import { Registry } from 'prom-client';
import { startDemo } from '../src/app/cli/start.js';
import { PassThrough } from 'node:stream';
import { verifyWebhook } from '../src/delivery/marketing/webhook-signature.js';
import { registerMarketingMetrics } from '../src/delivery/sinks/marketing-metrics.js';
import { NatsServer } from '../bench/support/nats-server.js';
import { HttpReceiver } from './support/http-receiver.js';
import { readStream } from './support/trigger-stream.js';
import { consumeTriggers, reactTo } from '../examples/marketing-consumer.js';
import type { VigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { cloudEventSpec } from './support/cloudevents-spec.js';
import { testConfig } from './support/engine-harness.js';
import { runWithSinks, shopMessages } from './support/shop-alerts.js';

/**
 * Marketing triggers against a real nats-server: what lands in the stream is compared with
 * the alerts the engine emitted (collected by a plain sink beside the trigger sink).
 */
let server: NatsServer;
let nc: NatsConnection;
// Marketing delivery: demand.* are ops alerts (no customer), never sent to marketing; off here.
const config = testConfig({ demand: { alerts: { granularities: [] } } });
const messages = shopMessages();

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

function options(stream: string, overrides: Partial<NatsTriggerOptions> = {}): NatsTriggerOptions {
  return {
    ...config.triggers.nats,
    source: config.triggers.source,
    enabled: true,
    stream,
    subjectPrefix: `t.${stream.toLowerCase()}`,
    ...overrides,
  };
}

async function run(sink: NatsTriggerSink): Promise<Alert[]> {
  await sink.ensureStream();
  const { alerts } = await runWithSinks(config, messages, [sink]);
  await sink.idle();
  return alerts;
}

describe('marketing triggers on NATS JetStream (real nats-server)', () => {
  it('every marketing alert arrives once as a valid CloudEvent on vigil.triggers.<type>, Nats-Msg-Id = id', async () => {
    const sink = new NatsTriggerSink(nc, options('CE'), MarketingGate.of(SuppressionList.empty, null));
    const alerts = await run(sink);
    const wanted = alerts.filter((a) => marketingAlertTypes.includes(a.type));
    expect(new Set(wanted.map((a) => a.type)).size).toBe(5);
    const stored = await readStream(nc, 'CE');
    expect(stored.length).toBe(wanted.length);
    expect(sink.stats()).toMatchObject({
      published: wanted.length,
      duplicates: 0,
      overflow: 0,
      queued: 0,
      inFlight: 0,
    });
    const byId = new Map(wanted.map((a) => [a.id, a]));
    for (const s of stored) {
      const spec = cloudEventSpec.safeParse(s.event);
      expect(spec.success, JSON.stringify(spec.error?.issues)).toBe(true);
      expect(vigilCloudEvent.safeParse(s.event).success).toBe(true);
      const alert = byId.get(s.event.id as string)!;
      expect(alert).toBeDefined();
      expect(s.event).toEqual({
        specversion: '1.0',
        id: alert.id,
        source: 'urn:vigil:triggers',
        type: `io.vigil.${alert.type}.v1`,
        time: new Date(alert.ts).toISOString(),
        subject: alert.customerId,
        datacontenttype: 'application/json',
        data: alert,
      });
      expect(s.subject).toBe(`t.ce.${alert.type}`);
      expect(s.msgId).toBe(alert.id);
      expect(s.contentType).toBe('application/cloudevents+json');
    }
    expect(new Set(stored.map((s) => s.event.id)).size).toBe(stored.length);
  }, 60_000);

  it('only the configured types are published', async () => {
    const sink = new NatsTriggerSink(
      nc,
      options('TYPES', { types: ['churn.risk', 'cart.abandoned'] }),
      MarketingGate.of(SuppressionList.empty, null),
    );
    const alerts = await run(sink);
    const stored = await readStream(nc, 'TYPES');
    const wanted = alerts.filter((a) => a.type === 'churn.risk' || a.type === 'cart.abandoned');
    expect(stored.map((s) => s.event.id).sort()).toEqual(wanted.map((a) => a.id).sort());
    expect(wanted.length).toBeLessThan(alerts.length);
  }, 60_000);

  it('replaying the same input twice leaves each trigger exactly once in the stream', async () => {
    const first = new NatsTriggerSink(nc, options('REPLAY'), MarketingGate.of(SuppressionList.empty, null));
    const alerts = await run(first);
    // A second, fresh engine over the same input: as `vigil replay` run again, or a restart from scratch.
    const second = new NatsTriggerSink(nc, options('REPLAY'), MarketingGate.of(SuppressionList.empty, null));
    const again = await run(second);
    expect(again.map((a) => a.id)).toEqual(alerts.map((a) => a.id));
    const stored = await readStream(nc, 'REPLAY');
    const distinct = new Set(stored.map((s) => s.msgId));
    expect(stored.length).toBe(alerts.length);
    expect(distinct.size).toBe(stored.length);
    expect([...distinct].sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(first.stats()).toMatchObject({ published: alerts.length, duplicates: 0 });
    expect(second.stats()).toMatchObject({ published: 0, duplicates: alerts.length });
  }, 90_000);

  it('`vigil replay --triggers` run twice on one file: each trigger once in the stream, the second run all duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-triggers-'));
    try {
      const file = join(dir, 'shop.jsonl');
      const lines = messages.slice(0, 8000).map((m) => {
        const r = decodePayload(m.bytes, 1 << 20);
        if (!r.ok) throw new Error('fixture');
        return JSON.stringify(r.value);
      });
      writeFileSync(file, lines.join('\n') + '\n');
      const env = {
        ...process.env,
        VIGIL_TRIGGERS__NATS__ENABLED: 'true',
        VIGIL_TRIGGERS__NATS__URL: server.url,
        VIGIL_TRIGGERS__NATS__STREAM: 'CLI',
      };
      const replay = () =>
        spawnSync('node', ['dist/src/app/cli.js', 'replay', file, '--quiet', '--triggers'], { env, encoding: 'utf8' });
      const first = replay();
      expect(first.status, first.stderr).toBe(0);
      const second = replay();
      expect(second.status, second.stderr).toBe(0);
      const statsOf = (stderr: string) =>
        JSON.parse(/^triggers: (\{.*\})$/m.exec(stderr)![1]!) as { published: number; duplicates: number };
      const a = statsOf(first.stderr);
      expect(a.published).toBeGreaterThan(10);
      expect(statsOf(second.stderr)).toMatchObject({ published: 0, duplicates: a.published });
      const stored = await readStream(nc, 'CLI');
      expect(stored.length).toBe(a.published);
      expect(new Set(stored.map((s) => s.msgId)).size).toBe(stored.length);
      expect(stored[0]!.subject.startsWith('vigil.triggers.')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('`vigil start` (demo) with triggers and a webhook configured: both get the same triggers', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const hook = await HttpReceiver.start(() => ({ status: 200 }));
    const env = {
      VIGIL_DEMO__CUSTOMERS: '800',
      VIGIL_DEMO__EVENTS_PER_SECOND: '2000',
      VIGIL_SERVER__PORT: '0', // the ops server on a free port: 8080 may be taken
      VIGIL_TRIGGERS__NATS__ENABLED: 'true',
      VIGIL_TRIGGERS__NATS__URL: server.url,
      VIGIL_TRIGGERS__NATS__STREAM: 'DEMO',
      VIGIL_TRIGGERS__NATS__SUBJECT_PREFIX: 'demo.triggers',
      VIGIL_TRIGGERS__WEBHOOKS__DESTINATIONS: JSON.stringify([{ name: 'crm', url: hook.url, secret }]),
    };
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    Object.assign(process.env, env);
    try {
      await startDemo({ runForMs: 3500, out });
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
      await hook.stop();
    }
    expect(text).toContain('balanced=true');
    expect(text).toMatch(/\| triggers \d+/);
    const stored = await readStream(nc, 'DEMO');
    expect(stored.length).toBeGreaterThan(0);
    const hookIds = hook.received.map((r) => r.headers['webhook-id'] as string);
    expect(new Set(hookIds)).toEqual(new Set(stored.map((s) => s.msgId)));
    for (const r of hook.received) {
      const verdict = verifyWebhook({
        secret,
        id: r.headers['webhook-id'] as string,
        timestamp: r.headers['webhook-timestamp'] as string,
        signature: r.headers['webhook-signature'] as string,
        body: r.body,
      });
      expect(verdict.ok).toBe(true);
    }
  }, 60_000);

  it('examples/marketing-consumer.ts: a durable consumer gets every trigger once, reacts by type and acks', async () => {
    const sink = new NatsTriggerSink(nc, options('EXAMPLE'), MarketingGate.of(SuppressionList.empty, null));
    const alerts = await run(sink);
    const got: VigilCloudEvent[] = [];
    const stop = new AbortController();
    const handled = await consumeTriggers(
      nc,
      { stream: 'EXAMPLE', durable: 'marketing', subjects: 't.example.>' },
      (e) => {
        got.push(e);
        if (got.length === alerts.length) stop.abort();
      },
      stop.signal,
    );
    expect(handled).toBe(alerts.length);
    expect(got.map((e) => e.id).sort()).toEqual(alerts.map((a) => a.id).sort());
    for (const e of got) expect(reactTo(e).startsWith(`${e.subject}: `)).toBe(true);
    const info = await (await jetstreamManager(nc)).consumers.info('EXAMPLE', 'marketing');
    expect(info.num_pending).toBe(0);
  }, 60_000);

  it('`vigil start` with triggers enabled but no server anywhere stops with VIGIL_ERR_CONFIG', async () => {
    process.env.VIGIL_TRIGGERS__NATS__ENABLED = 'true';
    try {
      await expect(startDemo({ runForMs: 100, port: 0, out: new PassThrough() })).rejects.toMatchObject({
        code: 'VIGIL_ERR_CONFIG',
        message: expect.stringContaining('triggers.nats.url or nats.url'),
      });
    } finally {
      delete process.env.VIGIL_TRIGGERS__NATS__ENABLED;
    }
  });

  it('the counters are exposed as Prometheus metrics', async () => {
    const sink = new NatsTriggerSink(nc, options('METRICS'), MarketingGate.of(SuppressionList.empty, null));
    const alerts = await run(sink);
    const registry = new Registry();
    registerMarketingMetrics(registry, { triggers: sink });
    const text = await registry.metrics();
    expect(text).toContain(`vigil_triggers_total{outcome="published"} ${alerts.length}`);
    expect(text).toContain('vigil_triggers_total{outcome="overflow"} 0');
    expect(text).toContain('vigil_triggers_queue{state="queued"} 0');
    // Read at each scrape: a second scrape does not double the counts.
    expect(await registry.metrics()).toContain(`vigil_triggers_total{outcome="published"} ${alerts.length}`);
  }, 60_000);

  it('the stream is created with the configured limits and dedupe window', async () => {
    const sink = new NatsTriggerSink(nc, options('LIMITS'), MarketingGate.of(SuppressionList.empty, null));
    await sink.ensureStream();
    const info = await (await jetstreamManager(nc)).streams.info('LIMITS');
    const l = config.triggers.nats.streamLimits;
    expect(info.config).toMatchObject({
      subjects: ['t.limits.>'],
      duplicate_window: l.duplicateWindowMs * 1e6,
      max_age: l.maxAgeMs * 1e6,
      max_bytes: l.maxBytes,
      max_msg_size: l.maxMsgSize,
      discard: 'old',
      storage: 'file',
    });
  });

  it('a stream that cannot be created is a VIGIL_ERR_TRIGGER_STREAM naming the stream', async () => {
    await new NatsTriggerSink(
      nc,
      options('FIRST', { subjectPrefix: 't.shared' }),
      MarketingGate.of(SuppressionList.empty, null),
    ).ensureStream();
    // A second stream over the same subjects: the server refuses the overlap.
    const sink = new NatsTriggerSink(
      nc,
      options('OVERLAP', { subjectPrefix: 't.shared' }),
      MarketingGate.of(SuppressionList.empty, null),
    );
    await expect(sink.ensureStream()).rejects.toMatchObject({
      code: 'VIGIL_ERR_TRIGGER_STREAM',
      message: expect.stringContaining('OVERLAP'),
    });
  });

  it('suppressed customers never reach the stream', async () => {
    const { alerts: all } = await runWithSinks(config, messages, []);
    const customers = [...new Set(all.map((a) => a.customerId!))].sort();
    const suppressed = new Set(customers.filter((_, i) => i % 3 === 0));
    const sink = new NatsTriggerSink(nc, options('SUPP'), MarketingGate.of(SuppressionList.of(suppressed, 1000), null));
    const alerts = await run(sink);
    const stored = await readStream(nc, 'SUPP');
    const allowed = alerts.filter((a) => !suppressed.has(a.customerId!));
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.length).toBeLessThan(alerts.length);
    expect(stored.map((s) => s.event.id).sort()).toEqual(allowed.map((a) => a.id).sort());
    expect(sink.stats().suppressed).toBe(alerts.length - allowed.length);
    for (const s of stored) for (const id of suppressed) expect(s.text.includes(id)).toBe(false);
  }, 60_000);

  it('pseudonymised: no raw customer id anywhere in payloads or headers; the key holder maps pseudonyms back', async () => {
    const secret = 'a test key that is long enough to be a key 0123456789';
    const sink = new NatsTriggerSink(nc, options('PSEUDO'), MarketingGate.of(SuppressionList.empty, secret));
    const alerts = await run(sink);
    const stored = await readStream(nc, 'PSEUDO');
    expect(stored.length).toBe(alerts.length);
    const rawIds = [...new Set(alerts.map((a) => a.customerId!))];
    const rawAlertIds = new Set(alerts.map((a) => a.id));
    for (const s of stored) {
      const everything = `${s.subject}\n${s.headerText}\n${s.text}`;
      for (const id of rawIds) expect(everything.includes(id), `raw id ${id} leaked`).toBe(false);
      expect(rawAlertIds.has(s.event.id as string)).toBe(false);
      expect(alertSchema.safeParse(s.event.data).success).toBe(true);
    }
    // Whoever holds the key recomputes pseudonyms from their customer list and looks them up.
    const p = new Pseudonymiser(secret);
    const reverse = new Map(rawIds.map((id) => [p.customer(id), id]));
    const expected = new Map(alerts.map((a) => [p.alertId(a), a]));
    for (const s of stored) {
      const alert = expected.get(s.event.id as string)!;
      expect(reverse.get(s.event.subject as string)).toBe(alert.customerId);
      expect(s.event.data).toEqual({ ...alert, id: p.alertId(alert), customerId: p.customer(alert.customerId!) });
      expect(s.msgId).toBe(s.event.id);
    }
  }, 60_000);

  it('an absent server: processing completes, triggers back up to maxQueue and the overflow is counted; the queue is published once it returns', async () => {
    const own = await NatsServer.start();
    const conn = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    try {
      // Whatever the timeout, nothing is acknowledged while the server is down: in flight and queued stay full.
      const opts = options('DOWN', {
        maxQueue: 50,
        maxInFlight: 4,
        publishTimeoutMs: 1000,
        retry: { baseMs: 50, maxMs: 200 },
      });
      const logged: string[] = [];
      const sink = new NatsTriggerSink(conn, opts, MarketingGate.of(SuppressionList.empty, null), {
        log: (l) => logged.push(l),
      });
      await sink.ensureStream();
      await own.down();
      const { engine, alerts } = await runWithSinks(config, messages, [sink]);
      // The engine went through every event although no publish could be acknowledged.
      expect(engine.state.counters.input).toBe(messages.length);
      expect(alerts.length).toBeGreaterThan(100);
      expect(sink.stats()).toMatchObject({ published: 0, inFlight: 4, queued: 50, overflow: alerts.length - 54 });
      // The outage is in the log at the 1st, 10th, 100th… dropped trigger, without customer data.
      const powers = [1, 10, 100, 1000, 10_000].filter((n) => n <= alerts.length - 54);
      expect(logged.map((l) => Number(/: (\d+) dropped so far$/.exec(l)?.[1]))).toEqual(powers);
      for (const l of logged) expect(l).not.toMatch(/c\d{6}/);
      await own.up();
      await sink.idle();
      // A publish flushed on reconnect whose ack came after its timeout is retried and acked as a duplicate.
      const after = sink.stats();
      expect(after).toMatchObject({ queued: 0, inFlight: 0, overflow: alerts.length - 54 });
      expect(after.published + after.duplicates).toBe(54);
      // Tail drop: the first 54 triggers were kept (publishes retried after the outage may land out of order).
      const stored = await readStream(conn, 'DOWN');
      expect(stored.map((s) => s.event.id).sort()).toEqual(
        alerts
          .slice(0, 54)
          .map((a) => a.id)
          .sort(),
      );
    } finally {
      await conn.close();
      await own.stop();
    }
  }, 90_000);
});
