import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodePayload } from '../src/edges/encode.js';
import { loadConfig } from '../src/app/config/load.js';
import { Engine } from '../src/app/engine.js';
import { PartitionedLiveEngine } from '../src/app/partitions/partitioned-live.js';
import { LatencyRecorder } from '../src/server/latency.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { NatsCoreSource } from '../src/edges/nats/nats-core.js';
import type { Source } from '../src/core/source.js';
import { connect } from '@nats-io/transport-node';
import { NatsServer } from './support/nats-server.js';
import type { RawMessage } from '../src/core/source.js';
import type { EngineBatch as Batch } from '../src/app/engine.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { median, table } from './report.js';
import { mainThreadCpuMs } from './support/main-thread-cpu.js';
import { processMainThreadCpuMs } from './support/process-cpu.js';
import { ProcessFanout } from '../src/server/fanout/process-fanout.js';
import { measureLatencyFloor, type LatencyFloor } from './support/latency-floor.js';
import { measureSteadiness, type Steadiness } from './support/steadiness.js';
import { measureReplyClone, type ReplyClone } from './support/reply-clone.js';
import { warmUpMessages, warmWorkers } from './support/warm-workers.js';

/**
 * The live stream under load. The engine is fed the synthetic shop at a fixed event rate
 * (an `InProcessSource` paced like the demo, each message stamped with the moment it was
 * due; or, with `feed: 'nats'`, a paced publisher process through a local nats-server),
 * with the ops server as its sink and N real ws subscribers in a child process.
 * Latency is the server's own histogram: message in → alert frame handed to the socket,
 * one record per delivery, after a warm-up. Runs of 100 subscribers with one that stops
 * reading show whether the others pay for it.
 *
 * The 100-subscriber runs (with and without one stalled from the start) are made with the
 * single-threaded engine and with the graph on worker threads (`PartitionedLiveEngine`,
 * W = 1 and 2; transport, routing and the WebSocket fan-out stay on the main thread), in
 * rotating order within each pair, so the host's drift lands on every engine alike.
 */
export interface WsBenchOptions {
  eventsPerSecond: number;
  /** Pairs of 100-subscriber runs, without and with one stalled, alternated so drift hits both alike. */
  stalledPairs: number;
  warmupMs: number;
  measureMs: number;
  customers: number;
  /**
   * Runs as [subscribers, stalled, workers] (workers 0: the single-threaded engine); the
   * default is 1 and 10 on one thread, then the 100-subscriber pairs for each engine.
   */
  plan?: [number, number, number, ('inline' | 'process')?][];
  /** Worker counts of the partitioned runs (default [1, 2]; [] for none). */
  workers?: number[];
  /**
   * Runs (after the plan) of 100 subscribers where one more, stalled, subscriber comes and goes
   * every `stallPhaseMs` (see `stallPhases`): latency is recorded apart for the phases with
   * and without it, so the host's drift, which moves whole runs, lands on both alike. Default 2.
   */
  toggledRuns?: number;
  /** Length of one phase of a toggled run (default 1000 ms). */
  stallPhaseMs?: number;
  /** How long a toggled run measures (default 30 s: 15 pairs of phases). */
  toggledMeasureMs?: number;
  /** Measure the latency floor after the runs (default true). */
  latencyFloor?: boolean;
  /**
   * Keep the analytics' model refits on (default off). The shop's history is replayed about
   * 10⁵ times faster than it happened, so a refit due every 7 days of event time comes every
   * few seconds here instead of once a week, and each holds the engine ≈ 33 µs an event for
   * a few thousand events (docs/analytics.md): a live engine's week, not its seconds.
   */
  refits?: boolean;
  /** Scheduling niceness of the subscribers' process (default 19, the lowest priority; 0: as the engine). */
  subscriberNice?: number;
  /**
   * Where the events come from: 'in-process' (default), a paced feed in the engine's own
   * process, each message stamped with the moment it was due; or 'nats', a publisher process
   * paced alike, through a local nats-server to a core NATS subscription, each message stamped
   * when the NATS client hands it over (the production path).
   */
  feed?: 'in-process' | 'nats';
  /**
   * Where the WebSocket fan-out runs in the 100-subscriber runs (`server.fanout`); each run of
   * the plan is made with each, in rotating order. Default ['inline']. With 'process' the hub's
   * counters and latency records reach the main thread in the child's reports (synced before
   * each reading), and the tick time is the child's, not measured here.
   */
  fanouts?: ('inline' | 'process')[];
}

