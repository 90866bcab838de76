/**
 * How steady the machine's CPU is right now: the same fixed piece of arithmetic (≈ 1 ms on
 * an idle core) timed every few ms. Its p99 against its median says how much any
 * millisecond of work can stretch here for reasons that are not the code: other jobs on
 * the cores, or a shared host slowing the whole VM. Latency percentiles measured in the
 * same run are read against it.
 */
export interface Steadiness {
  readonly chunks: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export async function measureSteadiness(durationMs: number): Promise<Steadiness> {
  const data = new Float64Array(4096);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 1000;
  const chunk = (): number => {
    let s = 0;
    for (let r = 0; r < 100; r++) for (let i = 0; i < data.length; i++) s += Math.sqrt(data[i]! * r + 1);
    return s;
  };
  const times: number[] = [];
  let sink = 0;
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const t = performance.now();
    sink += chunk();
    times.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 4));
  }
  if (sink < 0) throw new Error('unreachable');
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { chunks: times.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: times[times.length - 1]! };
}
