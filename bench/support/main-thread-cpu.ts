import { readFileSync } from 'node:fs';

/**
 * CPU time (ms) of this process's main thread alone, from Linux's /proc (10 ms ticks);
 * NaN elsewhere. `process.cpuUsage()` adds the GC's and libuv's helper threads, which do not
 * hold up the event loop.
 */
export function mainThreadCpuMs(): number {
  return threadCpuMs(process.pid, process.pid);
}

/** CPU time (ms) of process `pid`'s thread `tid` (its main thread when tid = pid), as above; NaN when unknown. */
export function threadCpuMs(pid: number | undefined, tid = pid): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
