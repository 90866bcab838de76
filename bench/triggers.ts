import { createServer } from 'node:http';
import { once } from 'node:events';
import { connect } from '@nats-io/transport-node';
import { encodePayload } from '../src/edges/encode.js';
import { loadConfig } from '../src/app/config/load.js';
import { Engine, type EngineSink as BatchSink } from '../src/app/engine.js';
import { SuppressionList } from '../src/alerts/suppression.js';
import { MarketingGate } from '../src/delivery/marketing/audience.js';
import { resolveWebhooks } from '../src/delivery/marketing/webhook-destinations.js';
import { NatsTriggerSink } from '../src/delivery/sinks/nats-triggers.js';
import { WebhookSink } from '../src/delivery/sinks/webhooks.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { NatsServer } from './support/nats-server.js';
import { median } from './report.js';

/**
 * The marketing sinks' cost to the engine and their delivery rate: the same shop through
 * the engine alone and with a NATS trigger sink (local nats-server) and a webhook sink (a
 * local node:http receiver answering 204), alternating. "engine" is until `Engine.run`
 * resolves (the sinks only enqueue); "delivered" is until both sinks are idle. Queues are
 * large enough that nothing overflows, so every alert is delivered both ways.
 */
export async function triggersBench(
  customers: number,
  days: number,
  repeats: number,
): Promise<Record<string, string | number>[]> {
  const startTs = Date.UTC(2025, 0, 1);
  const shop = new SyntheticShop({ seed: 7, customers, products: 2000, startTs, endTs: startTs + days * 86_400_000 });
  const messages: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 'bench', receivedAt: 0 });
  const server = await NatsServer.start();
  const nc = await connect({ servers: server.url });
  let received = 0;
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/hook`;
  const secret = 'whsec_' + Buffer.from('bench webhook key, 32 bytes long').toString('base64');
  const times: Record<'alone' | 'nats' | 'webhooks', number[]> = { alone: [], nats: [], webhooks: [] };
  const delivered: Record<'nats' | 'webhooks', number[]> = { nats: [], webhooks: [] };
  let alerts = 0;
  try {
    for (let i = 0; i < repeats; i++) {
      times.alone.push(await run([]));
      const config = loadConfig({
        env: {},
        overrides: {
          triggers: {
            nats: { enabled: true, stream: `BENCH_${i}`, subjectPrefix: `bench.t${i}`, maxQueue: 1_000_000 },
            webhooks: { destinations: [{ name: 'bench', url, secret, maxQueue: 1_000_000, concurrency: 16 }] },
          },
        },
      });
      const gate = MarketingGate.of(SuppressionList.empty, null);
      const triggers = new NatsTriggerSink(nc, { ...config.triggers.nats, source: config.triggers.source }, gate);
      await triggers.ensureStream();
      let t0 = performance.now();
      times.nats.push(await run([triggers]));
      await triggers.idle();
      delivered.nats.push(performance.now() - t0);
      alerts = triggers.stats().published;
      const hooks = new WebhookSink(resolveWebhooks(config.triggers.webhooks, {}), gate, config.triggers.source);
      t0 = performance.now();
      times.webhooks.push(await run([hooks]));
      await hooks.idle();
      delivered.webhooks.push(performance.now() - t0);
      if (hooks.stats().bench!.delivered !== alerts || triggers.stats().overflow > 0)
        throw new Error(`bench: not every alert delivered ${JSON.stringify([triggers.stats(), hooks.stats()])}`);
      await hooks.close(0);
      await triggers.close(0);
    }
  } finally {
    await nc.close();
    await server.stop();
    http.close();
  }
  const evps = (ms: number) => Math.round(messages.length / (ms / 1000));
  const perAlertUs = (k: 'nats' | 'webhooks') =>
    (((median(times[k]) - median(times.alone)) * 1000) / alerts).toFixed(0);
  return [
    {
      events: messages.length,
      alerts,
      'engine ev/s alone': evps(median(times.alone)),
      'engine ev/s + NATS triggers': evps(median(times.nats)),
      'engine ev/s + webhooks': evps(median(times.webhooks)),
      'engine µs per trigger (NATS)': perAlertUs('nats'),
      'engine µs per webhook': perAlertUs('webhooks'),
      'all delivered after ms (NATS)': median(delivered.nats).toFixed(0),
      'all delivered after ms (webhooks)': median(delivered.webhooks).toFixed(0),
      'http requests': received,
    },
  ];

  async function run(sinks: BatchSink[]): Promise<number> {
    const engine = new Engine(loadConfig({ env: {} }));
    const source = new InProcessSource(messages, { name: 'bench', batchSize: 512, finite: true });
    const t0 = performance.now();
    await engine.run(source, { sinks });
    return performance.now() - t0;
  }
}
