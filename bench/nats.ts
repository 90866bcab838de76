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
import { PartitionedLiveEngine } from '../src/app/partitions/partitioned-live.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import { BatchBuilder } from '../src/app/partitions/batch-builder.js';
import { DEFAULT_PARTITIONS, partitionOfMessage } from '../src/app/partitions/partition-of.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { AckWriter } from '../src/edges/nats/nats-acks.js';
import { NatsCoreSource } from '../src/edges/nats/nats-core.js';
import { NatsJetStreamSource } from '../src/edges/nats/nats-jetstream.js';
import type { RawMessage, Source } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { NatsServer } from './support/nats-server.js';
import { median } from './report.js';
import { mainThreadCpuMs } from './support/main-thread-cpu.js';
import { warmUpMessages, warmWorkers } from './support/warm-workers.js';
import { availableParallelism } from 'node:os';

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
 *
 * The same runs also take the graph off the transport thread: `PartitionedLiveEngine` with
 * W = 1 and 2 worker threads (P = 32) on the same input, in the same repeats. Its workers are
 * warmed first on other events (another shop, earlier in event time), so their JIT is as warm
 * as the one-thread engine's. For these the bound is min(transport ceiling, main-thread rate,
 * W × a worker's graph rate, the machine's CPU), each from costs measured in the run: the
 * main thread's CPU per event (transport, as the bare consumer's main thread spends it; the
 * routing, timed alone on the same events; the rest: unpacking the workers' replies and the
 * sinks), each worker's time in the graph per event of its own, and the CPU per event of the
 * whole process, nats-server and the publisher, which share this machine's cores. To tell
 * the thread from the partitioning, the graph alone is also timed on one worker in process,
 * in live-sized batches, with P = 32 and with P = 1.
 */
const SUBJECT = 'bench.events';
/** Core runs use other subjects than the stream's, or the server would store every message. */
const CORE_SUBJECT = 'bench.core';
const STREAM = 'BENCH';

interface Run {
  rate: number;
  /** Consumer process CPU, µs per event. */
  cpu: number;
  /** The consumer's main thread alone (the transport's thread), µs per event. */
  mainCpu: number;
  /** nats-server CPU, µs per event (NaN where it cannot be read). */
  serverCpu: number;
  /** The core publisher's CPU, µs per event (≈ 0 while JetStream runs: it waits). */
  publisherCpu: number;
  /** With workers: each worker's time in the graph, µs per event of its own. */
  graphUs?: number[];
  /** Share of the published events received (core NATS). */
  share: number;
}

interface Measured {
  received: number;
  ms: number;
  /** With workers: each worker's time in the graph during the run, ms. */
  graphMs?: number[];
}

