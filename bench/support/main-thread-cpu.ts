import { readFileSync } from 'node:fs';

/**
 * CPU time (ms) of this process's main thread alone, from Linux's /proc (10 ms ticks);
 * NaN elsewhere. `process.cpuUsage()` adds the GC's and libuv's helper threads, which do not
 * hold up the event loop.
 */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
