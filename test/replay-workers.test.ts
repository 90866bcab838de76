import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit, type FitReport } from '../src/app/cli/fit.js';
import { generate } from '../src/app/cli/generate.js';
import { importEvents } from '../src/app/cli/import.js';
import { dryRun } from '../src/app/cli/program.js';
import { runReplay } from '../src/app/cli/replay.js';
import { parseWorkers } from '../src/app/cli/workers-option.js';
import { datasetPath } from './support/datasets.js';
import { compareClusterings, evalClusters, standardisedViews } from '../src/app/cli/eval-clusters.js';
import { evalForecastCdnow } from '../src/app/cli/eval-forecast.js';
import { readCdnowPurchases } from '../src/ingest/adapters/cdnow.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';

/**
 * `vigil replay` and `vigil fit` with `--workers`: W > 1 runs the file through
 * `PartitionedEngine` (P = 32). Per-customer state is the single-threaded engine's, line for
 * line; the analytics fields that depend on the population (P(alive), expected purchases and
 * CLV under the refitted parameters, the CLV tier, the RFM scores) are each partition's own
 * for now (docs/architecture.md, "Partitions"), so they depend on P but never on W.
 */
const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-workers-'));
const path = (name: string) => join(dir, name);
const cdnow = path('cdnow.jsonl');

/** Analytics fields computed with population-level state (per partition with workers). */
const POPULATION_FIELDS = ['pAlive', 'expectedPurchases', 'clv', 'topTier', 'rfm'] as const;

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A dump line without the population-level analytics fields. */
function perCustomer(line: Record<string, unknown>): Record<string, unknown> {
  const analytics = { ...(line.analytics as Record<string, unknown>) };
  for (const f of POPULATION_FIELDS) delete analytics[f];
  return { ...line, analytics };
}

beforeAll(async () => {
  await importEvents('cdnow', datasetPath('cdnow/CDNOW_sample.txt'), cdnow);
});

