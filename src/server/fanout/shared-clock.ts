/**
 * A clock both ends of the fan-out share. Latency is stamped with `performance.now()`, whose
 * origin is each process's own start; `process.hrtime` reads CLOCK_MONOTONIC, the same in
 * every process of the machine. The offset between the two is fixed for a process's life, so
 * it is read once, here, and a stamp crosses the process boundary as monotonic milliseconds.
 */
const before = performance.now();
const monotonic = Number(process.hrtime.bigint()) / 1e6;
const offset = monotonic - (before + performance.now()) / 2;

/** This process's `performance.now()` reading as monotonic milliseconds. */
export function toSharedClock(perfMs: number): number {
  return perfMs + offset;
}

/** Monotonic milliseconds (from any process) as this process's `performance.now()` reading. */
export function fromSharedClock(sharedMs: number): number {
  return sharedMs - offset;
}
