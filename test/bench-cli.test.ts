import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../bench/cli.js';
import { cellNumber, compareResults, relativeSpread } from '../bench/compare.js';
import { benchResults, type BenchResults } from '../bench/results.js';

function parse(argv: string[]) {
  let out = '';
  let err = '';
  const r = parseBenchArgs(
    argv,
    (s) => (out += s),
    (s) => (err += s),
  );
  return { r, out, err };
}

describe('bench command line', () => {
  it('help for every suite, never a run; bad options are one line and exit 2', () => {
    for (const suite of ['core', 'nats', 'triggers', 'ws', 'memory', 'compare']) {
      for (const argv of [
        [suite, '--help'],
        [suite, '-h'],
        ['help', suite],
        [suite, '--quick', '--help'],
      ]) {
        const { r, out } = parse(argv);
        expect(r, argv.join(' ')).toEqual({ exit: 0 });
        expect(out).toContain(`npm run bench -- ${suite}`);
      }
    }
    const bad = parse(['core', '--quik']);
    expect(bad.r).toEqual({ exit: 2 });
    expect(bad.err.trimEnd().split('\n')).toEqual([
      "bench: unknown option '--quik' (Did you mean --quick?)",
      'hint: npm run bench -- core --help',
    ]);
    // A suite this parser does not know yet still runs; asking it for help does not.
    expect(parse(['future-suite', '--x'])).toMatchObject({ r: { suite: 'future-suite', args: ['--x'] } });
    expect(parse(['future-suite', '--help']).r).toEqual({ exit: 0 });
    expect(parse(['ws', '--quick', '--nats', '--json', 'r.json']).r).toEqual({
      suite: 'ws',
      args: ['--quick', '--nats'],
      json: 'r.json',
      compare: undefined,
    });
  });
});

describe('bench compare', () => {
  const results = (tables: BenchResults['tables']): BenchResults => ({ ...benchResults('core', ['--quick']), tables });

  it('reads figures and spreads from table cells', () => {
    expect([
      cellNumber(12),
      cellNumber('69.6%'),
      cellNumber('1.25'),
      cellNumber('12% 15%'),
      cellNumber('480–530k'),
    ]).toEqual([12, 69.6, 1.25, undefined, undefined]);
    expect(relativeSpread({ 'ev/s': 500, '  spread': '480–530k' }, 'ev/s')).toBeCloseTo(50 / 530);
    expect(relativeSpread({ overhead: '40%', '  per pair': '30% 40% 50%' }, 'overhead')).toBeCloseTo(0.5);
    expect(relativeSpread({ overhead: '40%', other: '30% 40%' }, 'overhead')).toBeUndefined();
  });

  it('says what moved, by how much, and whether beyond the printed spread', () => {
    const a = results({
      core: [{ format: 'msgpack', 'ev/s': 1000, '  spread': '950–1050', overhead: '40%', '  per pair': '38% 42%' }],
    });
    const b = results({
      core: [{ format: 'msgpack', 'ev/s': 1300, '  spread': '1250–1350', overhead: '41%', '  per pair': '39% 43%' }],
    });
    const moved = compareResults(a, b);
    expect(moved.map((m) => [m.column, m.figure, +m.change.toFixed(3), m.beyondSpread])).toEqual([
      ['msgpack', 'ev/s', 0.3, true],
      ['msgpack', 'overhead', 0.025, false],
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
    try {
      writeFileSync(join(dir, 'a.json'), JSON.stringify(a));
      writeFileSync(join(dir, 'b.json'), JSON.stringify(b));
      const r = spawnSync('node', ['dist/bench/index.js', 'compare', join(dir, 'a.json'), join(dir, 'b.json')], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/msgpack: ev\/s\s+1000\s+1300\s+\+30\.0%\s+9\.5%\s+YES/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ws bench summary', () => {
  it('is one table column whose ratios follow from the runs', async () => {
    const { wsSummary } = await import('../bench/ws.js');
    const rows = [
      { subscribers: 100, stalled: 0, 'p99 ms': 10 },
      { subscribers: 100, stalled: 1, 'p99 ms': 13 },
      { subscribers: 100, stalled: 0, 'p99 ms': 8 },
      { subscribers: 100, stalled: 1, 'p99 ms': 11 },
    ];
    const s = wsSummary({ rows, steadiness: [{ chunks: 10, p50Ms: 1, p99Ms: 1.5, maxMs: 2 }], floors: [] });
    // Medians 9 and 12: one stalled from the start costs +33 %.
    expect(s['100 subscribers: p99 ms, median of 2 runs']).toBe('9.000');
    expect(s['100 subscribers, one stalled from the start: p99 ms (median)']).toBe('12.000');
    expect(s['stalled from the start: p99 change']).toBe('33%');
    expect(s['steadiness before: ≈1 ms computation p50 / p99 / max ms']).toBe('1.00 / 1.50 / 2.00');
  });

  it('gives each engine its own medians and change, and lists every run', async () => {
    const { wsSummary } = await import('../bench/ws.js');
    const one = 'one thread';
    const two = 'graph on 2 workers';
    const rows = [
      { engine: one, subscribers: 100, stalled: 0, 'p99 ms': 10 },
      { engine: two, subscribers: 100, stalled: 0, 'p99 ms': 4 },
      { engine: two, subscribers: 100, stalled: 1, 'p99 ms': 5 },
      { engine: one, subscribers: 100, stalled: 1, 'p99 ms': 20 },
      { engine: two, subscribers: 100, stalled: 1, 'p99 ms': 4.2 },
      { engine: two, subscribers: 100, stalled: 0, 'p99 ms': 6 },
      { engine: two, subscribers: 100, stalled: 0, 'p99 ms': 5 },
      { engine: two, subscribers: 100, stalled: 1, 'p99 ms': 4.8 },
    ];
    const s = wsSummary({ rows, steadiness: [], floors: [] });
    expect(s['100 subscribers: p99 ms, median of 1 runs']).toBe('10.000');
    expect(s['stalled from the start: p99 change']).toBe('100%');
    // Workers: medians 5 and 4.8, so -4 %; the runs in their order.
    expect(s[`${two}: 100 subscribers: p99 ms, median of 3 runs`]).toBe('5.000');
    expect(s[`${two}: 100 subscribers: p99 ms, each run`]).toBe('4.0 6.0 5.0');
    expect(s[`${two}: 100 subscribers, one stalled from the start: p99 ms (median)`]).toBe('4.800');
    expect(s[`${two}: 100 subscribers, one stalled from the start: p99 ms, each run`]).toBe('5.0 4.2 4.8');
    expect(s[`${two}: stalled from the start: p99 change`]).toBe('-4%');
  });
});
