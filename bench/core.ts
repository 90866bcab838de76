import { decodePayload } from '../src/ingest/codec/decode.js';
import type { PayloadFormat } from '../src/edges/encode.js';
import { loadConfig } from '../src/app/config/load.js';
import type { VigilConfig } from '../src/app/config/schema.js';
import { Engine } from '../src/app/engine.js';
import type { CanonicalEvent } from '../src/core/event.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import { EngineState } from '../src/app/engine-state.js';
import type { StateSignal } from '../src/state/signals.js';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { shopInput } from './support/shop-input.js';
import type { TurnCommand, TurnTakerData } from './support/turn-taker.js';
import { partitionedScaling } from './partitioned.js';
import { heapAndBuffers, median, settleHeap, table } from './report.js';

/**
 * The core bench: pre-generated synthetic-shop events, encoded once, fed through the whole
 * graph in-process (decode + validate + dedupe + watermark + keyed state, in RxJS batches),
 * and, in the same run, through a bare loop that only decodes and applies the same
 * aggregation (no validation, no dedupe, no watermark, no RxJS): the ceiling.
 */
export interface CoreBenchOptions {
  customers: number;
  /** Days of shop activity; every customer joins in the first half, so all appear. */
  days: number;
  format: PayloadFormat;
  /** Sequential pairs of engine runs without and with analytics (engine and ceiling ns/event). */
  repeats: number;
  /** Replays of the input by both engines interleaved (the analytics overhead); default 3. */
  interleaved?: number;
  /** Rounds of the partitioned engine over W = 1 … cores (analytics on); 0 skips it. */
  partitionedRounds?: number;
}

/**
 * Messages each engine replays per turn when interleaved (≈ 0.3–0.5 s of work): long enough
 * that refilling the caches the other engine emptied is a small part of a turn, short
 * enough that a slow phase of the host spans turns of both.
 */
const TURN_MESSAGES = 65_536;

function ceiling(config: VigilConfig, messages: RawMessage[]): number {
  const state = new EngineState(config);
  const signals: StateSignal[] = [];
  const t0 = performance.now();
  for (let i = 0; i < messages.length; i++) {
    const r = decodePayload(messages[i]!.bytes, config.limits.maxPayloadBytes);
    if (r.ok) state.store.apply(r.value as CanonicalEvent, signals);
    if (signals.length > 4096) signals.length = 0;
  }
  return performance.now() - t0;
}

export async function engineRun(config: VigilConfig, messages: RawMessage[]): Promise<{ ms: number; engine: Engine }> {
  const engine = new Engine(config);
  const source = new InProcessSource(messages, { name: 'bench', batchSize: config.pipeline.batchSize, finite: true });
  const t0 = performance.now();
  await engine.run(source);
  const ms = performance.now() - t0;
  if (engine.state.counters.applied !== messages.length) {
    throw new Error(`bench input not fully applied: ${JSON.stringify(engine.state.counters.toJSON())}`);
  }
  return { ms, engine };
}

/** An engine in a worker thread of its own, fed a turn at a time (support/turn-taker.ts). */
class TurnTaker {
  private constructor(private readonly worker: Worker) {}

  static async start(data: TurnTakerData): Promise<TurnTaker> {
    const worker = new Worker(new URL('./support/turn-taker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: 16_384 },
    });
    const taker = new TurnTaker(worker);
    await taker.reply();
    return taker;
  }

  async ask(command: TurnCommand): Promise<{ ms?: number; applied?: number }> {
    this.worker.postMessage(command);
    return this.reply();
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }

  private async reply(): Promise<{ ms?: number; applied?: number }> {
    // once() rejects on the worker's 'error' event, so a failing engine fails the bench.
    const [message] = (await once(this.worker, 'message')) as [{ ms?: number; applied?: number }];
    return message;
  }
}

/**
 * The analytics' overhead measured so that the machine's drift cancels: an engine with them
 * and one without, each in a worker thread of its own (own heap: each pays exactly its own
 * GCs, as when run alone), replay the same input taking turns every `turn` messages, the
 * order alternating, so the host's slow spells (this VM has them for tens of ms up to
 * minutes, both cores at once) land on both alike. Only one engine runs at a time.
 */
export async function interleavedOverhead(
  opts: CoreBenchOptions,
  replays: number,
  turn: number,
): Promise<{ withMs: number; withoutMs: number }[]> {
  const input = { customers: opts.customers, days: opts.days, format: opts.format };
  const withAnalytics = await TurnTaker.start({ input, analytics: true });
  const without = await TurnTaker.start({ input, analytics: false });
  const results: { withMs: number; withoutMs: number }[] = [];
  try {
    const { messages } = (await withAnalytics.ask({ type: 'reset' })) as { messages?: number };
    const n = messages!;
    for (let r = 0; r < replays; r++) {
      if (r > 0) await Promise.all([withAnalytics.ask({ type: 'reset' }), without.ask({ type: 'reset' })]);
      let withMs = 0;
      let withoutMs = 0;
      for (let from = 0, k = 0; from < n; from += turn, k++) {
        const to = Math.min(n, from + turn);
        for (const engine of k % 2 === 0 ? [withAnalytics, without] : [without, withAnalytics]) {
          const { ms } = await engine.ask({ type: 'turn', from, to, end: to === n });
          if (engine === withAnalytics) withMs += ms!;
          else withoutMs += ms!;
        }
      }
      for (const engine of [withAnalytics, without]) {
        const { applied } = await engine.ask({ type: 'count' });
        if (applied !== n) throw new Error(`bench input not fully applied: ${applied} of ${n}`);
      }
      results.push({ withMs, withoutMs });
      process.stderr.write(
        `  interleaved replay ${r + 1}/${replays}: analytics overhead ${((withMs / withoutMs - 1) * 100).toFixed(0)}%\n`,
      );
    }
  } finally {
    await Promise.all([withAnalytics.close(), without.close()]);
  }
  return results;
}

