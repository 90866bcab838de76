import { chaosBench } from './chaos.js';
import { checkpointBench } from './checkpoint.js';
import { coreBench, printCore } from './core.js';
import { memoryBench } from './memory.js';
import { natsBench } from './nats.js';
import { triggersBench } from './triggers.js';
import { printWs, wsBench, wsSummary } from './ws.js';
import { parseBenchArgs } from './cli.js';
import { printComparison } from './compare.js';
import { recordTable, writeBenchResults } from './results.js';

/**
 * `npm run bench -- <suite> [options]` (`--help` for each suite; `--json FILE` keeps the
 * results; `compare OLD.json NEW.json`). Suites print figures; nothing here asserts. Quote
 * ratios from one run: the machines are shared and absolute figures move ±20%.
 *   core [--quick]   the whole graph vs a bare decode+aggregate loop: 100k customers (msgpack,
 *                    JSON; medians of 8 and 4 runs each with and without analytics, in
 *                    pairs, each run after a ceiling loop) and 1M customers (one pair). The
 *                    analytics overhead comes from 3 (JSON 2, 1M 1) replays in which an engine
 *                    with analytics and one without (each in a worker thread: own heap, own
 *                    GCs) take turns every 65,536 messages, so the host's slow phases land
 *                    on both (the pairs' median is printed beside it). --quick: 20k
 *                    customers, 2 pairs, 1 interleaved replay. The 100k msgpack input (--quick: 20k)
 *                    then goes through the partitioned engine (analytics on, P = 32) with 1, 2, …
 *                    cores worker threads, alternated over 4 rounds (--quick: 2); medians of
 *                    ev/s, the 2-worker speed-up, routing and graph ns per event.
 *   nats [--quick]   core NATS and JetStream on a local nats-server: a bare receive+decode
 *                    consumer (the transport ceiling) vs the full engine, on one thread and
 *                    with the graph on 1 and 2 worker threads (PartitionedLiveEngine), 500k
 *                    events, 3 runs (--quick: 100k, 1); beside each ratio the model's bound
 *                    (one thread: g/(g+c); workers: min of the ceiling, the main thread, W ×
 *                    graph and the machine's CPU) and the per-thread costs it comes from.
 *   triggers [--quick] the engine alone vs with the NATS trigger and webhook sinks (local
 *                    nats-server and HTTP receiver): engine events/s, delivery rates; 3 runs.
 *   ws [--quick]     the live stream: the engine fed 20k events/s from the synthetic shop, 1, 10
 *                    and 100 ws subscribers (a child process), and 100 with one stalled (3 pairs,
 *                    alternated; medians), the pairs made with the single-threaded engine and
 *                    with the graph on 1 and 2 workers; alerts delivered/s and message-in → frame-out
 *                    p50/p99/p99.9. 3 s warm-up, 15 s measured per run (--quick: 1 s and 4 s, 1 pair).
 *                    --fanout process|both: the 100-subscriber runs with the fan-out in its own process
 *                    (server.fanout), or with each.
 *                    Then 2 runs (--quick: 1) of 100 where one more, stalled, subscriber comes
 *                    and goes every second for 30 s (--quick: 4 s), its phases' latency
 *                    recorded apart; the median of the phase pairs' p99 ratios is the figure.
 *                    Model refits are off (the replayed history brings a weekly one every few
 *                    seconds); --refits keeps them on.
 *                    --nats: the events come through a local nats-server from a paced publisher
 *                    process, stamped as the NATS client hands them over (else: an in-process
 *                    feed, stamped with their due time).
 *   checkpoint [--quick] what durable state costs: the core input (100k and 1M customers;
 *                    --quick: 20k) with checkpoints every 10 s to a local nats-server's Object
 *                    Store against none (alternated pairs); checkpoint size, write and restore
 *                    time, the engine's longest stall, throughput on/off.
 *   memory [--quick] state memory per customer with analytics at 1M customers (--quick: 100k),
 *                    2 days of the core input: the single-threaded engine, then the partitioned
 *                    engine with 2 workers, each worker's isolate (heap + array buffers after a
 *                    full GC) before and after, summed over workers. Not part of `core`: the
 *                    1M input alone takes minutes to generate.
 *   chaos [--quick]  200k events (--quick: 30k) through JetStream into `vigil start` child
 *                    processes killed 10 times (--quick: 4); customers wrong, events lost and
 *                    double-counted, triggers missing (all must be 0), recovery times.
 */
