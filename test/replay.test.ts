import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/app/cli/generate.js';
import { replay } from '../src/app/cli/replay.js';
import { encodePayload } from '../src/edges/encode.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-'));
const path = (name: string) => join(dir, name);

describe('vigil replay', () => {
  it('gives the same state dump every time, from JSON Lines or a msgpack stream', async () => {
    await generate({ out: path('shop.jsonl'), events: '20000', format: 'jsonl', seed: '3', customers: '500' });
    await generate({ out: path('shop.mp'), events: '20000', format: 'msgpack', seed: '3', customers: '500' });
    const a = await replay({ file: path('shop.jsonl'), dumpState: path('a.jsonl'), progress: false });
    await replay({ file: path('shop.jsonl'), dumpState: path('b.jsonl'), progress: false });
    const c = await replay({ file: path('shop.mp'), dumpState: path('c.jsonl'), progress: false });
    expect(a.counts).toMatchObject({ input: 20000, applied: 20000 });
    const dumpA = readFileSync(path('a.jsonl'), 'utf8');
    expect(dumpA.split('\n').filter(Boolean)).toHaveLength(a.customers);
    expect(readFileSync(path('b.jsonl'), 'utf8')).toBe(dumpA);
    expect(readFileSync(path('c.jsonl'), 'utf8')).toBe(dumpA);
    expect(c.counts).toEqual(a.counts);
    // One line per customer, sorted, with the aggregates.
    const first = JSON.parse(dumpA.split('\n')[0]!);
    expect(Object.keys(first.windows)).toEqual(['1h', '24h', '7d', '30d']);
  });

  it('counts bad lines and a truncated final msgpack value without stopping', async () => {
    const good = (i: number) => ({
      id: `g${i}`,
      type: 'page_view',
      customerId: `c${i % 4}`,
      ts: Date.UTC(2026, 0, 1) + i * 1000,
    });
    writeFileSync(
      path('mixed.jsonl'),
      [JSON.stringify(good(1)), '{not json', '', JSON.stringify(good(2)), '{"id":"x"}', JSON.stringify(good(1))].join(
        '\n',
      ),
    );
    const r = await replay({ file: path('mixed.jsonl'), progress: false });
    expect(r.counts).toMatchObject({ input: 5, applied: 2, duplicate: 1, rejected: 2 });

    const full = Buffer.concat([encodePayload(good(1), 'msgpack'), encodePayload(good(2), 'msgpack')]);
    writeFileSync(path('cut.mp'), full.subarray(0, full.length - 3));
    const cut = await replay({ file: path('cut.mp'), progress: false });
    expect(cut.counts).toMatchObject({
      input: 2,
      applied: 1,
      rejected: 1,
      rejectedBy: { VIGIL_ERR_DECODE_MSGPACK: 1 },
    });
  });

  it('reads standard input through the CLI and fails with a stable code on a missing file', () => {
    const input = [1, 2, 3]
      .map((i) => JSON.stringify({ id: `s${i}`, type: 'page_view', customerId: 'c', ts: Date.UTC(2026, 0, 1) + i }))
      .join('\n');
    const ok = spawnSync(
      'node',
      ['dist/src/app/cli.js', 'replay', '-', '--dump-state', path('stdin.jsonl'), '--quiet'],
      { input, encoding: 'utf8' },
    );
    expect(ok.status).toBe(0);
    expect(JSON.parse(readFileSync(path('stdin.jsonl'), 'utf8')).events).toBe(3);
    const missing = spawnSync('node', ['dist/src/app/cli.js', 'replay', path('nope.jsonl'), '--quiet'], {
      encoding: 'utf8',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('VIGIL_ERR_INPUT_FILE');
    const usage = spawnSync('node', ['dist/src/app/cli.js', 'replay'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('VIGIL_ERR_USAGE');
  });
});
