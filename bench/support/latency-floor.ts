import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';

/**
 * What this machine allows a live consumer, right now: a stand-in "engine" that does nothing
 * but spend a fixed number of µs of arithmetic per event, fed and batched exactly as the ws
 * bench feeds the engine (paced at `eventsPerSecond`, batches of what has arrived, at most
 * `batchSize`, a turn of the event loop between batches), and its latency from each event's
 * due time to the end of its batch. No code of ours runs, so its p99 is what the host's
 * slow spells alone make of that much CPU per event: the floor under the engine's p99 at the
 * same CPU cost. (On the 2-core VM of 2026-12-01 the whole VM slows ~9× for 20–50 ms at a
 * time, both cores at once, ≈ 5% of the time.)
 */
export interface LatencyFloor {
  readonly microsPerEvent: number;
  /** Share of one core the stand-in was busy. */
  readonly busy: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
}

const data = new Float64Array(64);
for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 1000;

function work(iterations: number): number {
  let s = 0;
  for (let k = 0; k < iterations; k++) s += Math.sqrt(data[k & 63]! * k + 1);
  return s;
}

/** Iterations of `work` that take `micros` µs on an unhurried core (median of 15 timings). */
function iterationsFor(micros: number): number {
  const n = 200_000;
  const perIteration: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t = performance.now();
    if (work(n) < 0) throw new Error('unreachable');
    perIteration.push((performance.now() - t) / n);
  }
  perIteration.sort((a, b) => a - b);
  return Math.max(1, Math.round(micros / 1000 / perIteration[7]!));
}

export async function measureLatencyFloor(
  microsPerEvent: number,
  eventsPerSecond: number,
  batchSize: number,
  durationMs: number,
): Promise<LatencyFloor> {
  const iterations = iterationsFor(microsPerEvent);
  const total = Math.round((eventsPerSecond * durationMs) / 1000);
  const latencies = new Float64Array(total);
  const started = performance.now();
  const dueAt = (k: number) => started + ((k + 1) / eventsPerSecond) * 1000;
  let done = 0;
  let busyMs = 0;
  let sink = 0;
  while (done < total) {
    // As InProcessSource paces: sleep until the next event is due, then take what has arrived.
    const wait = dueAt(done) - performance.now();
    if (wait > 0) await sleep(wait);
    const arrived = Math.floor(((performance.now() - started) * eventsPerSecond) / 1000) - done;
    const take = Math.max(1, Math.min(batchSize, arrived, total - done));
    const t = performance.now();
    for (let i = 0; i < take; i++) sink += work(iterations);
    const end = performance.now();
    busyMs += end - t;
    for (let i = 0; i < take; i++) latencies[done + i] = end - dueAt(done + i);
    done += take;
    await yieldToLoop();
  }
  if (sink < 0) throw new Error('unreachable');
  latencies.sort();
  const at = (q: number) => latencies[Math.min(total - 1, Math.floor(q * total))]!;
  return {
    microsPerEvent,
    busy: busyMs / (performance.now() - started),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
  };
}