/** Worker counts of the partitioned rows. */
const WORKER_COUNTS = [1, 2];

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
    const warmUp = warmUpMessages(Math.min(20_000, events), Date.UTC(2024, 11, 31), `${SUBJECT}.warm`);
    const cpu = new CpuMeter(server.pid, p.pid);

    const js = { bare: [] as Run[], ackEach: [] as Run[], engine: [] as Run[] };
    const core = { bare: [] as Run[], engine: [] as Run[], publisherRate: [] as number[] };
    const jsWorkers = new Map<number, Run[]>(WORKER_COUNTS.map((w) => [w, []]));
    const coreWorkers = new Map<number, Run[]>(WORKER_COUNTS.map((w) => [w, []]));
    const graph: Run[] = [];
    const c = nc;
    const jsSource = (name: string): Source =>
      new NatsJetStreamSource(c, {
        ...config.nats,
        stream: STREAM,
        consumer: name,
        subjects: [`${SUBJECT}.>`],
        createStream: false,
        batchSize: config.pipeline.liveBatchSize,
      });
    const coreSource = (): Source =>
      new NatsCoreSource(c, { subjects: [`${CORE_SUBJECT}.>`], batchSize: config.pipeline.liveBatchSize });
    const jsEngine = (name: string, n: number): Promise<Measured> => engineRun(config, jsSource(name), n);
    const coreEngine = (): Promise<Measured> => engineRun(config, coreSource(), events);
    // Workers started (and warmed) before the clock: only consuming the input is measured.
    const onWorkers = async (workers: number, run: (engine: PartitionedLiveEngine) => Promise<Run>): Promise<Run> => {
      const engine = await PartitionedLiveEngine.start(config, { workers });
      try {
        await warmWorkers(engine, config, warmUp);
        return await run(engine);
      } finally {
        await engine.close();
      }
    };
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
      // Alternating order of W over the repeats, so the host's drift lands on both alike.
      const ws = r % 2 === 0 ? WORKER_COUNTS : [...WORKER_COUNTS].reverse();
      for (const w of ws)
        jsWorkers
          .get(w)!
          .push(
            await onWorkers(w, (e) =>
              cpu.measure(events, () => partitionedRun(e, jsSource(`workers${w}-${r}`), events)),
            ),
          );
      js.ackEach.push(
        await cpu.measure(events, () => bareJetStream(c, jsm, config, `ackeach${r}`, events, 'ack-each')),
      );
      core.bare.push(await cpu.measure(events, () => p.during(() => bareCore(c, events), events, core.publisherRate)));
      core.engine.push(await cpu.measure(events, () => p.during(coreEngine, events, core.publisherRate)));
      for (const w of ws)
        coreWorkers
          .get(w)!
          .push(
            await onWorkers(w, (e) =>
              cpu.measure(events, () =>
                p.during(() => partitionedRun(e, coreSource(), events), events, core.publisherRate),
              ),
            ),
          );
      graph.push(await cpu.measure(events, () => graphAlone(config, inProcess)));
      for (const name of [`bare${r}`, `engine${r}`, `ackeach${r}`, ...WORKER_COUNTS.map((w) => `workers${w}-${r}`)])
        await jsm.consumers.delete(STREAM, name).catch(() => undefined);
      const f = (x: Run): string => `${(x.rate / 1000).toFixed(0)}k/s`;
      const byW = (m: Map<number, Run[]>) => WORKER_COUNTS.map((w) => `W=${w} ${f(m.get(w)!.at(-1)!)}`).join(' ');
      process.stderr.write(
        `  run ${r + 1}/${repeats}: jetstream ceiling ${f(js.bare.at(-1)!)} engine ${f(js.engine.at(-1)!)} ${byW(jsWorkers)} (ack() each ${f(js.ackEach.at(-1)!)}); ` +
          `core ceiling ${f(core.bare.at(-1)!)} engine ${f(core.engine.at(-1)!)} ${byW(coreWorkers)} (publisher ${(core.publisherRate.at(-1)! / 1000).toFixed(0)}k/s); graph alone ${f(graph.at(-1)!)}\n`,
      );
    }
    const g = median(graph.map((x) => x.rate));
    const routing = new Map(WORKER_COUNTS.map((w) => [w, routingAlone(config, inProcess, w)]));
    // The graph alone on one worker, in live-sized batches: with P = 32 as the worker rows,
    // and with P = 1 (the batches not split by partition), against the graph alone above.
    const onWorker: number[] = [];
    for (const partitions of [DEFAULT_PARTITIONS, 1])
      onWorker.push(await graphOnWorker(config, warmUp, inProcess, partitions));
    const cores = availableParallelism();
    const row = (
      transport: string,
      workers: number,
      bare: Run[],
      engine: Run[],
      extra: Record<string, string | number>,
    ): Record<string, string | number> => {
      const c = median(bare.map((x) => x.rate));
      const e = median(engine.map((x) => x.rate));
      const us = (xs: Run[], f: (x: Run) => number) => median(xs.map(f)).toFixed(1);
      // The model's bound. One thread: transport and graph costs add. Workers: the slowest of
      // the main thread, the workers together, the machine's cores, and the transport itself.
      let bound: number;
      let limit: string;
      const model: Record<string, string | number> = {};
      if (workers === 0) {
        bound = (g * c) / (g + c);
        limit = 'one thread: graph + transport';
        model['bound: main thread ev/s'] = '-';
        model['bound: W × graph ev/s'] = '-';
        model['bound: machine CPU ev/s'] = '-';
        model['main thread µs/ev: transport / routing / replies+sinks'] = '-';
        model['graph µs/ev per worker (own events)'] = '-';
      } else {
        const main = median(engine.map((x) => x.mainCpu));
        const graphUs = median(engine.map((x) => Math.max(...x.graphUs!)));
        const all = median(engine.map((x) => x.cpu + x.serverCpu + (x.publisherCpu || 0)));
        const transport = median(bare.map((x) => x.mainCpu));
        const r = routing.get(workers)! / 1000;
        const bounds: [string, number][] = [
          ['transport ceiling', c],
          ['main thread', 1e6 / main],
          [`${workers} × graph`, (workers * 1e6) / graphUs],
          [`machine CPU (${cores} cores)`, (cores * 1e6) / all],
        ];
        [limit, bound] = bounds.reduce((a, b) => (b[1] < a[1] ? b : a));
        model['bound: main thread ev/s'] = Math.round(1e6 / main);
        model['bound: W × graph ev/s'] = Math.round((workers * 1e6) / graphUs);
        model['bound: machine CPU ev/s'] = Math.round((cores * 1e6) / all);
        model['main thread µs/ev: transport / routing / replies+sinks'] =
          `${transport.toFixed(1)} / ${r.toFixed(2)} / ${Math.max(0, main - transport - r).toFixed(1)}`;
        model['graph µs/ev per worker (own events)'] = engine
          .at(-1)!
          .graphUs!.map((x) => x.toFixed(1))
          .join(', ');
      }
      return {
        transport,
        engine: workers === 0 ? 'one thread' : `graph on ${workers} worker${workers > 1 ? 's' : ''}`,
        events,
        runs: repeats,
        'ceiling ev/s': Math.round(c),
        '  spread': spread(bare.map((x) => x.rate)),
        'engine ev/s': Math.round(e),
        '  spread ': spread(engine.map((x) => x.rate)),
        'engine/ceiling': median(engine.map((x, i) => x.rate / bare[i]!.rate)).toFixed(2),
        '  per run': engine.map((x, i) => (x.rate / bare[i]!.rate).toFixed(2)).join(' '),
        'model bound/ceiling': (bound / c).toFixed(2),
        'model bound ev/s': Math.round(bound),
        '  limited by': limit,
        ...model,
        'consumer CPU µs/ev': `${us(bare, (x) => x.cpu)} / ${us(engine, (x) => x.cpu)}`,
        'consumer main thread µs/ev': `${us(bare, (x) => x.mainCpu)} / ${us(engine, (x) => x.mainCpu)}`,
        'server CPU µs/ev': `${us(bare, (x) => x.serverCpu)} / ${us(engine, (x) => x.serverCpu)}`,
        'publisher CPU µs/ev': `${us(bare, (x) => x.publisherCpu)} / ${us(engine, (x) => x.publisherCpu)}`,
        'received share': `${median(bare.map((x) => x.share)).toFixed(2)} / ${median(engine.map((x) => x.share)).toFixed(2)}`,
        'graph alone ev/s (one thread)': Math.round(g),
        'bound g/(g+c) (one thread)': (g / (g + c)).toFixed(2),
        'graph alone µs/ev: this thread / a worker, P=32 / P=1': `${(1e6 / g).toFixed(1)} / ${onWorker
          .map((x) => x.toFixed(1))
          .join(' / ')}`,
        ...extra,
      };
    };
    const jsExtra = {
      'ceiling, ack() each': Math.round(median(js.ackEach.map((x) => x.rate))),
      'publisher ev/s': '(stored)',
    };
    const coreExtra = { 'ceiling, ack() each': '-', 'publisher ev/s': Math.round(median(core.publisherRate)) };
    return [
      row('jetstream', 0, js.bare, js.engine, jsExtra),
      ...WORKER_COUNTS.map((w) => row('jetstream', w, js.bare, jsWorkers.get(w)!, jsExtra)),
      row('core', 0, core.bare, core.engine, coreExtra),
      ...WORKER_COUNTS.map((w) => row('core', w, core.bare, coreWorkers.get(w)!, coreExtra)),
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
  constructor(
    private readonly serverPid: number | undefined,
    private readonly publisherPid: number | undefined,
  ) {}

  async measure(events: number, run: () => Promise<Measured>): Promise<Run> {
    const c0 = process.cpuUsage();
    const m0 = mainThreadCpuMs();
    const s0 = this.micros(this.serverPid);
    const p0 = this.micros(this.publisherPid);
    const r = await run();
    const c = process.cpuUsage(c0);
    const m = mainThreadCpuMs() - m0;
    const s = this.micros(this.serverPid) - s0;
    const pub = this.micros(this.publisherPid) - p0;
    return {
      rate: (r.received / r.ms) * 1000,
      cpu: (c.user + c.system) / r.received,
      mainCpu: (m * 1000) / r.received,
      serverCpu: s / r.received,
      publisherCpu: pub / r.received,
      share: r.received / events,
      ...(r.graphMs && { graphUs: r.graphMs.map((ms) => (ms * 1000 * r.graphMs!.length) / r.received) }),
    };
  }

  /** utime + stime of a process from /proc, in µs; NaN off Linux. */
  private micros(pid: number | undefined): number {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
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

/**
 * The partitioned live engine on a source until `events` arrived (or none came for a second),
 * with each worker's graph time spent meanwhile. The engine is started and warmed by the caller.
 */
async function partitionedRun(engine: PartitionedLiveEngine, source: Source, events: number): Promise<Measured> {
  const in0 = engine.front.counters.input;
  const graph0 = await engine.graphMs();
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
  // The transport hands the main thread batches faster than the workers apply them (up to
  // max_ack_pending with JetStream; all of a core burst), so replies can pause for longer
  // than a second on a loaded machine while nothing is lost.
  await untilQuiet(() => engine.front.counters.input - in0, events, 10_000);
  await source.stop();
  await running;
  const graph1 = await engine.graphMs();
  return {
    received: engine.front.counters.input - in0,
    ms: last - started,
    graphMs: graph1.map((g, w) => g - graph0[w]!),
  };
}

/**
 * The same events through one worker's graphs in process (`PartitionedEngine`, W = 1, P
 * `partitions`, batches of the live batch size), after the warm-up's events: the worker's
 * graph time per event of the bench's input (the few messages still batched at the end are
 * neither sent nor counted).
 */
async function graphOnWorker(
  config: VigilConfig,
  warmUp: RawMessage[],
  messages: RawMessage[],
  partitions: number,
): Promise<number> {
  const engine = await PartitionedEngine.start(config, {
    workers: 1,
    partitions,
    batchMessages: config.pipeline.liveBatchSize,
  });
  const graphed = async (): Promise<[number, number]> => {
    const results = await engine.results(false);
    return [engine.stats.graphMs[0]!, results.reduce((s, p) => s + p.counters.input, 0)];
  };
  try {
    await engine.feed(warmUp);
    const [ms0, n0] = await graphed();
    await engine.feed(messages);
    const [ms1, n1] = await graphed();
    return ((ms1 - ms0) * 1000) / (n1 - n0);
  } finally {
    await engine.close();
  }
}

/**
 * The main thread's routing alone, ns per event: each message's partition from its raw bytes
 * and its bytes copied into the batch of the worker owning it, in the live batch size, as
 * `PartitionedLiveEngine` routes (median of 5 passes).
 */
function routingAlone(config: VigilConfig, messages: RawMessage[], workers: number): number {
  const batch = config.pipeline.liveBatchSize;
  const max = config.limits.maxPayloadBytes;
  const builders = Array.from({ length: workers }, () => new BatchBuilder());
  const times: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const t0 = performance.now();
    for (let i = 0; i < messages.length; i += batch) {
      for (let k = i; k < Math.min(messages.length, i + batch); k++) {
        const bytes = messages[k]!.bytes;
        const partition = partitionOfMessage(bytes, DEFAULT_PARTITIONS, max);
        builders[partition % workers]!.add(partition, bytes);
      }
      for (const b of builders) if (b.count > 0) b.take();
    }
    times.push(((performance.now() - t0) * 1e6) / messages.length);
  }
  return median(times);
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

/** Waits until `count()` reaches `target`, or stops growing for `quietMs` (core NATS may lose some). */
async function untilQuiet(count: () => number, target: number, quietMs = 1000): Promise<void> {
  let seen = -1;
  let still = 0;
  while (count() < target && still < quietMs / 100) {
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

  get pid(): number | undefined {
    return this.child.pid;
  }

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