export async function coreBench(opts: CoreBenchOptions): Promise<Record<string, string | number>> {
  const config = loadConfig({ env: process.env });
  const bare = loadConfig({ env: process.env, overrides: { analytics: { enabled: false } } });
  process.stderr.write(
    `core: generating ${opts.days} days of shop activity for ${opts.customers} customers (${opts.format})...\n`,
  );
  const { messages, customers } = shopInput(opts);
  const bytes = messages.reduce((s, m) => s + m.bytes.length, 0);
  const engineMs: number[] = [];
  const withoutAnalyticsMs: number[] = [];
  const ceilingMs: number[] = [];
  for (let r = 0; r < opts.repeats; r++) {
    // One pair per repeat, in alternating order, so drift on a shared machine favours
    // neither side; the overhead is the median of the pairs' ratios, each taken from two
    // runs seconds apart. Every engine run follows a ceiling loop rather than the other
    // engine run: a run without analytics right after one with them took 23% longer on average
    // than one after a ceiling loop (8 pairs, 2026-12-01), so a pair's ratio depended on its order.
    for (const withAnalytics of r % 2 === 0 ? [false, true] : [true, false]) {
      await settleHeap();
      ceilingMs.push(ceiling(config, messages));
      await settleHeap();
      (withAnalytics ? engineMs : withoutAnalyticsMs).push(
        (await engineRun(withAnalytics ? config : bare, messages)).ms,
      );
    }
    process.stderr.write(
      `  run ${r + 1}/${opts.repeats}: engine ${engineMs.at(-1)!.toFixed(0)} ms, without analytics ${withoutAnalyticsMs.at(-1)!.toFixed(0)} ms, ceiling ${ceilingMs.at(-1)!.toFixed(0)} ms\n`,
    );
  }
  // Memory: one more engine run, measured against the heap before it with the input still held.
  await settleHeap();
  const before = heapAndBuffers();
  const { engine } = await engineRun(config, messages);
  await settleHeap();
  const after = heapAndBuffers();
  const stateCustomers = engine.state.store.size;
  const n = messages.length;
  const e = median(engineMs);
  const c = median(ceilingMs);
  const w = median(withoutAnalyticsMs);
  const pairOverheads = engineMs.map((ms, i) => ms / withoutAnalyticsMs[i]! - 1);
  const replays = await interleavedOverhead(opts, opts.interleaved ?? 3, TURN_MESSAGES);
  const interleavedWithMs = replays.reduce((sum, x) => sum + x.withMs, 0);
  const interleavedWithoutMs = replays.reduce((sum, x) => sum + x.withoutMs, 0);
  const alerts: Record<string, number> = engine.state.alerts?.emitted ?? {};
  const partitioned =
    (opts.partitionedRounds ?? 0) > 0 ? await partitionedScaling(config, messages, opts.partitionedRounds!) : {};
  return {
    customers: stateCustomers,
    events: n,
    format: opts.format,
    'input days': opts.days,
    'avg payload B': Math.round(bytes / n),
    'no analytics: engine ev/s': Math.round((n / w) * 1000),
    'no analytics: engine ns/ev': Math.round((w * 1e6) / n),
    'bare-loop ceiling ev/s': Math.round((n / c) * 1000),
    'bare-loop ceiling ns/ev': Math.round((c * 1e6) / n),
    'no analytics: engine/ceiling': +(c / w).toFixed(2),
    'with analytics: engine ev/s': Math.round((n / e) * 1000),
    'with analytics: engine ns/ev': Math.round((e * 1e6) / n),
    // Over all interleaved replays, from their summed times: a major GC (≈ 0.1–0.2 s) is a
    // lump in one turn, and a few of them decide much of a single replay's ratio.
    'analytics overhead (interleaved; quote this)': `${((interleavedWithMs / interleavedWithoutMs - 1) * 100).toFixed(1)}%`,
    '  per interleaved replay': replays.map((x) => `${((x.withMs / x.withoutMs - 1) * 100).toFixed(0)}%`).join(' '),
    '  interleaved ns/ev with, without': `${Math.round((interleavedWithMs * 1e6) / n / replays.length)}, ${Math.round((interleavedWithoutMs * 1e6) / n / replays.length)}`,
    '  overhead, sequential pairs (median; drifts)': `${(median(pairOverheads) * 100).toFixed(0)}%`,
    '  overhead per sequential pair': pairOverheads.map((x) => `${(x * 100).toFixed(0)}%`).join(' '),
    alerts: Object.values(alerts).reduce((a, b) => a + b, 0),
    'state B/customer': Math.round((after - before) / Math.max(1, stateCustomers)),
    '  record B': engine.state.store.bytesPerRecord,
    '  analytics record B': engine.state.analytics?.bytesPerCustomer ?? 0,
    '  dedupe B/customer': Math.round(engine.state.seen.bytes / Math.max(1, stateCustomers)),
    'ids remembered': engine.state.seen.size,
    'customers in input': customers,
    ...partitioned,
  };
}

export function printCore(rows: Record<string, string | number>[]): void {
  process.stdout.write(table(rows) + '\n');
}
