/** Small helpers the benches share: medians, memory readings, a plain-text table. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Heap in use plus array buffers (typed-array state lives outside the JS heap). */
export function heapAndBuffers(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export async function settleHeap(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the bench with node --expose-gc (npm run bench does)');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

export function table(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]!);
  const width = Math.max(...keys.map((k) => k.length));
  const cols = rows.map((r) => keys.map((k) => String(r[k] ?? '')));
  const colWidth = cols.map((c) => Math.max(...c.map((v) => v.length), 6));
  return keys
    .map((k, i) => k.padEnd(width) + '  ' + cols.map((c, j) => c[i]!.padStart(colWidth[j]!)).join('  '))
    .join('\n');
}
