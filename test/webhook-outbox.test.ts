import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketingAlertTypes } from '../src/alerts/alert.js';
import { SuppressionList } from '../src/alerts/suppression.js';
import { startDemo } from '../src/app/cli/start.js';
import { MarketingGate } from '../src/delivery/marketing/audience.js';
import { vigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { Pseudonymiser } from '../src/delivery/marketing/pseudonym.js';
import { resolveWebhooks } from '../src/delivery/marketing/webhook-destinations.js';
import { verifyWebhook } from '../src/delivery/marketing/webhook-signature.js';
import { registerMarketingMetrics } from '../src/delivery/sinks/marketing-metrics.js';
import { openMarketingSinks } from '../src/delivery/sinks/marketing-sinks.js';
import { NatsTriggerSink } from '../src/delivery/sinks/nats-triggers.js';
import { WebhookOutbox, webhookConsumerName } from '../src/delivery/sinks/webhook-outbox.js';
import { WebhookSink } from '../src/delivery/sinks/webhooks.js';
import { freePort, NatsServer } from '../bench/support/nats-server.js';
import { testConfig } from './support/engine-harness.js';
import { HttpReceiver, type Received, type Reply } from './support/http-receiver.js';
import { runWithSinks, shopMessages } from './support/shop-alerts.js';
import { readStream } from './support/trigger-stream.js';

/**
 * Webhooks as a durable consumer of the trigger stream (real nats-server, real HTTP
 * receivers on loopback). The oracle for "every trigger delivered" is the trigger stream
 * itself: the ids it holds are compared with the `webhook-id`s the receiver got.
 */
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function streamIds(stream: string): Promise<Set<string>> {
  return new Set((await readStream(nc, stream)).map((s) => s.msgId!));
}

const idOf = (r: Received) => r.headers['webhook-id'] as string;

/** Every request the receiver got is signed over its body, and its webhook-id is the CloudEvent's id. */
function expectSignedCloudEvents(received: readonly Received[]): void {
  for (const r of received) {
    const verdict = verifyWebhook({
      secret: SECRET,
      id: idOf(r),
      timestamp: r.headers['webhook-timestamp'] as string,
      signature: r.headers['webhook-signature'] as string,
      body: r.body,
    });
    expect(verdict.ok).toBe(true);
    expect(vigilCloudEvent.parse(JSON.parse(r.body.toString('utf8'))).id).toBe(idOf(r));
  }
}

/** The consumer has acknowledged nothing: its ack floor is still before the first trigger, all are pending. */
function expectNothingAcked(info: ConsumerInfo, triggers: number): void {
  expect(info.ack_floor.stream_seq).toBe(0);
  // Bounded: max_ack_pending = the destination's concurrency (4 here); the rest wait in the stream.
  expect(info.num_ack_pending).toBeLessThanOrEqual(4);
  // (The server's two counts can overlap by a message being redelivered, so not an equality.)
  expect(info.num_pending + info.num_ack_pending).toBeGreaterThanOrEqual(triggers);
}

/**
 * `vigil start` on the demo shop, triggers to NATS, one webhook destination `crm` at `url`
 * (settings as VIGIL_* variables). Each run takes its own shop seed, so a restarted engine
 * never emits the first run's alert ids itself: those can only reach the receiver from the stream.
 */
function demoEnv(stream: string, url: string, seed: number): Record<string, string> {
  return {
    VIGIL_DEMO__SEED: String(seed),
    VIGIL_DEMO__CUSTOMERS: '800',
    VIGIL_DEMO__EVENTS_PER_SECOND: '2000',
    VIGIL_SERVER__PORT: '0',
    VIGIL_TRIGGERS__NATS__ENABLED: 'true',
    VIGIL_TRIGGERS__NATS__URL: server.url,
    VIGIL_TRIGGERS__NATS__STREAM: stream,
    VIGIL_TRIGGERS__NATS__SUBJECT_PREFIX: `${stream.toLowerCase()}.triggers`,
    VIGIL_TRIGGERS__WEBHOOKS__DESTINATIONS: JSON.stringify([
      {
        name: 'crm',
        url,
        secret: SECRET,
        timeoutMs: 2000,
        maxAttempts: 50,
        concurrency: 4,
        backoff: { baseMs: 100, maxMs: 1000 },
      },
    ]),
  };
}

async function withEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  Object.assign(process.env, env);
  try {
    return await run();
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}

describe('webhooks from the trigger stream: a destination down across an engine restart', () => {
  it('graceful stop (in process): nothing is acked while the destination refuses connections; after the restart every trigger arrives', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const out = new PassThrough().resume();
    await withEnv(demoEnv('GRACEFUL', url, 1), () => startDemo({ runForMs: 4000, out }));
    const before = await streamIds('GRACEFUL');
    expect(before.size).toBeGreaterThan(0);
    const info = await jsm.consumers.info('GRACEFUL', webhookConsumerName('crm'));
    // Attempts were made (and refused), and not one trigger was acknowledged.
    expect(info.delivered.stream_seq).toBeGreaterThan(0);
    expectNothingAcked(info, before.size);

    const hook = await HttpReceiver.start(() => ({ status: 204 }), port);
    try {
      const stop = new AbortController();
      const running = withEnv(demoEnv('GRACEFUL', url, 2), () => startDemo({ signal: stop.signal, out }));
      await waitFor(
        'every trigger of the first run at the receiver',
        () => [...before].every((id) => hook.received.some((r) => idOf(r) === id)),
        120_000,
      );
      stop.abort();
      await running;
      expectSignedCloudEvents(hook.received);
    } finally {
      await hook.stop();
    }
  }, 240_000);

  it('SIGKILL (child process): a destination down while the engine is killed gets every trigger the stream held, once it is back and the engine restarted', async () => {
    const port = await freePort();
    const start = (seed: number): { child: ChildProcess; stderr: () => string } => {
      const env = { ...process.env, ...demoEnv('KILLED', `http://127.0.0.1:${port}/hook`, seed) };
      const child = spawn('node', ['dist/src/app/cli.js', 'start', '--port', '0'], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let text = '';
      child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
      return { child, stderr: () => text };
    };
    const first = start(1);
    try {
      await waitFor(
        'triggers in the stream and delivery attempts to the refusing destination',
        async () => {
          const s = await jsm.streams.info('KILLED').catch(() => undefined);
          const c = await jsm.consumers.info('KILLED', webhookConsumerName('crm')).catch(() => undefined);
          return s !== undefined && s.state.messages >= 20 && c !== undefined && c.num_redelivered > 0;
        },
        90_000,
      );
    } finally {
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
    }
    expect(first.stderr()).toContain('webhooks: crm, durable');
    const before = await streamIds('KILLED');
    const info = await jsm.consumers.info('KILLED', webhookConsumerName('crm'));
    expectNothingAcked(info, before.size);

    const hook = await HttpReceiver.start(() => ({ status: 204 }), port);
    const second = start(2);
    try {
      await waitFor(
        'every trigger held before the kill at the receiver',
        () => [...before].every((id) => hook.received.some((r) => idOf(r) === id)),
        150_000,
      );
      second.child.kill('SIGTERM');
      const [code] = await once(second.child, 'exit');
      expect(code, second.stderr()).toBe(0);
      expectSignedCloudEvents(hook.received);
    } finally {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
      await hook.stop();
    }
  }, 300_000);
});

describe('webhooks from the trigger stream: outcomes', () => {
  // Marketing delivery: demand.* are ops alerts (no customer), never sent to marketing; off here.
  const config = testConfig({ demand: { alerts: { granularities: [] } } });
  const messages = shopMessages().slice(0, 8000);

  function destinations(list: { name: string; url: string; [k: string]: unknown }[]) {
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
          destinations: list.map((d) => ({ secret: SECRET, ...d })),
        },
      },
    });
    return resolveWebhooks(cfg.triggers.webhooks, {});
  }

  it('each destination has its own position; refused and exhausted deliveries are dead-lettered, counted and acked', async () => {
    const reply = (status: number) => HttpReceiver.start((): Reply => ({ status }));
    const [refuses, flaky, churn] = await Promise.all([reply(400), reply(503), reply(204)]);
    const deadLetters: Msg[] = [];
    const sub = nc.subscribe('vigil.dlq.webhook.>', { callback: (_e, m) => void deadLetters.push(m) });
    const triggers = new NatsTriggerSink(
      nc,
      {
        ...config.triggers.nats,
        source: 'urn:vigil:test',
        enabled: true,
        stream: 'OUTCOMES',
        subjectPrefix: 't.outcomes',
      },
      MarketingGate.of(SuppressionList.empty, null),
    );
    await triggers.ensureStream();
    const outbox = new WebhookOutbox(
      nc,
      destinations([
        { name: 'refuses', url: refuses.url },
        { name: 'flaky', url: flaky.url, maxAttempts: 3 },
        { name: 'churn', url: churn.url, filter: { types: ['churn.risk'] } },
      ]),
      { stream: 'OUTCOMES', subjectPrefix: 't.outcomes', deadLetterPrefix: 'vigil.dlq' },
      { log: () => {} },
    );
    try {
      await outbox.start();
      await runWithSinks(config, messages, [triggers]);
      await triggers.idle();
      await outbox.idle();
      const stored = await readStream(nc, 'OUTCOMES');
      const n = stored.length;
      expect(n).toBeGreaterThan(10);
      const ids = stored.map((s) => s.msgId!).sort();
      await waitFor(
        'a dead letter per trigger for each failing destination',
        () => deadLetters.length >= 2 * n,
        30_000,
      );

      const lettersOf = (dest: string) => deadLetters.filter((m) => m.subject === `vigil.dlq.webhook.${dest}`);
      const bodyById = new Map(stored.map((s) => [s.msgId!, s.text]));
      for (const [dest, reason, attempts] of [
        ['refuses', 'HTTP 400, not retried', '1'],
        ['flaky', 'no success in 3 attempts, last HTTP 503', '3'],
      ] as const) {
        const letters = lettersOf(dest);
        expect(letters.map((m) => JSON.parse(m.string()).id).sort()).toEqual(ids);
        for (const m of letters) {
          expect(m.headers?.get('Vigil-Reason')).toBe(reason);
          expect(m.headers?.get('Vigil-Webhook-Destination')).toBe(dest);
          expect(m.headers?.get('Vigil-Webhook-Attempts')).toBe(attempts);
          expect(Number(m.headers?.get('Vigil-Stream-Seq'))).toBeGreaterThan(0);
          expect(m.headers?.get('Vigil-Source-Subject')).toMatch(/^t\.outcomes\./);
          // The trigger's bytes, unchanged.
          expect(m.string()).toBe(bodyById.get(JSON.parse(m.string()).id));
        }
      }
      // The flaky destination got each trigger exactly maxAttempts times; the refusing one once.
      const tries = new Map<string, number>();
      for (const r of flaky.received) tries.set(idOf(r), (tries.get(idOf(r)) ?? 0) + 1);
      expect([...tries.keys()].sort()).toEqual(ids);
      expect([...tries.values()].every((t) => t === 3)).toBe(true);
      expect(refuses.received.length).toBe(n);
      // The filtered destination: exactly the churn triggers.
      const churnIds = stored
        .filter((s) => (s.event.data as { type: string }).type === 'churn.risk')
        .map((s) => s.msgId!);
      expect(churnIds.length).toBeGreaterThan(0);
      expect(churn.received.map(idOf).sort()).toEqual(churnIds.sort());
      expectSignedCloudEvents([...churn.received, ...refuses.received]);

      const stats = outbox.stats();
      expect(stats.refuses).toMatchObject({ failed: n, delivered: 0, retried: 0, dropped: 0, inFlight: 0, queued: 0 });
      expect(stats.flaky).toMatchObject({ failed: n, delivered: 0, retried: 2 * n, dropped: 0 });
      expect(stats.churn).toMatchObject({ failed: 0, delivered: churnIds.length, dropped: 0 });
      for (const name of ['refuses', 'flaky', 'churn']) {
        const info = await jsm.consumers.info('OUTCOMES', webhookConsumerName(name));
        expect(info.num_pending + info.num_ack_pending).toBe(0);
      }
      const registry = new Registry();
      registerMarketingMetrics(registry, { webhooks: outbox });
      const text = await registry.metrics();
      expect(text).toContain(`vigil_webhook_deliveries_total{destination="refuses",outcome="failed"} ${n}`);
      expect(text).toContain(
        `vigil_webhook_deliveries_total{destination="churn",outcome="delivered"} ${churnIds.length}`,
      );
      expect(text).toContain(`vigil_webhook_deliveries_total{destination="flaky",outcome="retried"} ${2 * n}`);
    } finally {
      sub.unsubscribe();
      await outbox.close(0);
      await triggers.close(0);
      await Promise.all([refuses.stop(), flaky.stop(), churn.stop()]);
    }
  }, 120_000);

  it('410 Gone stops the destination with nothing acked; a stream message that is not a Vigil CloudEvent is dead-lettered', async () => {
    const gone = await HttpReceiver.start((): Reply => ({ status: 410 }));
    const fine = await HttpReceiver.start((): Reply => ({ status: 204 }));
    const deadLetters: Msg[] = [];
    const sub = nc.subscribe('vigil.dlq.webhook.>', { callback: (_e, m) => void deadLetters.push(m) });
    const triggers = new NatsTriggerSink(
      nc,
      { ...config.triggers.nats, source: 'urn:vigil:test', enabled: true, stream: 'GONE', subjectPrefix: 't.gone' },
      MarketingGate.of(SuppressionList.empty, null),
    );
    await triggers.ensureStream();
    const lines: string[] = [];
    const outbox = new WebhookOutbox(
      nc,
      destinations([
        { name: 'gone', url: gone.url },
        { name: 'fine', url: fine.url },
      ]),
      { stream: 'GONE', subjectPrefix: 't.gone', deadLetterPrefix: 'vigil.dlq' },
      { log: (l) => lines.push(l) },
    );
    try {
      await outbox.start();
      await runWithSinks(config, messages, [triggers]);
      await triggers.idle();
      await jetstream(nc).publish('t.gone.junk', new TextEncoder().encode('{"not":"a cloudevent"}'));
      await waitFor(
        'the healthy destination caught up, every message acked',
        async () => {
          const info = await jsm.consumers.info('GONE', webhookConsumerName('fine'));
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        60_000,
      );
      await waitFor('the dead letter', () => deadLetters.length >= 1, 30_000);
      const n = (await readStream(nc, 'GONE').catch(() => [])).length;
      // 410: nothing beyond the requests already under way (concurrency 4); nothing acked, every trigger still waits for this destination.
      expect(gone.received.length).toBeGreaterThanOrEqual(1);
      expect(gone.received.length).toBeLessThanOrEqual(4);
      expect(outbox.stats().gone).toMatchObject({ gone: 1, disabled: true, delivered: 0, failed: 0, dropped: 0 });
      expectNothingAcked(await jsm.consumers.info('GONE', webhookConsumerName('gone')), n);
      expect(lines.join('\n')).toContain('webhook gone: 410 Gone, destination disabled until restart');
      // The junk message: dead-lettered for the healthy destination, never posted.
      const junk = deadLetters.filter((m) => m.subject === 'vigil.dlq.webhook.fine');
      expect(junk.length).toBe(1);
      expect(junk[0]!.string()).toBe('{"not":"a cloudevent"}');
      expect(junk[0]!.headers?.get('Vigil-Reason')).toBe('not a Vigil CloudEvent');
      expect(junk[0]!.headers?.get('Vigil-Source-Subject')).toBe('t.gone.junk');
      expect(fine.received.length).toBe(n - 1);
      expect(outbox.stats().fine).toMatchObject({ delivered: n - 1, failed: 1 });
    } finally {
      sub.unsubscribe();
      await outbox.close(0);
      await triggers.close(0);
      await Promise.all([gone.stop(), fine.stop()]);
    }
  }, 120_000);

  it('the gate runs once, before the stream: suppressed customers never reach the destination, no raw customer id in any header or body', async () => {
    const secret = 'the pseudonymisation key for the outbox test, 32+ chars';
    const { alerts: all } = await runWithSinks(config, messages, []);
    const customers = [...new Set(all.map((a) => a.customerId!))].sort();
    const suppressed = new Set(customers.filter((_, i) => i % 4 === 1));
    const hook = await HttpReceiver.start((): Reply => ({ status: 204 }));
    const cfg = testConfig({
      triggers: {
        nats: { enabled: true, url: server.url, stream: 'GATED', subjectPrefix: 't.gated' },
        webhooks: { destinations: [{ name: 'crm', url: hook.url, secret: SECRET }] },
        pseudonymise: { secret },
      },
    });
    const marketing = await openMarketingSinks(cfg, {
      suppression: SuppressionList.of(suppressed, 1000),
      log: () => {},
    });
    try {
      const { alerts } = await runWithSinks(config, messages, marketing.sinks);
      await marketing.triggers!.idle();
      await marketing.webhooks!.idle();
      const allowed = alerts.filter((a) => marketingAlertTypes.includes(a.type) && !suppressed.has(a.customerId!));
      expect(allowed.length).toBeGreaterThan(0);
      const p = new Pseudonymiser(secret);
      expect(hook.received.map(idOf).sort()).toEqual(allowed.map((a) => p.alertId(a)).sort());
      expect(marketing.triggers!.stats().suppressed).toBeGreaterThan(0);
      const suppressedPseudonyms = [...suppressed].map((id) => p.customer(id));
      for (const got of hook.received) {
        const everything = JSON.stringify(got.headers) + got.body.toString('utf8');
        for (const id of customers) expect(everything.includes(id), `raw id ${id} leaked`).toBe(false);
        for (const pid of suppressedPseudonyms) expect(everything.includes(pid)).toBe(false);
      }
      expectSignedCloudEvents(hook.received);
    } finally {
      await marketing.close(0);
      await hook.stop();
    }
  }, 120_000);

  it('without NATS triggers webhooks stay in process and the log says they are best-effort; with them, a durable consumer', async () => {
    const dest = [{ name: 'crm', url: 'http://127.0.0.1:9/hook', secret: SECRET }];
    const lines: string[] = [];
    const inProcess = await openMarketingSinks(testConfig({ triggers: { webhooks: { destinations: dest } } }), {
      log: (l) => lines.push(l),
    });
    expect(inProcess.webhooks).toBeInstanceOf(WebhookSink);
    expect(inProcess.sinks).toEqual([inProcess.webhooks]);
    expect(lines.join('\n')).toMatch(/webhooks: crm; best-effort: .*lost when the engine stops/);
    await inProcess.close(0);

    lines.length = 0;
    const durable = await openMarketingSinks(
      testConfig({
        triggers: {
          nats: { enabled: true, url: server.url, stream: 'MODES', subjectPrefix: 't.modes' },
          webhooks: { destinations: dest },
        },
      }),
      { log: (l) => lines.push(l) },
    );
    expect(durable.webhooks).toBeInstanceOf(WebhookOutbox);
    // Only the trigger sink sees batches: the gate runs once, before the stream.
    expect(durable.sinks).toEqual([durable.triggers]);
    expect(lines.join('\n')).toContain('webhooks: crm, durable');
    await durable.close(0);
  }, 60_000);

  it('a destination wanting a type the trigger stream does not carry is a config error', async () => {
    const cfg = testConfig({
      triggers: {
        nats: { enabled: true, url: server.url, stream: 'NARROW', subjectPrefix: 't.narrow', types: ['churn.risk'] },
        webhooks: {
          destinations: [
            {
              name: 'crm',
              url: 'http://127.0.0.1:9/hook',
              secret: SECRET,
              filter: { types: ['churn.risk', 'cart.abandoned'] },
            },
          ],
        },
      },
    });
    await expect(openMarketingSinks(cfg, { log: () => {} })).rejects.toMatchObject({
      code: 'VIGIL_ERR_CONFIG',
      message: expect.stringContaining('webhook crm wants cart.abandoned'),
    });
  }, 60_000);

  it('a trigger stream that does not exist (createStream off): the webhook consumer cannot be created, VIGIL_ERR_TRIGGER_STREAM', async () => {
    const cfg = testConfig({
      triggers: {
        nats: { enabled: true, url: server.url, stream: 'ABSENT', subjectPrefix: 't.absent', createStream: false },
        webhooks: { destinations: [{ name: 'crm', url: 'http://127.0.0.1:9/hook', secret: SECRET }] },
      },
    });
    await expect(openMarketingSinks(cfg, { log: () => {} })).rejects.toMatchObject({
      code: 'VIGIL_ERR_TRIGGER_STREAM',
      message: expect.stringContaining('vigil-webhook-crm on the trigger stream ABSENT'),
    });
  }, 60_000);
});
