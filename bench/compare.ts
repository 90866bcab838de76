import { readFileSync } from 'node:fs';
import type { BenchResults, BenchRows } from './results.js';

/** A figure's value from a table cell: 123, '69.6%', '1.25' (not lists or ranges). */
export function cellNumber(v: string | number | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*%?\s*$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/**
 * The run-to-run spread a suite printed under a figure, relative to their middle: the row
 * after it whose name is indented ('  per pair', '  spread') and holds several numbers
 * ('12% 15% 9%', '480–530k'). Undefined when the suite printed none.
 */
export function relativeSpread(row: Record<string, string | number>, key: string): number | undefined {
  const keys = Object.keys(row);
  const next = keys[keys.indexOf(key) + 1];
  if (next === undefined || !next.startsWith('  ')) return undefined;
  const xs =
    String(row[next])
      .match(/-?\d+(?:\.\d+)?/g)
      ?.map(Number) ?? [];
  if (xs.length < 2) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted[sorted.length >> 1]!;
  return mid === 0 ? undefined : Math.abs((sorted.at(-1)! - sorted[0]!) / mid);
}

function columnName(rows: BenchRows, i: number): string {
  const labels = Object.entries(rows[i]!)
    .slice(0, 3)
    .filter(([k, v]) => !k.startsWith(' ') && typeof v === 'string' && !/\d/.test(v))
    .map(([, v]) => v);
  return labels.length > 0 ? labels.join(' ') : `#${i + 1}`;
}

export interface Moved {
  table: string;
  column: string;
  figure: string;
  old: number;
  new: number;
  change: number;
  /** The larger relative spread either run printed for the figure, if any. */
  spread: number | undefined;
  beyondSpread: boolean | undefined;
}

/** Every numeric figure present in both results, matched by table, column position and name. */
export function compareResults(a: BenchResults, b: BenchResults): Moved[] {
  const moved: Moved[] = [];
  for (const [name, oldRows] of Object.entries(a.tables)) {
    const newRows = b.tables[name];
    if (newRows === undefined) continue;
    for (let i = 0; i < Math.min(oldRows.length, newRows.length); i++) {
      for (const key of Object.keys(oldRows[i]!)) {
        const x = cellNumber(oldRows[i]![key]);
        const y = cellNumber(newRows[i]![key]);
        if (x === undefined || y === undefined || x === 0) continue;
        const change = y / x - 1;
        const spreads = [relativeSpread(oldRows[i]!, key), relativeSpread(newRows[i]!, key)].filter(
          (s): s is number => s !== undefined,
        );
        const spread = spreads.length > 0 ? Math.max(...spreads) : undefined;
        moved.push({
          table: name,
          column: columnName(oldRows, i),
          figure: key.trim(),
          old: x,
          new: y,
          change,
          spread,
          beyondSpread: spread === undefined ? undefined : Math.abs(change) > spread,
        });
      }
    }
  }
  return moved;
}

export function printComparison(oldFile: string, newFile: string, write: (s: string) => void): void {
  const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as BenchResults;
  const a = read(oldFile);
  const b = read(newFile);
  if (a.suite !== b.suite) write(`note: comparing suite ${a.suite} with suite ${b.suite}\n`);
  write(
    `old: ${a.commit.slice(0, 12)}${a.dirty ? '+dirty' : ''} ${a.date} ${a.args.join(' ')} (${a.machine.cpus} × ${a.machine.cpuModel})\n`,
  );
  write(
    `new: ${b.commit.slice(0, 12)}${b.dirty ? '+dirty' : ''} ${b.date} ${b.args.join(' ')} (${b.machine.cpus} × ${b.machine.cpuModel})\n`,
  );
  const rows = compareResults(a, b).map((m) => ({
    figure: `${m.table === a.suite ? '' : m.table + ': '}${m.column}: ${m.figure}`,
    old: m.old,
    new: m.new,
    change: `${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(1)}%`,
    'run-to-run spread': m.spread === undefined ? 'not measured' : `${(m.spread * 100).toFixed(1)}%`,
    'beyond spread': m.beyondSpread === undefined ? '?' : m.beyondSpread ? 'YES' : 'no',
  }));
  // One line per figure: the table transposed, figures down the side.
  const header = Object.keys(rows[0] ?? { figure: '' });
  const widths = header.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h as keyof typeof r]).length)));
  write(header.map((h, i) => h.padEnd(widths[i]!)).join('  ') + '\n');
  for (const r of rows)
    write(header.map((h, i) => String(r[h as keyof typeof r]).padEnd(widths[i]!)).join('  ') + '\n');
  write(
    '\nspread: the range of the repeated runs a suite printed under a figure, relative to their median (the larger of the two files); ' +
      "'?' where the suite repeats nothing for that figure: treat moves under ±20% there as noise on a shared machine.\n",
  );
}
