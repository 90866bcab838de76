import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodePayload } from '../src/ingest/codec/decode.js';
import { encodePayload } from '../src/edges/encode.js';
import { loadConfig } from '../src/app/config/load.js';
import type { VigilConfig } from '../src/app/config/schema.js';
import { Engine } from '../src/app/engine.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { AckWriter } from '../src/edges/nats/nats-acks.js';
import { NatsCoreSource } from '../src/edges/nats/nats-core.js';
import { NatsJetStreamSource } from '../src/edges/nats/nats-jetstream.js';
import type { RawMessage, Source } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { NatsServer } from './support/nats-server.js';
import { median } from './report.js';

/**
 * The NATS bench, all against one nats-server started here: for core NATS and for
 * JetStream, a bare consumer that only receives and decodes (the transport ceiling) and the
 * full engine on the same input, alternating within each repeat, and the engine/ceiling ratio
 * (the median of the per-repeat ratios, so both sides of a ratio saw the same machine load).
 *
 * JetStream: the stream is loaded once; each run consumes all of it through its own durable
 * consumer with the engine's settings (max_ack_pending, pull batch) and acknowledges every
 * message, as any real consumer must. The bare consumer acks the way the engine does (the
 * `PUB …+ACK` frames of what it has received, one write per turn: `AckWriter`), so the
 * ceiling is not lowered by a costlier ack than the engine's; the rate with nats.js's
 * `JsMsg.ack()` per message is shown beside it.
 *
 * Core NATS: a publisher process writes pre-built frames faster than any consumer here reads
 * (its rate is reported), and the server, started with a large `max_pending`, holds what the
 * consumer has not read yet, so the consumer is busy from its first message to its last: its
 * rate is its own ceiling. Core NATS keeps nothing, so the share received is reported too.
 *
 * Also reported: CPU per event of the consumer process and of nats-server (the machine is
 * shared; CPU time moves less than wall time), and the graph alone on the same events in
 * process, which bounds the ratio: if transport and graph costs simply add, the engine can
 * reach at most graph / (graph + ceiling) of the ceiling on one thread.
 */
const SUBJECT = 'bench.events';
/** Core runs use other subjects than the stream's, or the server would store every message. */
const CORE_SUBJECT = 'bench.core';
const STREAM = 'BENCH';

interface Run {
  rate: number;
  /** Consumer process CPU, µs per event. */
  cpu: number;
  /** nats-server CPU, µs per event (NaN where it cannot be read). */
  serverCpu: number;
  /** Share of the published events received (core NATS). */
  share: number;
}

interface Measured {
  received: number;
  ms: number;
}

