import { readFileSync } from 'node:fs';

/**
 * CPU time (ms) of another process's main thread (thread id = pid), from Linux's /proc
 * (10 ms ticks); NaN elsewhere or when `pid` is undefined or gone. The ws bench reads the
 * stream fan-out child's with it.
 */
export function processMainThreadCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
