import { decodePayload } from '../src/codec/decode.js';
import { encodePayload, type PayloadFormat } from '../src/codec/encode.js';
import { loadConfig } from '../src/config/load.js';
import type { VigilConfig } from '../src/config/schema.js';
import { Engine } from '../src/engine.js';
import { newBatch, type Batch } from '../src/operators/batch.js';
import { pipeline } from '../src/pipeline.js';
import type { CanonicalEvent } from '../src/schema/event.js';
import { InProcessSource } from '../src/sources/in-process.js';
import type { RawMessage } from '../src/sources/source.js';
import { EngineState } from '../src/state/engine-state.js';
import type { StateSignal } from '../src/state/signals.js';
import { SyntheticShop } from '../src/synth/shop.js';
import { Subject } from 'rxjs';
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
}

/** Messages each engine replays per turn when interleaved: ≈ 40–60 ms of work. */
const TURN_MESSAGES = 8192;

export function prepare(opts: CoreBenchOptions): { messages: RawMessage[]; customers: number } {
  // Start the shop in the past so that no event is "in the future" for validation.
  const startTs = Date.UTC(2025, 0, 1);
  const shop = new SyntheticShop({ seed: 7, customers: opts.customers, products: 5000, startTs, endTs: startTs + opts.days * 86_400_000 });
  const payloads: Uint8Array[] = [];
  const seen = new Set<string>();
  for (let e = shop.next(); e !== undefined; e = shop.next()) {
    seen.add(e.customerId);
    payloads.push(encodePayload(e, opts.format));
  }
  // Payloads become views into one buffer, as a transport hands them over (slices of its
  // read buffer). Millions of separately allocated buffers would instead load every GC
  // with their bookkeeping (about 9% of the engine's time, measured), which no live input has.
  const packed = new Uint8Array(payloads.reduce((sum, p) => sum + p.length, 0));
  const messages: RawMessage[] = new Array(payloads.length);
  let offset = 0;
  payloads.forEach((p, i) => {
    packed.set(p, offset);
    messages[i] = { bytes: packed.subarray(offset, offset + p.length), subject: 'bench', receivedAt: 0 };
    offset += p.length;
  });
  return { messages, customers: seen.size };
}

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