export async function natsBench(events: number, repeats: number): Promise<Record<string, string | number>[]> {
  // 2 GiB: a whole burst of the bench's events fits, so a slow core consumer is never cut off.
  const server = await NatsServer.start({ maxPendingBytes: 2 ** 31 });
  let nc: NatsConnection | undefined;
  let publisher: CorePublisher | undefined;
  try {
    nc = await connect({ servers: server.url });
    const config = loadConfig({ env: process.env, overrides: { nats: { url: server.url } } });
    process.stderr.write(`nats: loading ${events} events into a stream, preparing the core publisher...\n`);
    const [loaded, started] = await Promise.allSettled([
      runChild(server.url, events, 'jetstream-load'),
      CorePublisher.start(server.url, events),
    ]);
    if (started.status === 'fulfilled') publisher = started.value;
    if (loaded.status === 'rejected') throw loaded.reason;
    if (started.status === 'rejected') throw started.reason;
    const p = started.value;
    const jsm = await jetstreamManager(nc);
    const deadline = Date.now() + 120_000;
    while ((await jsm.streams.info(STREAM)).state.messages < events) {
      if (Date.now() > deadline) throw new Error('the bench stream did not fill');
      await new Promise((r) => setTimeout(r, 100));
    }
    const inProcess = shopMessages(events);
    const cpu = new CpuMeter(server.pid);

    const js = { bare: [] as Run[], ackEach: [] as Run[], engine: [] as Run[] };
    const core = { bare: [] as Run[], engine: [] as Run[], publisherRate: [] as number[] };
    const graph: Run[] = [];
    const c = nc;
    const jsEngine = (name: string, n: number): Promise<Measured> =>
      engineRun(
        config,
        new NatsJetStreamSource(c, {
          ...config.nats,
          stream: STREAM,
          consumer: name,
          subjects: [`${SUBJECT}.>`],
          createStream: false,
          batchSize: config.pipeline.liveBatchSize,
        }),
        n,
      );
    const coreEngine = (): Promise<Measured> =>
      engineRun(
        config,
        new NatsCoreSource(c, { subjects: [`${CORE_SUBJECT}.>`], batchSize: config.pipeline.liveBatchSize }),
        events,
      );
    // Warm-up, not measured: the first pass through each path runs before the JIT has compiled it.
    const part = Math.ceil(events / 5);
    await bareJetStream(c, jsm, config, 'warm-bare', part, 'batched');
    await jsEngine('warm-engine', part);
    await p.during(() => bareCore(c, events), events, []);
    await p.during(coreEngine, events, []);
    await graphAlone(config, inProcess.slice(0, part));
    for (const name of ['warm-bare', 'warm-engine']) await jsm.consumers.delete(STREAM, name).catch(() => undefined);

    for (let r = 0; r < repeats; r++) {
      js.bare.push(await cpu.measure(events, () => bareJetStream(c, jsm, config, `bare${r}`, events, 'batched')));
      js.engine.push(await cpu.measure(events, () => jsEngine(`engine${r}`, events)));
      js.ackEach.push(
        await cpu.measure(events, () => bareJetStream(c, jsm, config, `ackeach${r}`, events, 'ack-each')),
      );
      core.bare.push(await cpu.measure(events, () => p.during(() => bareCore(c, events), events, core.publisherRate)));
      core.engine.push(await cpu.measure(events, () => p.during(coreEngine, events, core.publisherRate)));
      graph.push(await cpu.measure(events, () => graphAlone(config, inProcess)));
      for (const name of [`bare${r}`, `engine${r}`, `ackeach${r}`])
        await jsm.consumers.delete(STREAM, name).catch(() => undefined);
      const f = (x: Run): string => `${(x.rate / 1000).toFixed(0)}k/s`;
      process.stderr.write(
        `  run ${r + 1}/${repeats}: jetstream ceiling ${f(js.bare.at(-1)!)} engine ${f(js.engine.at(-1)!)} (ack() each ${f(js.ackEach.at(-1)!)}); ` +
          `core ceiling ${f(core.bare.at(-1)!)} engine ${f(core.engine.at(-1)!)} (publisher ${(core.publisherRate.at(-1)! / 1000).toFixed(0)}k/s); graph alone ${f(graph.at(-1)!)}\n`,
      );
    }
    const g = median(graph.map((x) => x.rate));
    const row = (
      transport: string,
      bare: Run[],
      engine: Run[],
      extra: Record<string, string | number>,
    ): Record<string, string | number> => {
      const c = median(bare.map((x) => x.rate));
      return {
        transport,
        events,
        runs: repeats,
        'ceiling ev/s': Math.round(c),
        '  spread': spread(bare.map((x) => x.rate)),
        'engine ev/s': Math.round(median(engine.map((x) => x.rate))),
        '  spread ': spread(engine.map((x) => x.rate)),
        'engine/ceiling': median(engine.map((e, i) => e.rate / bare[i]!.rate)).toFixed(2),
        '  per run': engine.map((e, i) => (e.rate / bare[i]!.rate).toFixed(2)).join(' '),
        'consumer CPU µs/ev': `${median(bare.map((x) => x.cpu)).toFixed(1)} / ${median(engine.map((x) => x.cpu)).toFixed(1)}`,
        'server CPU µs/ev': `${median(bare.map((x) => x.serverCpu)).toFixed(1)} / ${median(engine.map((x) => x.serverCpu)).toFixed(1)}`,
        'received share': `${median(bare.map((x) => x.share)).toFixed(2)} / ${median(engine.map((x) => x.share)).toFixed(2)}`,
        'graph alone ev/s': Math.round(g),
        'bound g/(g+c)': (g / (g + c)).toFixed(2),
        ...extra,
      };
    };
    return [
      row('jetstream', js.bare, js.engine, {
        'ceiling, ack() each': Math.round(median(js.ackEach.map((x) => x.rate))),
        'publisher ev/s': '(stored)',
      }),
      row('core', core.bare, core.engine, {
        'ceiling, ack() each': '-',
        'publisher ev/s': Math.round(median(core.publisherRate)),
      }),
    ];
  } finally {
    await publisher?.close();
    await nc?.close();
    await server.stop();
  }
}

function spread(xs: number[]): string {
  return `${(Math.min(...xs) / 1000).toFixed(0)}–${(Math.max(...xs) / 1000).toFixed(0)}k`;
}

/** Wall rate of a run, with the CPU time this process and nats-server spent meanwhile. */
class CpuMeter {
  constructor(private readonly serverPid: number | undefined) {}

  async measure(events: number, run: () => Promise<Measured>): Promise<Run> {
    const c0 = process.cpuUsage();
    const s0 = this.serverMicros();
    const r = await run();
    const c = process.cpuUsage(c0);
    const s = this.serverMicros() - s0;
    return {
      rate: (r.received / r.ms) * 1000,
      cpu: (c.user + c.system) / r.received,
      serverCpu: s / r.received,
      share: r.received / events,
    };
  }

