/**
 * `vigil eval forecast --format cdnow` on the whole CDNOW master log (issue 22's "done when"):
 * weekly repeat transactions over the 39-week holdout, the engine's Holt-Winters beside
 * naive (last week repeated) and the BG/NBD aggregate. The model is chosen on calibration
 * weeks only, so it must not move when the holdout changes.
 */
import { describe, expect, it } from 'vitest';
import { selectModel } from '../src/analytics/demand/model-selection.js';
import {
  acquisitionWeeks,
  evalForecastCdnow,
  modelFor,
  weeklyRepeatTransactions,
} from '../src/app/cli/eval-forecast.js';
import { loadConfig } from '../src/app/config/load.js';
import { readCdnowPurchases } from '../src/ingest/adapters/cdnow.js';
import { datasetPath } from './support/datasets.js';

const MASTER = datasetPath('cdnow/CDNOW_master.txt');

describe('forecast evaluation on CDNOW master', () => {
  it('beats naive on MASE, with 95 % intervals covering 90–98 % of the holdout weeks', async () => {
    const r = await evalForecastCdnow({ file: MASTER, horizon: 4 });
    // 39 origins, each scoring up to 4 weeks inside the holdout: 36·4 + 3 + 2 + 1.
    expect(r.rolling.origins).toBe(39);
    expect(r.rolling.engine.forecasts).toBe(150);
    expect(r.rolling.engine.mase).toBeLessThan(r.rolling.seasonalNaive.mase);
    expect(r.rolling.engine.coverage95).toBeGreaterThanOrEqual(0.9);
    expect(r.rolling.engine.coverage95).toBeLessThanOrEqual(0.98);
    expect(r.rolling.engine.coverage80).toBeLessThan(r.rolling.engine.coverage95);
    // Beside it the BG/NBD aggregate and the actual series, with the cumulative error at week 39.
    expect(r.tracking).toHaveLength(39);
    const actual = r.tracking.reduce((a, row) => a + row.actual, 0);
    expect(r.cumulativeAtWeek39.actual).toBe(actual);
    for (const k of ['holtWinters', 'bgnbd', 'seasonalNaive'] as const)
      expect(r.cumulativeErrorAtWeek39[k]).toBeCloseTo((r.cumulativeAtWeek39[k] - actual) / actual, 12);
  }, 120_000);

  it('chooses the weekly model on calibration weeks after the acquisition, whatever the holdout holds', () => {
    const purchases = readCdnowPurchases(MASTER);
    // The cohort made its first purchases in the first quarter of 1997 (Fader, Hardie & Lee 2005).
    const from = acquisitionWeeks(purchases);
    expect(from).toBeGreaterThanOrEqual(12);
    expect(from).toBeLessThanOrEqual(13);
    const series = weeklyRepeatTransactions(purchases, 78);
    const base = modelFor(loadConfig({ env: {} }).demand, 'weekly');
    const chosen = selectModel(series, base, { from, to: 39 });
    const scrambled = [...series.slice(0, 39), ...series.slice(39).map((y, i) => (i % 2 === 0 ? 3 * y : 0))];
    expect(selectModel(scrambled, base, { from, to: 39 })).toEqual(chosen);
  });
});