async function engineRun(config: VigilConfig, messages: RawMessage[]): Promise<{ ms: number; engine: Engine }> {
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

/** One engine's graph driven batch by batch, synchronously, and the time it has taken so far. */
class SteppedEngine {
  readonly state: EngineState;
  private readonly input = new Subject<Batch>();
  ms = 0;

  constructor(config: VigilConfig) {
    this.state = new EngineState(config);
    this.input.pipe(pipeline(config, this.state)).subscribe();
  }

  /** Feeds messages [from, to) in batches, adding the time taken (with the minor GC after it) to `ms`. */
  feed(messages: RawMessage[], from: number, to: number, batchSize: number, end: boolean): void {
    const minorGc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc!;
    const t0 = performance.now();
    for (let i = from; i < to; i += batchSize) this.input.next(newBatch(messages.slice(i, Math.min(to, i + batchSize))));
    if (end) this.input.next(newBatch([], true));
    // The garbage this chunk left is collected now and charged to it, so neither engine pays
    // for scavenges the other one's allocations made due.
    minorGc({ type: 'minor' });
    this.ms += performance.now() - t0;
  }
}

/**
 * The analytics' overhead measured so that the machine's drift cancels: an engine with them
 * and one without replay the same input side by side in one process, taking turns every
 * `chunk` messages (a few tens of ms), in alternating order, so a slow spell of the host
 * (this VM has them for tens of ms to minutes, both cores at once) lands on both alike.
 */
export function interleavedOverhead(config: VigilConfig, bare: VigilConfig, messages: RawMessage[], chunk: number): { overhead: number; withMs: number; withoutMs: number } {
  const withAnalytics = new SteppedEngine(config);
  const without = new SteppedEngine(bare);
  const batchSize = config.pipeline.batchSize;
  for (let from = 0, turn = 0; from < messages.length; from += chunk, turn++) {
    const to = Math.min(messages.length, from + chunk);
    const end = to === messages.length;
    for (const engine of turn % 2 === 0 ? [withAnalytics, without] : [without, withAnalytics]) engine.feed(messages, from, to, batchSize, end);
  }
  for (const engine of [withAnalytics, without]) {
    if (engine.state.counters.applied !== messages.length) throw new Error(`bench input not fully applied: ${JSON.stringify(engine.state.counters.toJSON())}`);
  }
  return { overhead: withAnalytics.ms / without.ms - 1, withMs: withAnalytics.ms, withoutMs: without.ms };
}

export async function coreBench(opts: CoreBenchOptions): Promise<Record<string, string | number>> {
  const config = loadConfig({ env: process.env });
  const bare = loadConfig({ env: process.env, overrides: { analytics: { enabled: false } } });
  process.stderr.write(`core: generating ${opts.days} days of shop activity for ${opts.customers} customers (${opts.format})...\n`);
  const { messages, customers } = prepare(opts);
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
      (withAnalytics ? engineMs : withoutAnalyticsMs).push((await engineRun(withAnalytics ? config : bare, messages)).ms);
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
  const replays: { withMs: number; withoutMs: number }[] = [];
  for (let r = 0; r < (opts.interleaved ?? 3); r++) {
    await settleHeap();
    const replay = interleavedOverhead(config, bare, messages, TURN_MESSAGES);
    replays.push(replay);
    process.stderr.write(`  interleaved replay ${r + 1}: analytics overhead ${(replay.overhead * 100).toFixed(0)}%\n`);
  }
  const interleavedWithMs = replays.reduce((sum, x) => sum + x.withMs, 0);
  const interleavedWithoutMs = replays.reduce((sum, x) => sum + x.withoutMs, 0);
  const alerts: Record<string, number> = engine.state.alerts?.emitted ?? {};
  return {
    customers: stateCustomers,
    events: n,
    format: opts.format,
    'input days': opts.days,
    'avg payload B': Math.round(bytes / n),
    'engine ev/s': Math.round((n / w) * 1000),
    'engine ns/ev': Math.round((w * 1e6) / n),
    'ceiling ev/s': Math.round((n / c) * 1000),
    'ceiling ns/ev': Math.round((c * 1e6) / n),
    'engine/ceiling': +(c / w).toFixed(2),
    'with analytics ev/s': Math.round((n / e) * 1000),
    'with analytics ns/ev': Math.round((e * 1e6) / n),
    // Over all interleaved replays: their summed times, so a major GC landing in one engine's
    // turn (≈ 0.1–0.2 s each, charged to whichever engine's allocation triggered it) weighs
    // in proportion rather than deciding a replay.
    'analytics overhead': `${((interleavedWithMs / interleavedWithoutMs - 1) * 100).toFixed(1)}%`,
    '  per interleaved replay': replays.map((x) => `${((x.withMs / x.withoutMs - 1) * 100).toFixed(0)}%`).join(' '),
    '  interleaved ns/ev with, without': `${Math.round((interleavedWithMs * 1e6) / n / replays.length)}, ${Math.round((interleavedWithoutMs * 1e6) / n / replays.length)}`,
    '  sequential pairs (median)': `${(median(pairOverheads) * 100).toFixed(0)}%`,
    '  per pair': pairOverheads.map((x) => `${(x * 100).toFixed(0)}%`).join(' '),
    alerts: Object.values(alerts).reduce((a, b) => a + b, 0),
    'state B/customer': Math.round((after - before) / Math.max(1, stateCustomers)),
    '  record B': engine.state.store.bytesPerRecord,
    '  analytics record B': engine.state.analytics?.bytesPerCustomer ?? 0,
    '  dedupe B/customer': Math.round(engine.state.seen.bytes / Math.max(1, stateCustomers)),
    'ids remembered': engine.state.seen.size,
    'customers in input': customers,
  };
}

export function printCore(rows: Record<string, string | number>[]): void {
  process.stdout.write(table(rows) + '\n');
}
