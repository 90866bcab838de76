/**
 * Batch commands on files in any order, and fits that are no estimate: the report's finding
 * was a CDNOW log sorted by customer, whose replay judged almost every event late, and a fit
 * on the few customers left that printed r = 1.1e16 with exit 0.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFit } from '../src/analytics/fit-verdict.js';
import { eventTimeOf, inEventTimeOrder } from '../src/app/cli/event-time-order.js';
import { fit } from '../src/app/cli/fit.js';
import { importEvents } from '../src/app/cli/import.js';
import { replay } from '../src/app/cli/replay.js';
import { isVigilError, type VigilError } from '../src/core/errors.js';
import { datasetPath } from './support/datasets.js';
import { rawMessage } from './support/engine-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-batch-order-'));
const byTime = join(dir, 'by-time.jsonl');
const byCustomer = join(dir, 'by-customer.jsonl');

beforeAll(async () => {
  await importEvents('cdnow', datasetPath('cdnow/CDNOW_sample.txt'), byTime);
  const lines = readFileSync(byTime, 'utf8').trim().split('\n');
  const customer = (l: string): number => Number((JSON.parse(l) as { customerId: string }).customerId);
  writeFileSync(byCustomer, lines.sort((a, b) => customer(a) - customer(b)).join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function fitError(run: () => Promise<unknown>): Promise<VigilError> {
  try {
    await run();
  } catch (e) {
    if (isVigilError(e)) return e;
    throw e;
  }
  throw new Error('expected the fit to fail');
}

describe('batch commands do not depend on the file order', () => {
  it('vigil fit on the CDNOW sample sorted by customer gives the published BG/NBD estimates', async () => {
    const bg = await fit({ model: 'bgnbd', file: byCustomer, unit: 'week', calibrationEnd: '1997-09-30' });
    expect(bg.customers).toBe(2357);
    const p = bg.params as { r: number; alpha: number; a: number; b: number };
    expect([p.r, p.alpha, p.a, p.b, bg.logLikelihood].map((v) => v.toFixed(2))).toEqual([
      '0.24',
      '4.41',
      '0.79',
      '2.43',
      '-9582.43',
    ]);
  }, 60_000);

  it('replay of a file out of event-time order warns that most of it was late, and why; in order it does not', async () => {
    const out = await replay({ file: byCustomer, progress: false });
    expect(out.counts.late / out.counts.input).toBeGreaterThan(0.9);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(/^\d+ of 6919 events \(\d+\.\d%\) were late/);
    expect(out.warnings[0]).toContain('not in event-time order');
    const ordered = await replay({ file: byTime, progress: false });
    expect(ordered.counts.late).toBe(0);
    expect(ordered.warnings).toEqual([]);
  }, 60_000);

  it('inEventTimeOrder is a stable sort by ts, untimed messages first in file order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), { maxLength: 40 }),
        async (times) => {
          const messages = times.map((ts, i) =>
            rawMessage(ts === undefined ? `{"n":${i}}` : JSON.stringify({ n: i, ts })),
          );
          async function* runs() {
            for (let i = 0; i < messages.length; i += 7) yield messages.slice(i, i + 7);
          }
          const sorted = await inEventTimeOrder(runs(), 1 << 20);
          const order = sorted.map((m) => (JSON.parse(new TextDecoder().decode(m.bytes)) as { n: number }).n);
          const expected = times
            .map((ts, n) => ({ ts: ts ?? -Infinity, n }))
            .sort((a, b) => a.ts - b.ts || a.n - b.n)
            .map((e) => e.n);
          expect(order).toEqual(expected);
          expect(sorted.filter((m) => eventTimeOf(m, 1 << 20) === undefined)).toHaveLength(
            times.filter((t) => t === undefined).length,
          );
        },
      ),
    );
  });
});

describe('a fit that is no estimate fails with VIGIL_ERR_FIT', () => {
  it('customers who all buy every week and never stop put BG/NBD on a ridge: an error naming the parameters', async () => {
    const file = join(dir, 'steady.jsonl');
    const day = 86_400_000;
    const events = [];
    for (let c = 0; c < 20; c++) {
      for (let k = 0; k < 30; k++) {
        const id = `s${c}-${k}`;
        events.push({
          id,
          type: 'purchase',
          customerId: `c${c}`,
          ts: Date.UTC(1997, 0, 1) + ((c % 5) + 7 * k) * day,
          orderId: id,
          items: [{ productId: 'cd', price: 10, quantity: 1 }],
        });
      }
    }
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const e = await fitError(() => fit({ model: 'bgnbd', file }));
    expect(e.code).toBe('VIGIL_ERR_FIT');
    expect(e.message).toContain('on 20 customers');
    expect(e.details.join('\n')).toMatch(/outside \[1e-8, 10000\]: a degenerate ridge/);
  }, 60_000);

  it('checkFit: not converged, a non-finite likelihood, or a parameter beyond 1e4 or below 1e-8 fail; an estimate inside passes', () => {
    const good = {
      params: { r: 0.24, alpha: 4.4, a: 0.79, b: 2.4 },
      logLikelihood: -9582.4,
      iterations: 300,
      converged: true,
    };
    expect(() => checkFit('BG/NBD', good, 2357)).not.toThrow();
    const codeOf = (f: typeof good): string | undefined => {
      try {
        checkFit('BG/NBD', f, 15);
      } catch (e) {
        return isVigilError(e) ? `${e.code}: ${e.details.join('; ')}` : 'other';
      }
      return undefined;
    };
    expect(codeOf({ ...good, converged: false })).toMatch(
      /^VIGIL_ERR_FIT: Nelder–Mead did not converge in 300 iterations/,
    );
    expect(codeOf({ ...good, logLikelihood: NaN })).toMatch(/^VIGIL_ERR_FIT: log-likelihood NaN/);
    // The report's figures: r = 1.1e16, α = 2.4e17, a = 2e-38.
    expect(codeOf({ ...good, params: { r: 1.1e16, alpha: 2.4e17, a: 2e-38, b: 1 } })).toMatch(
      /^VIGIL_ERR_FIT: r = 1\.10e\+16, alpha = 2\.40e\+17, a = 2\.00e-38 outside/,
    );
    expect(codeOf({ ...good, params: { r: 1e4, alpha: 1e-8, a: 1, b: 1 } })).toBeUndefined();
    expect(codeOf({ ...good, params: { r: 1.0001e4, alpha: 1, a: 1, b: 1 } })).toMatch(/^VIGIL_ERR_FIT/);
  });
});