  /** utime + stime of nats-server from /proc, in µs; NaN off Linux. */
  private serverMicros(): number {
    try {
      const fields = readFileSync(`/proc/${this.serverPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // USER_HZ is 100 on Linux
    } catch {
      return NaN;
    }
  }
}

/**
 * Receives, decodes and acknowledges every message of the stream through a fresh durable
 * consumer with the engine's settings. `batched`: acks as the engine sends them (AckWriter,
 * one write per turn); `ack-each`: `JsMsg.ack()` per message.
 */
async function bareJetStream(
  nc: NatsConnection,
  jsm: JetStreamManager,
  config: VigilConfig,
  name: string,
  events: number,
  acking: 'batched' | 'ack-each',
): Promise<Measured> {
  await jsm.consumers.add(STREAM, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: config.nats.maxAckPending,
    ack_wait: config.nats.ackWaitMs * 1_000_000,
  });
  const consumer = await jetstream(nc).consumers.get(STREAM, name);
  const acks = new AckWriter(nc);
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    acks.flush();
  };
  let n = 0;
  let started = 0;
  let last = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const max = config.limits.maxPayloadBytes;
  const messages = await consumer.consume({
    max_messages: config.nats.pullBatch,
    callback: (m) => {
      if (n === 0) started = performance.now();
      decodePayload(m.data, max);
      if (acking === 'ack-each') m.ack();
      else {
        acks.ack(m);
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      }
      last = performance.now();
      if (++n === events) done();
    },
  });
  await finished;
  await messages.close();
  return { received: n, ms: last - started };
}

/** Receives and decodes core NATS messages until `events` arrived or none came for a second. */
async function bareCore(nc: NatsConnection, events: number): Promise<Measured> {
  let n = 0;
  let started = 0;
  let last = 0;
  const max = 65536;
  const sub = nc.subscribe(`${CORE_SUBJECT}.>`, {
    callback: (_e, m) => {
      if (n === 0) started = performance.now();
      decodePayload(m.data, max);
      n++;
      last = performance.now();
    },
  });
  await nc.flush();
  await untilQuiet(() => n, events);
  sub.unsubscribe();
  return { received: n, ms: last - started };
}

async function engineRun(config: VigilConfig, source: Source, events: number): Promise<Measured> {
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

/** The same events through the whole graph in process, without any transport. */
async function graphAlone(config: VigilConfig, messages: RawMessage[]): Promise<Measured> {
  const engine = new Engine(config);
  const source = new InProcessSource(messages, {
    name: 'bench',
    batchSize: config.pipeline.liveBatchSize,
    finite: false,
  });
  const started = performance.now();
  const running = engine.run(source);
  while (engine.state.counters.input < messages.length) await new Promise((r) => setImmediate(r));
  const ms = performance.now() - started;
  await source.stop();
  await running;
  return { received: engine.state.counters.input, ms };
}

/** The publishers' events, encoded, as views into one buffer (as a transport hands them over). */
function shopMessages(n: number): RawMessage[] {
  const shop = new SyntheticShop({ seed: 9, customers: 100_000, products: 5000, startTs: Date.UTC(2025, 0, 1) });
  const payloads = shop.take(n).map((e) => ({ subject: `${SUBJECT}.${e.type}`, bytes: encodePayload(e, 'msgpack') }));
  const packed = new Uint8Array(payloads.reduce((s, p) => s + p.bytes.length, 0));
  let at = 0;
  return payloads.map((p) => {
    packed.set(p.bytes, at);
    at += p.bytes.length;
    return { bytes: packed.subarray(at - p.bytes.length, at), subject: p.subject, receivedAt: 0 };
  });
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

/** The core-burst publisher process (nats-publisher.ts), kept for every core run. */
class CorePublisher {
  private constructor(private readonly child: ChildProcess) {}

  static async start(url: string, events: number): Promise<CorePublisher> {
    const child = fork(new URL('./nats-publisher.js', import.meta.url), [url, String(events), 'core-burst'], {
      stdio: 'inherit',
    });
    const [m] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => Promise.reject(new Error(`core publisher exited with ${code}`))),
    ])) as [unknown];
    if (m !== 'ready') throw new Error(`core publisher said ${String(m)}`);
    return new CorePublisher(child);
  }

  /** Starts the consumer, then one burst; the consumer's result, and the burst's rate pushed to `rates`. */
  async during(consume: () => Promise<Measured>, events: number, rates: number[]): Promise<Measured> {
    const consuming = consume();
    await new Promise((r) => setTimeout(r, 200)); // subscribed
    const reply = once(this.child, 'message');
    this.child.send('go');
    const [{ ms }] = (await reply) as [{ ms: number }];
    const r = await consuming;
    rates.push((events / ms) * 1000);
    return r;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send('exit');
    await exited;
  }
}

async function runChild(url: string, events: number, mode: 'jetstream-load'): Promise<void> {
  const child = fork(new URL('./nats-publisher.js', import.meta.url), [url, String(events), mode], {
    stdio: 'inherit',
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`publisher exited with ${code}`);
}