const TOKEN = 'b'.repeat(40);

function shopPayloads(count: number, customers: number): Uint8Array[] {
  // History ending now: the validator rejects events from the future.
  const startTs = Date.now() - 120 * 86_400_000;
  const shop = new SyntheticShop({ seed: 9, customers, products: 3000, startTs });
  const out: Uint8Array[] = [];
  for (let e = shop.next(); e !== undefined && out.length < count; e = shop.next())
    out.push(encodePayload(e, 'msgpack'));
  return out;
}

/** The paced source stamps each message with the moment it was due (`receivedAt` here is replaced). */
function* messagesOf(payloads: readonly Uint8Array[]): Generator<RawMessage> {
  for (const bytes of payloads) yield { bytes, subject: 'bench', receivedAt: 0 };
}

/** A run's warm-up: a toggled run's is longer, for its stalled subscriber to fill its buffers. */
function warmupMs(opts: WsBenchOptions, toggled: boolean): number {
  return toggled ? Math.max(opts.warmupMs, 10_000) : opts.warmupMs;
}

function measureMs(opts: WsBenchOptions, toggled: boolean): number {
  return toggled ? (opts.toggledMeasureMs ?? 30_000) : opts.measureMs;
}

/** How long a run is fed: its warm-up and what it measures. */
function runMs(opts: WsBenchOptions, toggled: boolean): number {
  return warmupMs(opts, toggled) + measureMs(opts, toggled);
}

