import type { VigilConfig } from '../config/schema.js';
import type { RawMessage } from '../../core/source.js';
import type { EventFileProgress } from '../../edges/files/event-file.js';
import { PartitionedEngine } from '../partitions/partitioned-engine.js';
import type { PartitionResult } from '../partitions/partition-protocol.js';
import type { OutcomeCountsJson } from '../../state/outcome-counters.js';
import { bar, compact, ProgressLine } from './progress.js';

export interface WorkersReplayOptions {
  readonly workers: number;
  /** P (default 32). */
  readonly partitions?: number | undefined;
  readonly progress: boolean;
  /** How far the file has been read, for the progress bar. */
  readonly file?: EventFileProgress | undefined;
  /** Gather every customer's dump line (keyed state and analytics) at the end. */
  readonly dumpLines: boolean;
  readonly signal?: AbortSignal | undefined;
}

export interface WorkersReplay {
  counts: OutcomeCountsJson;
  customers: number;
  /** The highest partition watermark: the input's last event time at the end of a finite input. */
  watermark: number;
  /** With `dumpLines`: [customer id, dump line], sorted by id. */
  lines?: [string, unknown][];
  partitions: number;
  stopped: boolean;
}

/**
 * A finite input through `PartitionedEngine`: the main thread routes each message by
 * customer partition to W worker threads, and at the end every partition's event time
 * moves to the input's last. Per-customer state is that of the single-threaded engine;
 * state across customers (RFM quantiles, CLV tiers, refits, recommender tables) is each
 * partition's own (docs/architecture.md, "Partitions").
 */
export async function replayOnWorkers(
  config: VigilConfig,
  runs: AsyncIterable<readonly RawMessage[]>,
  opts: WorkersReplayOptions,
): Promise<WorkersReplay> {
  const engine = await PartitionedEngine.start(config, {
    workers: opts.workers,
    ...(opts.partitions !== undefined && { partitions: opts.partitions }),
  });
  let routed = 0;
  const started = performance.now();
  const f = opts.file;
  // The counters live in the workers until the end: the line shows what was routed to them.
  const line = new ProgressLine(() => {
    const secs = (performance.now() - started) / 1000;
    const frac = f?.totalBytes ? f.bytesRead / f.totalBytes : 0;
    return (
      `${f?.totalBytes ? bar(frac) + ' ' + (frac * 100).toFixed(0).padStart(3) + '% ' : ''}` +
      `${compact(routed)} events, ${compact(routed / Math.max(secs, 1e-3))}/s | ` +
      `routed to ${engine.workers} workers (${engine.partitions} partitions)`
    );
  });
  if (opts.progress) line.start();
  let stopped = false;
  try {
    for await (const run of runs) {
      if (opts.signal?.aborted) {
        stopped = true;
        break;
      }
      await engine.feed(run);
      routed += run.length;
    }
    await engine.finish();
    const results = await engine.results();
    const watermark = Math.max(...results.map((r) => r.watermark));
    const lines = opts.dumpLines ? await engine.dumpLines(watermark) : undefined;
    return {
      counts: summedCounts(results),
      customers: lines?.length ?? results.reduce((s, r) => s + (r.customers ?? 0), 0),
      watermark,
      ...(lines !== undefined && { lines }),
      partitions: engine.partitions,
      stopped,
    };
  } finally {
    if (opts.progress) line.stop();
    await engine.close();
  }
}

/** The partitions' outcome counters added up (`rejectedBy` by reason, sorted as `toJSON` sorts it). */
export function summedCounts(results: readonly PartitionResult[]): OutcomeCountsJson {
  const sum: OutcomeCountsJson = { input: 0, applied: 0, duplicate: 0, late: 0, rejected: 0, rejectedBy: {} };
  const by: Record<string, number> = {};
  for (const { counters: c } of results) {
    sum.input += c.input;
    sum.applied += c.applied;
    sum.duplicate += c.duplicate;
    sum.late += c.late;
    sum.rejected += c.rejected;
    for (const [reason, n] of Object.entries(c.rejectedBy)) by[reason] = (by[reason] ?? 0) + n;
  }
  sum.rejectedBy = Object.fromEntries(Object.entries(by).sort(([a], [b]) => a.localeCompare(b)));
  return sum;
}

/**
 * Every customer's dump line after `input` ran through W workers (the batch evaluations'
 * view of the state), with the final watermark.
 */
export async function customerLinesOnWorkers(
  config: VigilConfig,
  input: AsyncIterable<readonly RawMessage[]> | Iterable<RawMessage>,
  workers: number,
): Promise<{ lines: [string, unknown][]; watermark: number }> {
  const runs =
    Symbol.asyncIterator in input
      ? input
      : (async function* () {
          yield [...input];
        })();
  const r = await replayOnWorkers(config, runs, { workers, progress: false, dumpLines: true });
  return { lines: r.lines ?? [], watermark: r.watermark };
}
