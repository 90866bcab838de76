import { fork } from 'node:child_process';
import { once } from 'node:events';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodePayload } from '../src/codec/decode.js';
import { loadConfig } from '../src/config/load.js';
import { Engine } from '../src/engine.js';
import { NatsCoreSource } from '../src/sources/nats-core.js';
import { NatsJetStreamSource } from '../src/sources/nats-jetstream.js';
import type { Source } from '../src/sources/source.js';
import { NatsServer } from './support/nats-server.js';
import { median } from './report.js';

/**
 * The NATS bench, all against one nats-server started here: for core NATS and for
 * JetStream, a bare consumer that only receives and decodes (the transport ceiling) and
 * the full engine on the same input, alternating, and the engine/ceiling ratio.
 *
 * JetStream: the stream is loaded once, then each run consumes all of it through its own
 * durable consumer and acknowledges every message (the bare one per message, the engine per
 * batch after applying it). Core NATS: a publisher process sends the events as fast as it can
 * while the consumer runs; a consumer that cannot keep up loses messages (core NATS keeps
 * none), so the rate and the share received are both reported.
 */
const SUBJECT = 'bench.events';
const MAX_PAYLOAD = 65536;

export async function natsBench(events: number, repeats: number): Promise<Record<string, string | number>[]> {
  const server = await NatsServer.start();
  const nc = await connect({ servers: server.url });
  const config = loadConfig({ env: process.env, overrides: { nats: { url: server.url } } });
  try {
    process.stderr.write(`nats: loading ${events} events into a stream...\n`);
    await runPublisher(server.url, events, 'jetstream-load');
    const jsm = await jetstreamManager(nc);
    while ((await jsm.streams.info('BENCH')).state.messages < events) await new Promise((r) => setTimeout(r, 100));
    const rows = [];
    const js: { bare: number[]; engine: number[] } = { bare: [], engine: [] };
    const core: { bare: number[]; engine: number[]; bareShare: number[]; engineShare: number[] } = { bare: [], engine: [], bareShare: [], engineShare: [] };
    for (let r = 0; r < repeats; r++) {
      js.bare.push(await bareJetStream(nc, `bare${r}`, events));
      js.engine.push(await engineRun(config, new NatsJetStreamSource(nc, { ...config.nats, stream: 'BENCH', consumer: `engine${r}`, subjects: [`${SUBJECT}.>`], createStream: false, batchSize: config.pipeline.batchSize }), events));
      const bare = await withPublisher(server.url, events, () => bareCore(nc, events));
      core.bare.push(bare.rate);
      core.bareShare.push(bare.share);
      const eng = await withPublisher(server.url, events, () =>
        engineRunCounted(config, new NatsCoreSource(nc, { subjects: [`${SUBJECT}.>`], batchSize: config.pipeline.batchSize }), events),
      );
      core.engine.push(eng.rate);
      core.engineShare.push(eng.share);
      process.stderr.write(`  run ${r + 1}/${repeats}: jetstream bare ${js.bare.at(-1)!.toFixed(0)}/s engine ${js.engine.at(-1)!.toFixed(0)}/s; core bare ${bare.rate.toFixed(0)}/s engine ${eng.rate.toFixed(0)}/s\n`);
    }
    rows.push({ transport: 'jetstream', events, 'ceiling ev/s': Math.round(median(js.bare)), 'engine ev/s': Math.round(median(js.engine)), 'engine/ceiling': +(median(js.engine) / median(js.bare)).toFixed(2), 'received share': '1.00 / 1.00' });
    rows.push({ transport: 'core', events, 'ceiling ev/s': Math.round(median(core.bare)), 'engine ev/s': Math.round(median(core.engine)), 'engine/ceiling': +(median(core.engine) / median(core.bare)).toFixed(2), 'received share': `${median(core.bareShare).toFixed(2)} / ${median(core.engineShare).toFixed(2)}` });
    return rows;
  } finally {
    await nc.close();
    await server.stop();
  }
}

/** Receives and decodes every message of the stream through a fresh durable consumer, acking each. */
async function bareJetStream(nc: NatsConnection, name: string, events: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('BENCH', { durable_name: name, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 20_000 });
  const consumer = await jetstream(nc).consumers.get('BENCH', name);
  let n = 0;
  let started = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const messages = await consumer.consume({
    max_messages: 2000,
    callback: (m) => {
      if (n === 0) started = performance.now();
      decodePayload(m.data, MAX_PAYLOAD);
      m.ack();
      if (++n === events) done();
    },
  });
  await finished;
  const ms = performance.now() - started;
  messages.stop();
  return (events / ms) * 1000;
}

async function bareCore(nc: NatsConnection, events: number): Promise<{ received: number; ms: number }> {
  let n = 0;
  let started = 0;
  let last = 0;
  const sub = nc.subscribe(`${SUBJECT}.>`, {
    callback: (_e, m) => {
      if (n === 0) started = performance.now();
      decodePayload(m.data, MAX_PAYLOAD);
      n++;
      last = performance.now();
    },
  });
  await nc.flush();
  await untilQuiet(() => n, events);
  sub.unsubscribe();
  return { received: n, ms: last - started };
}

async function engineRun(config: ReturnType<typeof loadConfig>, source: Source, events: number): Promise<number> {
  const r = await engineRunCounted(config, source, events);
  return (r.received / r.ms) * 1000;
}

async function engineRunCounted(config: ReturnType<typeof loadConfig>, source: Source, events: number): Promise<{ received: number; ms: number }> {
  const engine = new Engine(config);
  let started = 0;
  let last = 0;
  const running = engine.run(source, {
    sinks: [
      {
        handle: (b) => {
          if (b.messages.length === 0) return;
          if (started === 0) started = b.messages[0]!.receivedAt;
          last = performance.now();
        },
      },
    ],
  });
  await untilQuiet(() => engine.state.counters.input, events);
  await source.stop();
  await running;
  return { received: engine.state.counters.input, ms: last - started };
}

/** Waits until `count()` reaches `target`, or stops growing for a second (core NATS may lose some). */
async function untilQuiet(count: () => number, target: number): Promise<void> {
  let seen = -1;
  let still = 0;
  while (count() < target && still < 10) {
    await new Promise((r) => setTimeout(r, 100));
    const c = count();
    if (c === seen && c > 0) still++;
    else still = 0;
    seen = c;
  }
}

/** Starts the consumer, then the publisher process; the consumer's rate and the share it received. */
async function withPublisher(url: string, events: number, consume: () => Promise<{ received: number; ms: number }>): Promise<{ rate: number; share: number }> {
  const consuming = consume();
  await new Promise((r) => setTimeout(r, 200)); // subscribed
  await runPublisher(url, events, 'core');
  const r = await consuming;
  return { rate: (r.received / r.ms) * 1000, share: r.received / events };
}

/** The publisher runs in its own process, as a real producer would, so it does not share the consumer's thread. */
async function runPublisher(url: string, events: number, mode: 'core' | 'jetstream-load'): Promise<void> {
  const child = fork(new URL('./nats-publisher.js', import.meta.url), [url, String(events), mode], { stdio: 'inherit' });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`publisher exited with ${code}`);
}
