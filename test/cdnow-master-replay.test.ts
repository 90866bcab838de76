/**
 * The whole CDNOW master log (23,570 customers, 69,659 purchases, zero-value orders among
 * them) through `vigil import` and `vigil replay --dump-state`: every customer must come out,
 * with the models' view, and no model may fail on a customer's numbers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importEvents } from '../src/app/cli/import.js';
import { replay } from '../src/app/cli/replay.js';
import { datasetPath } from './support/datasets.js';

const MASTER = datasetPath('cdnow/CDNOW_master.txt');
const dir = mkdtempSync(join(tmpdir(), 'vigil-cdnow-master-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CDNOW master replayed with --dump-state', () => {
  it('dumps all 23,570 customers, each buyer with a finite CLV, and no model error', async () => {
    const events = join(dir, 'master.jsonl');
    expect(await importEvents('cdnow', MASTER, events)).toBe(69_659);
    const out = join(dir, 'dump.jsonl');
    const r = await replay({ file: events, dumpState: out, progress: false });
    expect(r.counts).toMatchObject({ input: 69_659, applied: 69_659, late: 0, rejected: 0 });
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DumpLine);
    expect(lines).toHaveLength(23_570);
    expect(new Set(lines.map((l) => l.customerId)).size).toBe(23_570);
    expect(lines.filter((l) => !(Number.isFinite(l.analytics.clv) && l.analytics.clv >= 0))).toEqual([]);
    // The customer of the report: one repeat day, worth $0.00.
    const free = lines.find((l) => l.customerId === '10244')!;
    expect(free.transactions).toMatchObject({ repeat: 1, repeatValue: 0 });
    expect(free.analytics.clv).toBeGreaterThan(0);
    expect(r.engine.state.analytics?.modelErrors).toBe(0);
  }, 120_000);
});

interface DumpLine {
  customerId: string;
  transactions: { repeat: number; repeatValue: number };
  analytics: { clv: number };
}
