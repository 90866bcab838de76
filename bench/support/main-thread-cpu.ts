import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (ms) of one of this process's threads from Linux's /proc (10 ms ticks); NaN elsewhere. */
function taskCpuMs(tid: string): number {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time (ms) of this process's main thread alone; NaN off Linux. `process.cpuUsage()`
 * adds the GC's and libuv's helper threads, which do not hold up the event loop.
 */
export function mainThreadCpuMs(): number {
  return taskCpuMs(String(process.pid));
}

/** CPU time (ms) of every thread of this process, by Linux thread id; empty off Linux. */
export function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    const ms = taskCpuMs(tid);
    if (!Number.isNaN(ms)) out.set(tid, ms);
  }
  return out;
}