describe('vigil replay --workers', () => {
  it('CDNOW sample: W = 2 gives the per-customer dump of W = 1; W = 2 and 4 give the same dump, analytics included', async () => {
    const one = await runReplay({ file: cdnow, dumpState: path('w1.jsonl'), progress: false });
    const two = await runReplay({ file: cdnow, dumpState: path('w2.jsonl'), progress: false, workers: 2 });
    const four = await runReplay({ file: cdnow, dumpState: path('w4.jsonl'), progress: false, workers: '4' });
    expect(one.workers).toBe(1);
    expect(one.engine).toBeDefined();
    expect(two).toMatchObject({ workers: 2, partitions: 32, engine: undefined });
    expect(one.counts).toMatchObject({ input: 6919, applied: 6919 });
    for (const r of [two, four]) {
      expect(r.counts).toEqual(one.counts);
      expect(r.customers).toBe(2357);
      expect(r.watermark).toBe(one.watermark);
      expect(r.stopped).toBe(false);
    }
    const w1 = lines(path('w1.jsonl'));
    const w2 = lines(path('w2.jsonl'));
    expect(w1).toHaveLength(2357);
    expect(w2.map((l) => l.customerId)).toEqual(w1.map((l) => l.customerId));
    // Same shape: the same keys, analytics included.
    w2.forEach((l, i) => {
      expect(Object.keys(l)).toEqual(Object.keys(w1[i]!));
      expect(Object.keys(l.analytics as object)).toEqual(Object.keys(w1[i]!.analytics as object));
    });
    // Per-customer state, analytics' own statistics included, is W = 1's exactly.
    expect(JSON.stringify(w2.map(perCustomer))).toBe(JSON.stringify(w1.map(perCustomer)));
    // And they depend on P, not on W: 2 and 4 workers write the same bytes.
    expect(readFileSync(path('w4.jsonl'), 'utf8')).toBe(readFileSync(path('w2.jsonl'), 'utf8'));
  }, 300_000);

  it('a synthetic shop with bad lines: the same counters and per-customer dump as one thread', async () => {
    await generate({ out: path('shop.jsonl'), events: '20000', format: 'jsonl', seed: '5', customers: '700' });
    const shop = readFileSync(path('shop.jsonl'), 'utf8').split('\n').filter(Boolean);
    // Undecodable lines and an event without a customer among the events.
    shop.splice(100, 0, '{not json');
    shop.splice(5000, 0, JSON.stringify({ id: 'no-customer', type: 'page_view', ts: Date.UTC(2026, 0, 1) }));
    writeFileSync(path('mixed.jsonl'), shop.join('\n') + '\n');
    const one = await runReplay({ file: path('mixed.jsonl'), dumpState: path('m1.jsonl'), progress: false });
    const two = await runReplay({
      file: path('mixed.jsonl'),
      dumpState: path('m2.jsonl'),
      progress: false,
      workers: 2,
    });
    expect(one.counts.rejected).toBe(2);
    expect(two.counts).toEqual(one.counts);
    expect(two.customers).toBe(one.customers);
    expect(JSON.stringify(lines(path('m2.jsonl')).map(perCustomer))).toBe(
      JSON.stringify(lines(path('m1.jsonl')).map(perCustomer)),
    );
  }, 300_000);

  it('through the CLI: the same summary line, naming the workers', () => {
    const run = spawnSync(
      'node',
      ['dist/src/app/cli.js', 'replay', cdnow, '--quiet', '--workers', '2', '--dump-state', path('cli.jsonl')],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(
      /^replayed 6919 messages in [\d.]+ s: \{"input":6919,"applied":6919,.*\}; 2357 customers; final watermark 1998-06-30T00:00:00.000Z; on 2 workers, 32 partitions$/m,
    );
    expect(readFileSync(path('cli.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(2357);
  }, 120_000);

  it('an invalid --workers is VIGIL_ERR_USAGE; checkpoints and triggers on workers are VIGIL_ERR_WORKERS_UNSUPPORTED', async () => {
    for (const bad of ['0', '33', '1.5', 'two', '-1', '']) {
      for (const cmd of [['replay', cdnow], ['fit', 'bgnbd', cdnow], ['start']]) {
        const r = await dryRun([...cmd, '--workers', bad]);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(
          /^error VIGIL_ERR_USAGE: --workers must be a whole number of worker threads from 1 to 32/,
        );
      }
      expect(() => parseWorkers(bad)).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_USAGE' }));
    }
    for (const cmd of [['replay', cdnow], ['fit', 'bgnbd', cdnow], ['eval', 'clusters', cdnow], ['start']]) {
      const ok = await dryRun([...cmd, '--workers', '3']);
      expect(ok.code).toBe(0);
      expect(ok.parsed[0]!.options.workers).toBe(3);
    }
    await expect(
      runReplay({ file: cdnow, progress: false, workers: 2, stateDir: path('state') }),
    ).rejects.toMatchObject({ code: 'VIGIL_ERR_WORKERS_UNSUPPORTED' });
    await expect(runReplay({ file: cdnow, progress: false, workers: 2, triggers: true })).rejects.toMatchObject({
      code: 'VIGIL_ERR_WORKERS_UNSUPPORTED',
    });
    await expect(runReplay({ file: cdnow, progress: false, workers: 0 })).rejects.toMatchObject({
      code: 'VIGIL_ERR_USAGE',
    });
  });
});

describe('vigil fit --workers', () => {
  it('CDNOW: the published BG/NBD and Gamma-Gamma estimates, equal to one thread up to summation order', async () => {
    const opts = { file: cdnow, unit: 'week', calibrationEnd: '1997-09-30' } as const;
    const reports = [];
    for (const model of ['bgnbd', 'gammagamma'] as const) {
      const one = await fit({ ...opts, model });
      const two = await fit({ ...opts, model, workers: 2 });
      expect(two.customers).toBe(one.customers);
      expect(two.excluded).toEqual(one.excluded);
      expect(two.asOf).toBe(one.asOf);
      // Buyers come in customer-id order from the workers, in state order from one engine:
      // the likelihood's sums differ in their last bits, nothing more.
      const a = Object.values(one.params);
      const b = Object.values(two.params);
      b.forEach((v, i) => expect(Math.abs(v - a[i]!)).toBeLessThan(1e-6 * Math.abs(a[i]!)));
      expect(Math.abs(two.logLikelihood - one.logLikelihood)).toBeLessThan(1e-6);
      reports.push(two);
    }
    const [bg, gg] = reports as [FitReport, FitReport];
    const p = bg.params as { r: number; alpha: number; a: number; b: number };
    expect(bg.customers).toBe(2357);
    expect([p.r, p.alpha, p.a, p.b, bg.logLikelihood].map((v) => v.toFixed(2))).toEqual([
      '0.24',
      '4.41',
      '0.79',
      '2.43',
      '-9582.43',
    ]);
    expect(gg.customers).toBe(946);
    const q = gg.params as { p: number; q: number; gamma: number };
    expect([q.p, q.q, q.gamma].map((v) => v.toFixed(2))).toEqual(['6.25', '3.74', '15.44']);
  }, 300_000);
});

describe('vigil eval on workers', () => {
  const log = datasetPath('cdnow/CDNOW_sample.txt');

  it('eval clusters: W = 2 and 4 give the report of the single-threaded state, customers taken in id order', async () => {
    const two = await evalClusters({ file: log, format: 'cdnow', workers: 2 });
    const four = await evalClusters({ file: log, format: 'cdnow', workers: '4' });
    // The oracle: one engine's per-customer views, in customer-id order as the workers give them.
    const { engine } = await runMessages(
      testConfig(),
      readCdnowPurchases(log).map((p) => message(p)),
    );
    const store = engine.state.store;
    const asOf = engine.state.watermark.watermark;
    const views = [...store.customerIds()].sort().map((id) => store.view(id, asOf)!);
    const oracle = compareClusterings(standardisedViews(views, asOf), 6, { seed: 1, batchSize: 256 });
    expect(two).toEqual({ file: log, ...oracle });
    expect(four).toEqual(two);
  }, 300_000);

  it('eval forecast --format cdnow: W = 2 gives the report of one thread, up to summation order in the fit', async () => {
    const one = await evalForecastCdnow({ file: log });
    const two = await evalForecastCdnow({ file: log, workers: 2 });
    expect(two.customers).toBe(one.customers);
    expect(two.calibrationRepeatTransactions).toBe(one.calibrationRepeatTransactions);
    expect(two.model).toEqual(one.model);
    // Every number within 1e-6 (relative) of one thread's.
    const flat = (x: unknown, at = ''): [string, number][] =>
      typeof x === 'number'
        ? [[at, x]]
        : typeof x === 'object' && x !== null
          ? Object.entries(x).flatMap(([k, v]) => flat(v, `${at}.${k}`))
          : [];
    const a = flat(one);
    const b = flat(two);
    expect(b.map(([k]) => k)).toEqual(a.map(([k]) => k));
    b.forEach(([k, v], i) => expect(Math.abs(v - a[i]![1]), k).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))));
    const refused = await dryRun(['eval', 'forecast', cdnow, '--workers', '2']);
    expect(refused.code).toBe(0); // parsed; running it refuses:
    const run = spawnSync('node', ['dist/src/app/cli.js', 'eval', 'forecast', cdnow, '--workers', '2'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error VIGIL_ERR_WORKERS_UNSUPPORTED: eval forecast --workers on canonical events/m);
  }, 300_000);
});