const parsed = parseBenchArgs(
  process.argv.slice(2),
  (s) => process.stdout.write(s),
  (s) => process.stderr.write(s),
);
// Help printed (0) or a usage error (2): no suite runs.
const cli = 'exit' in parsed ? process.exit(parsed.exit) : parsed;
const { suite, args } = cli;
const quick = args.includes('--quick');

async function main(): Promise<void> {
  switch (suite) {
    case 'core': {
      const rows = [];
      rows.push(
        await coreBench({
          customers: quick ? 20_000 : 100_000,
          days: 7,
          format: 'msgpack',
          repeats: quick ? 2 : 8,
          interleaved: quick ? 1 : 3,
          partitionedRounds: quick ? 2 : 4,
        }),
      );
      if (!quick) {
        rows.push(await coreBench({ customers: 100_000, days: 7, format: 'json', repeats: 4, interleaved: 2 }));
        rows.push(await coreBench({ customers: 1_000_000, days: 2, format: 'msgpack', repeats: 1, interleaved: 1 }));
      }
      printCore(rows);
      recordTable('core', rows);
      break;
    }
    case 'nats': {
      const rows = await natsBench(quick ? 100_000 : 500_000, quick ? 1 : 3);
      printCore(rows);
      recordTable('nats', rows);
      break;
    }
    case 'triggers': {
      const rows = await triggersBench(quick ? 1000 : 5000, quick ? 30 : 60, quick ? 1 : 3);
      printCore(rows);
      recordTable('triggers', rows);
      break;
    }
    case 'compare':
      printComparison(cli.compare![0], cli.compare![1], (s) => process.stdout.write(s));
      break;
    case 'ws': {
      const result = await wsBench({
        eventsPerSecond: 20_000,
        stalledPairs: quick ? 1 : 3,
        toggledRuns: quick ? 1 : 2,
        toggledMeasureMs: quick ? 4000 : 30_000,
        warmupMs: quick ? 1000 : 3000,
        measureMs: quick ? 4000 : 15_000,
        customers: quick ? 5000 : 20_000,
        feed: args.includes('--nats') ? 'nats' : 'in-process',
        refits: args.includes('--refits'),
        fanouts: args.includes('--fanout=both')
          ? ['inline', 'process']
          : args.includes('--fanout=process')
            ? ['process']
            : ['inline'],
      });
      printWs(result);
      recordTable('ws', result.rows);
      recordTable('ws summary', [wsSummary(result)]);
      break;
    }
    case 'checkpoint': {
      const rows = [
        await checkpointBench({
          customers: quick ? 20_000 : 100_000,
          days: 7,
          intervalMs: 10_000,
          pairs: quick ? 1 : 3,
        }),
      ];
      if (!quick) rows.push(await checkpointBench({ customers: 1_000_000, days: 2, intervalMs: 10_000, pairs: 1 }));
      printCore(rows);
      recordTable('checkpoint', rows);
      break;
    }
    case 'memory': {
      const rows = [await memoryBench({ customers: quick ? 100_000 : 1_000_000, days: 2, workers: 2 })];
      printCore(rows);
      recordTable('memory', rows);
      break;
    }
    case 'chaos': {
      const rows = [await chaosBench(quick)];
      printCore(rows);
      recordTable('chaos', rows);
      break;
    }
    default:
      throw new Error(`unknown bench suite '${suite}' (known: core, nats, triggers, ws, checkpoint, memory, chaos)`);
  }
}

main()
  .then(() => {
    if (cli.json !== undefined) writeBenchResults(cli.json, suite, args);
  })
  .catch((e: unknown) => {
    process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
    process.exitCode = 1;
  });
