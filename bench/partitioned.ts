import { availableParallelism } from 'node:os';
import type { VigilConfig } from '../src/app/config/schema.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import type { RawMessage } from '../src/core/source.js';
import { median } from './report.js';

/**
 * Throughput of the partitioned engine (analytics on) by number of worker threads, on the
 * core bench's input: W = 1, 2, … up to the machine's cores, in alternating order over
 * `rounds` rounds (the host's slow phases land on every W alike); medians. Each run starts
 * fresh workers (their start-up is not timed) and times routing all messages through to the
 * end of input. Per-thread costs per event: the main thread's routing (partition from the
 * raw bytes, copy into a worker's batch) and each worker's time in the graph (which
 * includes its share of the sync points, `engine.globalSyncMs`); the sync points placed and
 * the main thread's time merging their partials.
 */
export async function partitionedScaling(
  config: VigilConfig,
  messages: readonly RawMessage[],
  rounds: number,
): Promise<Record<string, string | number>> {
  const counts = Array.from({ length: Math.max(2, availableParallelism()) }, (_, i) => i + 1);
  const evs = new Map<number, number[]>(counts.map((w) => [w, []]));
  const routing = new Map<number, number[]>(counts.map((w) => [w, []]));
  const graph = new Map<number, number[]>(counts.map((w) => [w, []]));
  const stage = new Map<number, number[]>(counts.map((w) => [w, []]));
  let syncPoints = 0;
  const mergeMs: number[] = [];
  const n = messages.length;
  for (let r = 0; r < rounds; r++) {
    for (const workers of r % 2 === 0 ? counts : [...counts].reverse()) {
      const engine = await PartitionedEngine.start(config, { workers });
      try {
        const t0 = performance.now();
        await engine.feed(messages);
        await engine.finish();
        const ms = performance.now() - t0;
        const results = await engine.results(false);
        const applied = results.reduce((s, p) => s + p.counters.applied, 0);
        if (applied !== n) throw new Error(`partitioned bench input not fully applied: ${applied} of ${n}`);
        evs.get(workers)!.push((n / ms) * 1000);
        routing.get(workers)!.push((engine.stats.routingMs * 1e6) / n);
        stage.get(workers)!.push((engine.stats.stageMs * 1e6) / n);
        // A worker's graph time per event of its own share.
        graph.get(workers)!.push(...engine.stats.graphMs.map((g) => (g * 1e6 * workers) / n));
        syncPoints = engine.stats.syncPoints;
        mergeMs.push(engine.stats.mergeMs);
        process.stderr.write(`  partitioned, ${workers} worker(s): ${Math.round((n / ms) * 1000)} ev/s\n`);
      } finally {
        await engine.close();
      }
    }
  }
  const row: Record<string, string | number> = {};
  for (const w of counts) row[`partitioned (P=32), ${w} worker(s): ev/s`] = Math.round(median(evs.get(w)!));
  row['partitioned: 2 workers / 1 worker'] = +(median(evs.get(2)!) / median(evs.get(1)!)).toFixed(2);
  row['  routing ns/ev (main thread), by W'] = counts.map((w) => Math.round(median(routing.get(w)!))).join(', ');
  row['  stage after the shuffle ns/ev (main thread: demand, campaigns), by W'] = counts
    .map((w) => Math.round(median(stage.get(w)!)))
    .join(', ');
  row['  graph ns/ev (per worker, own events), by W'] = counts.map((w) => Math.round(median(graph.get(w)!))).join(', ');
  // State across customers merged at sync points (engine.globalSyncMs): how many, and the main thread's merging.
  row['  sync points; main-thread merge ms (median run)'] = `${syncPoints}; ${Math.round(median(mergeMs))}`;
  return row;
}
