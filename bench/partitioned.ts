import { availableParallelism } from 'node:os';
import type { VigilConfig } from '../src/app/config/schema.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import type { RawMessage } from '../src/core/source.js';
import { median } from './report.js';
import { threadCpuMs } from './support/main-thread-cpu.js';

/** The share of the input a run feeds before its steady part is timed. */
const WARM_UP_SHARE = 0.25;

/** Per event of a run's steady part: µs of CPU on the main thread, the workers and V8's helpers. */
interface ThreadCosts {
  main: number;
  workers: number;
  helpers: number;
}

/**
 * Throughput of the partitioned engine (analytics on) by number of worker threads, on the
 * core bench's input: W = 1, 2, … up to the machine's cores, in alternating order over
 * `rounds` rounds (the host's slow phases land on every W alike); medians. Each run starts
 * fresh workers (their start-up is not timed), feeds the first quarter of the input (the
 * warm-up: each worker isolate compiles the graph on its own), waits until the workers have
 * applied it, then feeds the rest (the steady part) through to the end of input. Rows give
 * both: the steady rate, which is what a long-running engine sees, and the whole run's.
 *
 * Per-thread costs per event: the main thread's routing (partition from the raw bytes, copy
 * into a worker's batch) and stage after the shuffle, and each worker's time in the graph
 * (wall time, so it includes waits for a core; with `engine.globalSyncMs` its share of the
 * sync points). On Linux, the steady part's CPU per event by thread: the main thread, the
 * worker threads (those started with the engine) and the rest (V8's GC and compiler helpers,
 * shared by every isolate of the process).
 */
export async function partitionedScaling(
  config: VigilConfig,
  messages: readonly RawMessage[],
  rounds: number,
): Promise<Record<string, string | number>> {
  const counts = Array.from({ length: Math.max(2, availableParallelism()) }, (_, i) => i + 1);
  const series = () => new Map<number, number[]>(counts.map((w) => [w, []]));
  const steadyEvs = series();
  const wholeEvs = series();
  const routing = series();
  const graph = series();
  const stage = series();
  const cpu = new Map<number, ThreadCosts[]>(counts.map((w) => [w, []]));
  let syncPoints = 0;
  const mergeMs: number[] = [];
  const n = messages.length;
  const cut = Math.floor(n * WARM_UP_SHARE);
  const warmUp = messages.slice(0, cut);
  const steady = messages.slice(cut);
  for (let r = 0; r < rounds; r++) {
    for (const workers of r % 2 === 0 ? counts : [...counts].reverse()) {
      const before = threadCpuMs();
      const engine = await PartitionedEngine.start(config, { workers });
      try {
        const t0 = performance.now();
        await engine.feed(warmUp);
        await engine.settle();
        const t1 = performance.now();
        const cpu0 = threadCpuMs();
        await engine.feed(steady);
        await engine.finish();
        const t2 = performance.now();
        cpu.get(workers)!.push(threadCosts(before, cpu0, threadCpuMs(), steady.length));
        const results = await engine.results(false);
        const applied = results.reduce((s, p) => s + p.counters.applied, 0);
        if (applied !== n) throw new Error(`partitioned bench input not fully applied: ${applied} of ${n}`);
        steadyEvs.get(workers)!.push((steady.length / (t2 - t1)) * 1000);
        wholeEvs.get(workers)!.push((n / (t2 - t0)) * 1000);
        routing.get(workers)!.push((engine.stats.routingMs * 1e6) / n);
        stage.get(workers)!.push((engine.stats.stageMs * 1e6) / n);
        // A worker's graph time per event of its own share.
        graph.get(workers)!.push(...engine.stats.graphMs.map((g) => (g * 1e6 * workers) / n));
        syncPoints = engine.stats.syncPoints;
        mergeMs.push(engine.stats.mergeMs);
        process.stderr.write(
          `  partitioned, ${workers} worker(s): ${Math.round(steadyEvs.get(workers)!.at(-1)!)} ev/s steady, ${Math.round(wholeEvs.get(workers)!.at(-1)!)} whole run\n`,
        );
      } finally {
        await engine.close();
      }
    }
  }
  const byW = (m: Map<number, number[]>, digits = 0) => counts.map((w) => median(m.get(w)!).toFixed(digits)).join(', ');
  const row: Record<string, string | number> = {};
  for (const w of counts)
    row[`partitioned (P=32), ${w} worker(s): ev/s after warm-up`] = Math.round(median(steadyEvs.get(w)!));
  row['partitioned: 2 workers / 1 worker, after warm-up'] = +(
    median(steadyEvs.get(2)!) / median(steadyEvs.get(1)!)
  ).toFixed(2);
  row['partitioned: ev/s over the whole run (warm-up included), by W'] = byW(wholeEvs);
  row['partitioned: 2 workers / 1 worker, whole run'] = +(median(wholeEvs.get(2)!) / median(wholeEvs.get(1)!)).toFixed(
    2,
  );
  row['  routing ns/ev (main thread), by W'] = byW(routing);
  row['  stage after the shuffle ns/ev (main thread: demand, campaigns), by W'] = byW(stage);
  row['  graph ns/ev (per worker, own events, wall), by W'] = byW(graph);
  const part = (k: keyof ThreadCosts) => counts.map((w) => median(cpu.get(w)!.map((c) => c[k])).toFixed(2)).join(', ');
  row['  CPU µs/ev after warm-up: main thread, by W'] = part('main');
  row['  CPU µs/ev after warm-up: worker threads together, by W'] = part('workers');
  row['  CPU µs/ev after warm-up: V8 helpers (GC, compiler), by W'] = part('helpers');
  // State across customers merged at sync points (engine.globalSyncMs): how many, and the main thread's merging.
  row['  sync points; main-thread merge ms (median run)'] = `${syncPoints}; ${Math.round(median(mergeMs))}`;
  return row;
}

/** Splits the CPU between two snapshots: main thread, threads new since `before` (the workers), the rest. */
function threadCosts(
  before: Map<string, number>,
  from: Map<string, number>,
  to: Map<string, number>,
  events: number,
): ThreadCosts {
  const costs: ThreadCosts = { main: 0, workers: 0, helpers: 0 };
  for (const [tid, ms] of to) {
    const used = ms - (from.get(tid) ?? 0);
    const kind = tid === String(process.pid) ? 'main' : before.has(tid) ? 'helpers' : 'workers';
    costs[kind] += (used * 1000) / events;
  }
  return costs;
}
