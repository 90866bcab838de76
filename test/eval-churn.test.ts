/**
 * `vigil eval churn` on CDNOW master (calibration to 1997-09-30, 39-week holdout): the truth
 * and the simple baselines recomputed here from the raw log, the AUC against brute force.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { areaUnderRoc, flagTop, precisionRecall } from '../src/analytics/churn-eval/classification.js';
import { evalChurn } from '../src/app/cli/eval-churn.js';
import { importEvents } from '../src/app/cli/import.js';
import { loadCdnowMasterPurchases } from './support/cdnow-master.js';
import { datasetPath } from './support/datasets.js';

/** P(positive scores above negative), ties one half, over every pair. */
function bruteAuc(scores: readonly number[], positive: readonly boolean[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!positive[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (positive[j]) continue;
      pairs++;
      sum += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return sum / pairs;
}

describe('classification measures', () => {
  it('AUC equals the share of correctly ordered positive/negative pairs, ties counting one half (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 40 }),
        (rows) => {
          const scores = rows.map(([s]) => s);
          const positive = rows.map(([, p]) => p);
          const auc = areaUnderRoc(scores, positive);
          if (positive.every(Boolean) || !positive.some(Boolean)) expect(auc).toBeNaN();
          else expect(auc).toBeCloseTo(bruteAuc(scores, positive), 12);
        },
      ),
    );
  });

  it('precision, recall and the top-n flags', () => {
    expect(precisionRecall([true, true, false, false], [true, false, true, false])).toEqual({
      flagged: 2,
      precision: 0.5,
      recall: 0.5,
    });
    expect(flagTop([0.2, 0.9, 0.5, 0.9], 2)).toEqual([false, true, false, true]);
  });
});

describe('vigil eval churn on CDNOW master', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-eval-churn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('scores every calibration buyer against the holdout, beside the baselines', async () => {
    const file = join(dir, 'master.jsonl');
    await importEvents('cdnow', datasetPath('cdnow/CDNOW_master.txt'), file);
    const report = await evalChurn({ file, calibrationEnd: '1997-09-30', holdoutWeeks: 39 });

    // The truth, from the raw log: calibration buyers, their purchase days, a holdout purchase.
    const end = Date.UTC(1997, 8, 30);
    const days = new Map<number, Set<number>>();
    const back = new Set<number>();
    for (const p of loadCdnowMasterPurchases()) {
      if (p.day <= end) days.set(p.customer, (days.get(p.customer) ?? new Set()).add(p.day));
      else if (p.day <= Date.UTC(1998, 5, 30)) back.add(p.customer);
    }
    const ids = [...days.keys()].filter((id) => days.get(id)!.size > 1);
    expect(report.customers).toEqual({
      all: days.size,
      repeatBuyers: ids.length,
      churnedAll: [...days.keys()].filter((id) => !back.has(id)).length,
      churnedRepeatBuyers: ids.filter((id) => !back.has(id)).length,
    });
    expect(report.customers.all).toBe(23_570);
    const row = (name: string) => report.rows.find((r) => r.name === name)!;
    // Recency and frequency over repeat buyers, brute force.
    const churned = ids.map((id) => !back.has(id));
    const recency = ids.map((id) => end - Math.max(...days.get(id)!));
    const frequency = ids.map((id) => -days.get(id)!.size);
    expect(row('recency').auc.repeatBuyers).toBeCloseTo(bruteAuc(recency, churned), 3);
    expect(row('frequency').auc.repeatBuyers).toBeCloseTo(bruteAuc(frequency, churned), 3);

    // A purchase log carries no visits: the engine's score rests on the purchases' return hazard.
    expect(report.engine.intentShare).toBe(1);
    expect(report.engine.modelErrors).toBe(0);
    expect(row('engine').description).toContain('basis: purchases');
    expect(row('engine').auc).toEqual(row('engine-return-hazard').auc);
    // Recency over all buyers, brute force; the engine's score must rank at least as well as it on both sets.
    const allIds = [...days.keys()];
    const recencyAll = bruteAuc(
      allIds.map((id) => end - Math.max(...days.get(id)!)),
      allIds.map((id) => !back.has(id)),
    );
    expect(row('recency').auc.all).toBeCloseTo(recencyAll, 3);
    const engine = row('engine').auc;
    expect(engine.all).toBeGreaterThanOrEqual(recencyAll);
    expect(engine.repeatBuyers).toBeGreaterThanOrEqual(bruteAuc(recency, churned));
    // And at least as well as BG/NBD, offline or under the engine's live refits.
    for (const name of ['bgnbd-p-alive', 'engine-p-alive', 'engine-p-silent']) {
      expect(engine.repeatBuyers).toBeGreaterThanOrEqual(row(name).auc.repeatBuyers);
      expect(engine.all).toBeGreaterThanOrEqual(row(name).auc.all);
    }
  }, 120_000);

  it('on worker threads: the same report for W = 2 and 4, and the baselines and truth of one thread', async () => {
    const file = join(dir, 'master-workers.jsonl');
    await importEvents('cdnow', datasetPath('cdnow/CDNOW_master.txt'), file);
    const opts = { file, calibrationEnd: '1997-09-30', holdoutWeeks: 39 };
    const [one, two, four] = [
      await evalChurn(opts),
      await evalChurn({ ...opts, workers: 2 }),
      await evalChurn({ ...opts, workers: 4 }),
    ];
    // Changing W never changes a result: the partitions, not the threads, hold the population models.
    expect(four).toEqual(two);
    // Everything read from the file, and what the engine applied, is the single-threaded run's.
    expect(two.customers).toEqual(one.customers);
    expect(two.engine.counts).toEqual(one.engine.counts);
    expect(two.bgnbd).toEqual(one.bgnbd);
    const baselines = ['recency', 'frequency', 'bgnbd-p-alive', 'overdue-2sd', 'bgnbd-p-silent-holdout'];
    const pick = (r: typeof one) =>
      r.rows.filter((row) => baselines.includes(row.name)).map((row) => [row.name, row.auc]);
    expect(pick(two)).toEqual(pick(one));
    // The engine's warnings and evidence came back from the workers for the buyers.
    expect(two.engine.flagged.all).toBeGreaterThan(0);
    expect(Object.values(two.engine.warningsByRule).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(
      two.engine.flagged.all,
    );
    const engine = two.rows.find((r) => r.name === 'engine')!;
    expect(engine.auc.all).toBeGreaterThan(0.6);
    expect(two.engine.intentShare).toBe(1);
  }, 300_000);
});