/** The NATS feed of one run: a paced publisher process into a local server, a core subscription out. */
async function natsFeed(
  opts: WsBenchOptions,
  server: NatsServer,
  batchSize: number,
  toggled: boolean,
): Promise<{ source: Source; go(): void; close(): Promise<void> }> {
  const count = Math.ceil((opts.eventsPerSecond * (runMs(opts, toggled) + 3000)) / 1000);
  const startTs = Date.now() - 120 * 86_400_000;
  const publisher = fork(
    fileURLToPath(new URL('./nats-publisher.js', import.meta.url)),
    [server.url, String(count), 'core-paced', String(opts.eventsPerSecond), String(opts.customers), String(startTs)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  await once(publisher, 'message');
  const nc = await connect({ servers: server.url });
  const source = new NatsCoreSource(nc, { subjects: ['bench.core.>'], batchSize });
  return {
    source,
    // After the engine has subscribed: the flush makes sure the server has the subscription.
    go: () => void nc.flush().then(() => publisher.send('go')),
    close: async () => {
      publisher.send('exit');
      await source.stop();
      await nc.close();
    },
  };
}

/**
 * Records the measured span in phases without and with one more subscriber that never reads
 * (subscribed for the phases with it, unsubscribed between; its buffers were filled in the
 * warm-up, so in its phases it is dropped from, as a long-stalled client is). Returns both
 * phases' latency and the alerts dropped in each.
 */
async function stallPhases(
  opts: WsBenchOptions,
  child: ChildProcess,
  ops: OpsServer,
): Promise<{
  healthy: LatencyRecorder;
  stalled: LatencyRecorder;
  phases: number;
  dropped: [number, number];
  phaseP99: [number[], number[]];
}> {
  const healthy = await LatencyRecorder.create();
  const stalled = await LatencyRecorder.create();
  const dropped: [number, number] = [0, 0];
  const phaseP99: [number[], number[]] = [[], []];
  const end = performance.now() + measureMs(opts, true);
  let phases = 0;
  for (; performance.now() < end; phases++) {
    const withStalled = phases % 2 === 1;
    await askSubscribers(child, withStalled ? 'stall-on' : 'stall-off');
    await ops.fanout.sync();
    const dropped0 = ops.fanout.totals().dropped;
    await sleep(opts.stallPhaseMs ?? 1000);
    await ops.fanout.sync();
    phaseP99[withStalled ? 1 : 0]!.push(ops.latency.summary().p99);
    (withStalled ? stalled : healthy).add(ops.latency);
    ops.latency.reset();
    dropped[withStalled ? 1 : 0] += ops.fanout.totals().dropped - dropped0;
  }
  return { healthy, stalled, phases, dropped, phaseP99 };
}

/** Each phase with the stalled subscriber against the phase without it just before: p99 ratios (pairs with deliveries in both). */
function pairRatios([without, withIt]: [number[], number[]]): number[] {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(without.length, withIt.length); i++)
    if (without[i]! > 0 && withIt[i]! > 0) ratios.push(withIt[i]! / without[i]!);
  return ratios;
}

async function askSubscribers(child: ChildProcess, type: 'stall-on' | 'stall-off'): Promise<void> {
  child.send({ type });
  await once(child, 'message');
}

/** The engine column of a row: `one thread`, or the graph on W workers. */
export function engineName(workers: number): string {
  return workers === 0 ? 'one thread' : `graph on ${workers} worker${workers > 1 ? 's' : ''}`;
}

async function run(
  opts: WsBenchOptions,
  payloads: readonly Uint8Array[],
  subscribers: number,
  stalled: number,
  nats?: NatsServer,
  toggled = false,
  workers = 0,
  fanout: 'inline' | 'process' = 'inline',
): Promise<Record<string, string | number>> {
  const config = loadConfig({
    env: process.env,
    overrides: {
      server: {
        port: 0,
        logLevel: 'warn',
        fanout,
        tokens: [{ name: 'bench', token: TOKEN, scopes: ['stream', 'kpi:read'], maxConnections: 1000 }],
      },
      ...(opts.refits !== true && { analytics: { refit: { everyMs: 0 } } }),
    },
  });
  const partitioned = workers > 0 ? await PartitionedLiveEngine.start(config, { workers }) : undefined;
  // Before the ops server and the subscribers, so the warm-up's alerts reach no one; its week
  // ends before the shop's history (which starts 120 days back), so nothing measured is late.
  if (partitioned)
    await warmWorkers(partitioned, config, warmUpMessages(20_000, Date.now() - 121 * 86_400_000, 'bench'));
  const engine = partitioned ?? new Engine(config);
  // What the ops server reads of the state: all of it, or with workers the counters (`front`).
  const view = partitioned?.front ?? (engine as Engine).state;
  const ops = await startOpsServer({ config, engine: { state: view } });
  const child = fork(
    fileURLToPath(new URL('./support/ws-subscribers.js', import.meta.url)),
    [ops.url, TOKEN, String(subscribers), String(stalled)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  // The subscribers stand in for dashboards on other machines. Sharing this machine's two
  // cores, they would take the engine's core whenever both want one; at the lowest priority
  // they still get every idle moment (their CPU share is reported) but not the engine's.
  if (opts.subscriberNice !== 0) setPriority(child.pid!, opts.subscriberNice ?? 19);
  await once(child, 'message');
  const feed = nats ? await natsFeed(opts, nats, config.pipeline.liveBatchSize, toggled) : undefined;
  const source =
    feed?.source ??
    new InProcessSource(messagesOf(payloads), {
      name: 'bench',
      batchSize: config.pipeline.liveBatchSize,
      finite: false,
      messagesPerSecond: opts.eventsPerSecond,
    });
  // The graph's share of the latency: from a batch's first message entering to the batch reaching the sink.
  const graph = await LatencyRecorder.create();
  let batches = 0;
  let batched = 0;
  const graphSink = {
    handle: (b: Batch) => {
      if (b.messages.length === 0) return;
      graph.record(performance.now() - b.messages[0]!.receivedAt);
      batches++;
      batched += b.messages.length;
    },
  };
  // The server's share per tick: sequencing, encoding and handing a tick's alerts to every socket.
  const tickTime = await LatencyRecorder.create();
  // The engine's own share: from the source handing the batch over (no feed wait, no backlog)
  // to its alerts waiting for their tick, once per delivery.
  const fromPickup = await LatencyRecorder.create();
  // Before that: from the batch's first message coming in to the source handing the batch
  // over (its wait for the main thread), once per delivery.
  const toPickup = await LatencyRecorder.create();
  // With the fan-out in its own process its ticks are not timed here.
  if (fanout === 'inline') {
    const streamHub = ops.hub;
    const flush = streamHub.flush.bind(streamHub);
    streamHub.flush = () => {
      const t = performance.now();
      flush();
      tickTime.record(performance.now() - t);
    };
  }
  const timedOps = {
    handle: (b: Batch) => {
      ops.sink.handle(b);
      // Up to the batch's alerts being taken for the next tick (sent within flushIntervalMs).
      if (b.alerts.length > 0) {
        fromPickup.recordMany(performance.now() - b.startedAt, b.alerts.length * subscribers);
        toPickup.recordMany(b.startedAt - b.messages[0]!.receivedAt, b.alerts.length * subscribers);
      }
    },
  };
  const running = engine.run(source, { sinks: [graphSink, timedOps] });
  feed?.go();
  // A toggled run's stalled subscriber is subscribed through a longer warm-up, to fill its buffers.
  if (toggled) await askSubscribers(child, 'stall-on');
  await sleep(warmupMs(opts, toggled));
  await ops.fanout.sync();
  ops.latency.reset();
  graph.reset();
  batches = 0;
  batched = 0;
  tickTime.reset();
  fromPickup.reset();
  toPickup.reset();
  child.send({ type: 'measure' });
  const cpu0 = process.cpuUsage();
  const thread0 = mainThreadCpuMs();
  const fanoutPid = ops.fanout instanceof ProcessFanout ? ops.fanout.pid : undefined;
  const fanout0 = processMainThreadCpuMs(fanoutPid);
  const t0 = performance.now();
  const in0 = view.counters.input;
  const graph0 = (await partitioned?.graphMs()) ?? [];
  const hub0 = ops.fanout.totals();
  const phases = toggled ? await stallPhases(opts, child, ops) : undefined;
  if (!phases) await sleep(opts.measureMs);
  await ops.fanout.sync();
  const seconds = (performance.now() - t0) / 1000; // (a toggled run measured toggledMeasureMs)
  const cpu = process.cpuUsage(cpu0);
  const threadMs = mainThreadCpuMs() - thread0;
  const fanoutMs = processMainThreadCpuMs(fanoutPid) - fanout0;
  const latency = phases ? phases.healthy.summary() : ops.latency.summary();
  const withStalled = phases?.stalled.summary();
  phases?.healthy.close();
  phases?.stalled.close();
  const graphLatency = graph.summary();
  const tickLatency = tickTime.summary();
  const pickupLatency = fromPickup.summary();
  const toPickupLatency = toPickup.summary();
  const hub = ops.fanout.totals();
  const eventsIn = view.counters.input - in0;
  // Each worker's time in the graph per event of its own while measured (its share ≈ 1/W).
  const graphUs = ((await partitioned?.graphMs()) ?? []).map(
    (ms, w) => ((ms - graph0[w]!) * 1000 * workers) / Math.max(1, eventsIn),
  );
  child.send({ type: 'stop' });
  const [result] = (await once(child, 'message')) as [{ received: number[]; gaps: number[]; cpuShare: number }];
  await (feed ? feed.close() : source.stop());
  await running;
  await ops.close();
  await partitioned?.close();
  for (const recorder of [graph, tickTime, fromPickup, toPickup]) recorder.close();
  const healthyReceived = result.received.slice(stalled).reduce((a, b) => a + b, 0);
  return {
    engine: engineName(workers),
    fanout,
    subscribers,
    stalled: toggled ? 'coming and going' : stalled,
    'events in/s': Math.round(eventsIn / seconds),
    'alerts/s': Math.round((hub.published - hub0.published) / seconds),
    'delivered/s': Math.round((hub.delivered - hub0.delivered) / seconds),
    'dropped (stalled)': hub.dropped,
    'p50 ms': latency.p50.toFixed(3),
    'p99 ms': latency.p99.toFixed(3),
    'p99.9 ms': latency.p999.toFixed(3),
    deliveries: latency.count,
    ...(withStalled && {
      // Toggled runs: the figures above are the phases without the stalled subscriber, these the phases with it.
      phases: phases!.phases,
      'with the stalled one: p50 ms': withStalled.p50.toFixed(3),
      'with the stalled one: p99 ms': withStalled.p99.toFixed(3),
      'with the stalled one: deliveries': withStalled.count,
      'dropped in phases without, with it': phases!.dropped.join(', '),
      // A slow spell of the host lands in one phase and decides the pooled p99 of its kind;
      // each phase's p99 against the phase before it, over all pairs, is robust to a few.
      'phase-pair p99 ratio (median)': +median(pairRatios(phases!.phaseP99)).toFixed(3),
      'phase pairs': pairRatios(phases!.phaseP99).length,
    }),
    'in to pickup p99 ms': toPickupLatency.p99.toFixed(3),
    'from pickup p50 ms': pickupLatency.p50.toFixed(3),
    'from pickup p99 ms': pickupLatency.p99.toFixed(3),
    'graph p50 ms': graphLatency.p50.toFixed(3),
    'graph p99 ms': graphLatency.p99.toFixed(3),
    'events per batch (mean)': +(batched / Math.max(1, batches)).toFixed(1),
    'tick p50 ms': fanout === 'inline' ? tickLatency.p50.toFixed(3) : '-',
    'tick p99 ms': fanout === 'inline' ? tickLatency.p99.toFixed(3) : '-',
    'alerts not posted to the fan-out process': ops.fanout.fanoutCounters.alertsDropped,
    // Shares of one core while measured (2 cores in all): the engine and server process, and the subscribers' process.
    'engine CPU': `${Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100)}%`,
    // The event loop's thread alone: what holds up the next message (GC helper threads do not).
    'engine thread µs/event': +((threadMs * 1000) / Math.max(1, eventsIn)).toFixed(1),
    // With the fan-out in its own process: its main thread's CPU per event in.
    'fan-out process thread µs/event': Number.isNaN(fanoutMs)
      ? '-'
      : +((fanoutMs * 1000) / Math.max(1, eventsIn)).toFixed(1),
    'worker graph µs/event (own events)': graphUs.length === 0 ? '-' : graphUs.map((x) => x.toFixed(1)).join(', '),
    'subscribers CPU': `${Math.round(result.cpuShare * 100)}%`,
    'frames read by clients (incl. warm-up)': healthyReceived,
    'gaps read by clients': result.gaps.reduce((a, b) => a + b, 0),
  };
}

export interface WsBenchResult {
  readonly rows: Record<string, string | number>[];
  /** The machine's steadiness just before and just after the runs (see support/steadiness.ts). */
  readonly steadiness: readonly Steadiness[];
  /** A stand-in spending the engine thread's CPU per event at 100 subscribers (and half that), fed alike (support/latency-floor.ts). */
  readonly floors: readonly LatencyFloor[];
  /** A worker's reply to a live batch through structuredClone (support/reply-clone.ts); absent without worker runs. */
  readonly replyClone?: ReplyClone | undefined;
}

export async function wsBench(opts: WsBenchOptions): Promise<WsBenchResult> {
  // Enough for the longest run (a toggled one, when there are any), with a margin.
  const needed = Math.ceil(
    ((opts.eventsPerSecond * Math.max(runMs(opts, false), (opts.toggledRuns ?? 2) > 0 ? runMs(opts, true) : 0)) /
      1000) *
      1.5,
  );
  const nats = opts.feed === 'nats' ? await NatsServer.start() : undefined;
  process.stderr.write(
    nats
      ? `ws: events through nats-server ${nats.url}, published by a paced child process\n`
      : `ws: generating ${needed} shop events for ${opts.customers} customers...\n`,
  );
  const payloads = nats ? [] : shopPayloads(needed, opts.customers);
  const steadiness = [await measureSteadiness(3000)];
  const rows: Record<string, string | number>[] = [];
  const plan: [number, number, number, ('inline' | 'process')?][] = [
    [1, 0, 0],
    [10, 0, 0],
  ];
  const engines = [0, ...(opts.workers ?? [1, 2])];
  const fanouts = opts.fanouts ?? ['inline'];
  // ABBA order within an engine, and the engines' order rotating from pair to pair, so a load
  // that rises or falls through the bench hits every kind alike.
  if (opts.plan) plan.splice(0, plan.length, ...opts.plan);
  else
    for (let i = 0; i < opts.stalledPairs; i++)
      for (let k = 0; k < engines.length; k++)
        for (let f = 0; f < fanouts.length; f++) {
          const workers = engines[(i + k) % engines.length]!;
          const fanout = fanouts[(i + k + f) % fanouts.length]!;
          const stalledFirst = (i + k + f) % 2 === 1;
          plan.push([100, stalledFirst ? 1 : 0, workers, fanout], [100, stalledFirst ? 0 : 1, workers, fanout]);
        }
  for (const [subscribers, stalled, workers, fanout = 'inline'] of plan) {
    process.stderr.write(
      `  ${subscribers} subscribers${stalled ? `, ${stalled} stalled` : ''}, ${engineName(workers)}, fan-out ${fanout}...\n`,
    );
    rows.push(await run(opts, payloads, subscribers, stalled, nats, false, workers, fanout));
  }
  for (let i = 0; i < (opts.toggledRuns ?? 2); i++) {
    process.stderr.write(
      `  100 subscribers, a stalled one coming and going every ${opts.stallPhaseMs ?? 1000} ms...\n`,
    );
    for (const fanout of fanouts) rows.push(await run(opts, payloads, 100, 0, nats, true, 0, fanout));
  }
  await nats?.stop();
  steadiness.push(await measureSteadiness(3000));
  // The floor at the single-threaded engine's CPU per event (the worker runs' main thread spends less).
  const cost = median(
    rows
      .filter((r) => r.subscribers === 100 && r.stalled === 0 && r.engine === engineName(0) && r.fanout !== 'process')
      .map((r) => Number(r['engine thread µs/event'])),
  );
  const floors: LatencyFloor[] = [];
  const batchSize = loadConfig({ env: process.env }).pipeline.liveBatchSize;
  if (opts.latencyFloor !== false && Number.isFinite(cost) && cost > 0)
    for (const micros of [cost, cost / 2])
      floors.push(await measureLatencyFloor(micros, opts.eventsPerSecond, batchSize, Math.min(opts.measureMs, 8000)));
  const replyClone =
    (opts.workers ?? [1, 2]).length > 0
      ? measureReplyClone(
          loadConfig({ env: process.env, overrides: { analytics: { refit: { everyMs: 0 } } } }),
          shopPayloads(20_000, opts.customers),
          batchSize,
        )
      : undefined;
  return { rows, steadiness, floors, replyClone };
}

/**
 * The ws suite's output: the runs, one column each, then one summary table (the machine's
 * steadiness, the latency floors, and the stalled-subscriber ratios), as every suite ends.
 */
export function printWs(result: WsBenchResult): void {
  process.stdout.write(table(result.rows) + '\n\n' + table([wsSummary(result)]) + '\n');
}

/** The summary column: figure → value. */
export function wsSummary({ rows, steadiness, floors, replyClone }: WsBenchResult): Record<string, string | number> {
  const out: Record<string, string | number> = { suite: 'ws summary' };
  for (const [i, m] of steadiness.entries()) {
    const when = i === 0 ? 'before' : 'after';
    out[`steadiness ${when}: ≈1 ms computation p50 / p99 / max ms`] =
      `${m.p50Ms.toFixed(2)} / ${m.p99Ms.toFixed(2)} / ${m.maxMs.toFixed(2)}`;
  }
  for (const f of floors) {
    out[`latency floor at ${f.microsPerEvent.toFixed(1)} µs/event: p50 / p99 / p99.9 ms (busy)`] =
      `${f.p50Ms.toFixed(2)} / ${f.p99Ms.toFixed(2)} / ${f.p999Ms.toFixed(2)} (${(f.busy * 100).toFixed(0)}%)`;
  }
  if (replyClone !== undefined)
    out[`a worker's reply, ${replyClone.batchSize} events: structuredClone µs per batch / per event`] =
      `${replyClone.microsPerBatch.toFixed(1)} / ${replyClone.microsPerEvent.toFixed(2)}`;
  for (const [i, r] of rows.filter((r) => r.stalled === 'coming and going').entries()) {
    const a = Number(r['p99 ms']);
    const b = Number(r['with the stalled one: p99 ms']);
    const pair = Number(r['phase-pair p99 ratio (median)']);
    const n = `#${i + 1}${r.fanout === 'process' ? ' (fan-out process)' : ''}`;
    out[`stalled one coming and going ${n}: phase-pair p99 change (median)`] = `${((pair - 1) * 100).toFixed(0)}%`;
    out[`stalled one coming and going ${n}: pooled p99 ms without / with`] =
      `${a.toFixed(3)} / ${b.toFixed(3)} (${(((b - a) / a) * 100).toFixed(0)}%)`;
  }
  // Rows without an engine column are the single-threaded engine's (results from before it).
  const kindOf = (r: Record<string, string | number>) =>
    String(r.engine ?? engineName(0)) + (r.fanout === 'process' ? ', fan-out process' : '');
  const kinds = [...new Set(rows.map(kindOf))];
  for (const kind of kinds) {
    const p99 = (stalled: number) =>
      rows
        .filter((r) => r.subscribers === 100 && r.stalled === stalled && kindOf(r) === kind)
        .map((r) => Number(r['p99 ms']));
    const normal = p99(0);
    const withStalled = p99(1);
    if (normal.length === 0 || withStalled.length === 0) continue;
    const a = median(normal);
    const b = median(withStalled);
    // The single-threaded engine's figures keep their names; the others are prefixed with theirs.
    const name = (figure: string) => (kind === engineName(0) ? figure : `${kind}: ${figure}`);
    out[name(`100 subscribers: p99 ms, median of ${normal.length} runs`)] = a.toFixed(3);
    out[name('100 subscribers: p99 ms, each run')] = normal.map((x) => x.toFixed(1)).join(' ');
    out[name('100 subscribers, one stalled from the start: p99 ms (median)')] = b.toFixed(3);
    out[name('100 subscribers, one stalled from the start: p99 ms, each run')] = withStalled
      .map((x) => x.toFixed(1))
      .join(' ');
    out[name('stalled from the start: p99 change')] = `${(((b - a) / a) * 100).toFixed(0)}%`;
  }
  return out;
}
