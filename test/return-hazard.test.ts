/**
 * The return hazard (a life table of the silences between purchase days) against a brute
 * force from whole purchase histories: exposure and returns per frequency class and cell,
 * then the non-increasing fit by the min–max formula of isotonic regression.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classOf, FREQUENCY_CLASSES, nonIncreasing, ReturnHazard } from '../src/analytics/return-hazard.js';
import type { RfmValues } from '../src/analytics/rfm.js';
import { isVigilError } from '../src/core/errors.js';

const UNIT = 1000;

/** Weighted non-increasing isotonic regression: f(i) = min over j ≤ i of max over k ≥ i of the mean of j..k. */
function bruteNonIncreasing(values: readonly number[], weights: readonly number[]): number[] {
  const mean = (j: number, k: number): number => {
    let s = 0;
    let w = 0;
    for (let i = j; i <= k; i++) {
      s += values[i]! * weights[i]!;
      w += weights[i]!;
    }
    return s / w;
  };
  return values.map((_, i) => {
    let best = Infinity;
    for (let j = 0; j <= i; j++) {
      let worst = -Infinity;
      for (let k = i; k < values.length; k++) worst = Math.max(worst, mean(j, k));
      best = Math.min(best, worst);
    }
    return best;
  });
}

interface History {
  /** Purchase times in ms (whole units), ascending, distinct. */
  days: number[];
  /** Evicted at this time (censored), or never. */
  evictedAt?: number;
}

/** Returns and exposure per class × (cells + 1) from whole histories, as of `now`. */
function bruteTable(
  histories: readonly History[],
  now: number,
  cells: number,
): { returns: number[]; exposure: number[] } {
  const stride = cells + 1;
  const returns = new Array<number>(FREQUENCY_CLASSES.length * stride).fill(0);
  const exposure = new Array<number>(FREQUENCY_CLASSES.length * stride).fill(0);
  const spell = (x: number, length: number, returned: boolean): void => {
    const base = classOf(x) * stride;
    for (let w = 0; w < cells; w++) exposure[base + w]! += Math.min(1, Math.max(0, length - w));
    exposure[base + cells]! += Math.max(0, length - cells);
    if (returned) returns[base + Math.min(Math.ceil(length) - 1, cells)]!++; // a return after exactly w units ends cell w − 1
  };
  for (const h of histories) {
    const end = h.evictedAt ?? now;
    for (let i = 0; i < h.days.length; i++) {
      const next = h.days[i + 1];
      if (next !== undefined && next <= end) spell(i, (next - h.days[i]!) / UNIT, true);
      else {
        spell(i, (end - h.days[i]!) / UNIT, false);
        break;
      }
    }
  }
  return { returns, exposure };
}

describe('return hazard', () => {
  it('nonIncreasing equals the min–max formula over the exposed cells and carries it into the others (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 50 })), {
          minLength: 1,
          maxLength: 14,
        }),
        (cells) => {
          const events = cells.map(([e, x]) => (x === 0 ? 0 : Math.min(e, x)));
          const exposure = cells.map(([, x]) => x);
          const got = nonIncreasing(events, exposure);
          const exposed = exposure.map((x, i) => (x > 0 ? i : -1)).filter((i) => i >= 0);
          if (exposed.length === 0) {
            expect(got).toBeUndefined();
            return;
          }
          const fit = bruteNonIncreasing(
            exposed.map((i) => events[i]! / exposure[i]!),
            exposed.map((i) => exposure[i]!),
          );
          const expected = exposure.map((_, i) => {
            const before = exposed.filter((j) => j <= i);
            return fit[before.length === 0 ? 0 : before.length - 1]!;
          });
          expect([...got!].map((v) => +v.toFixed(12))).toEqual(expected.map((v) => +v.toFixed(12)));
          for (let i = 1; i < got!.length; i++) expect(got![i]!).toBeLessThanOrEqual(got![i - 1]! + 1e-12);
        },
      ),
    );
  });

  it('learns the life table of whole histories, evictions censored, as the stream gives them (property)', () => {
    const cells = 5;
    const history = fc.record({
      gaps: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
      start: fc.integer({ min: 0, max: 12 }),
      evictAfter: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(history, { minLength: 1, maxLength: 25 }), fc.integer({ min: 0, max: 10 }), (raw, extra) => {
        const histories: History[] = raw.map((h) => {
          const days = [h.start * UNIT];
          for (const g of h.gaps.slice(1)) days.push(days[days.length - 1]! + g * UNIT);
          return { days, ...(h.evictAfter !== undefined && { evictedAt: days[0]! + h.evictAfter * UNIT }) };
        });
        // The stream: purchases and evictions in time order (an eviction after the purchases of its time).
        const steps: { ts: number; order: number; customer: number; evict: boolean }[] = [];
        histories.forEach((h, customer) => {
          for (const d of h.days)
            if (h.evictedAt === undefined || d <= h.evictedAt) steps.push({ ts: d, order: 0, customer, evict: false });
          if (h.evictedAt !== undefined) steps.push({ ts: h.evictedAt, order: 1, customer, evict: true });
        });
        steps.sort((a, b) => a.ts - b.ts || a.order - b.order);
        const model = new ReturnHazard(UNIT, cells);
        const values = new Map<number, RfmValues>();
        const last = steps[steps.length - 1]!.ts;
        for (const s of steps) {
          const old = values.get(s.customer);
          if (s.evict) {
            // An eviction carries no time: it is censored at the latest time seen; the brute force uses the same.
            model.update(old, undefined);
            values.delete(s.customer);
            continue;
          }
          const next = { lastPurchase: s.ts, transactions: (old?.transactions ?? 0) + 1, monetary: 0 };
          model.update(old, next);
          values.set(s.customer, next);
        }
        const now = last + extra * UNIT;
        // What a censored eviction at the latest time seen means for the brute force: the time of the step before it.
        const latestBefore = (t: number): number =>
          Math.max(...steps.filter((s) => !s.evict && s.ts <= t).map((s) => s.ts));
        const censored = histories.map((h) =>
          h.evictedAt === undefined ? h : { ...h, evictedAt: latestBefore(h.evictedAt) },
        );
        const { returns, exposure } = bruteTable(censored, now, cells);
        const stride = cells + 1;
        const got = model.hazardTable(now);
        const previous: number[] = [];
        for (let c = 0; c < FREQUENCY_CLASSES.length; c++) {
          const row = nonIncreasing(
            returns.slice(c * stride, (c + 1) * stride),
            exposure.slice(c * stride, (c + 1) * stride),
          );
          const expected = row === undefined ? (c === 0 ? new Array<number>(stride).fill(0) : previous) : [...row];
          expect([...got.subarray(c * stride, (c + 1) * stride)].map((v) => +v.toFixed(9))).toEqual(
            expected.map((v) => +v.toFixed(9)),
          );
          previous.splice(0, stride, ...expected);
        }
        // The score: exp(−∫ hazard over the next unit), from the fitted table.
        for (const [customer, v] of values) {
          const s = (now - v.lastPurchase) / UNIT;
          const row = got.subarray(classOf(v.transactions - 1) * stride, (classOf(v.transactions - 1) + 1) * stride);
          const integral = row[Math.min(Math.floor(s), cells)]!; // whole-unit silences: the next unit is one cell
          expect(model.pNoReturn(v, now), `customer ${customer}`).toBeCloseTo(Math.exp(-integral), 12);
        }
        // A snapshot restores the same table.
        const copy = new ReturnHazard(UNIT, cells);
        copy.restore(structuredClone(model.snapshot()));
        expect([...copy.hazardTable(now)]).toEqual([...got]);
      }),
      { numRuns: 150 },
    );
  });

  it('ranks a one-time buyer against repeat buyers by what the population did, and a longer silence never lower', () => {
    const model = new ReturnHazard(UNIT, 10);
    // Ten one-time buyers who never return, ten buyers who return every 2 units, all starting at 0.
    for (let i = 0; i < 10; i++) model.update(undefined, { lastPurchase: 0, transactions: 1, monetary: 0 });
    for (let i = 0; i < 10; i++) {
      let v: RfmValues = { lastPurchase: 0, transactions: 1, monetary: 0 };
      model.update(undefined, v);
      for (let t = 2; t <= 8; t += 2) {
        const next = { lastPurchase: t * UNIT, transactions: v.transactions + 1, monetary: 0 };
        model.update(v, next);
        v = next;
      }
    }
    const now = 9 * UNIT;
    const oneTime = model.pNoReturn({ lastPurchase: 0, transactions: 1, monetary: 0 }, now);
    const regular = model.pNoReturn({ lastPurchase: 8 * UNIT, transactions: 2, monetary: 0 }, now);
    expect(regular).toBeLessThan(oneTime);
    for (let s = 0; s < 12; s++) {
      const v = { lastPurchase: now - (s + 1) * UNIT, transactions: 2, monetary: 0 };
      expect(model.pNoReturn(v, now)).toBeGreaterThanOrEqual(
        model.pNoReturn({ ...v, lastPurchase: now - s * UNIT }, now),
      );
    }
  });

  it('refuses a snapshot of another unit or an older version without the table', () => {
    const snap = new ReturnHazard(UNIT, 5).snapshot();
    for (const bad of [undefined, { ...snap, unitMs: 2 * UNIT }, { ...snap, cells: 6 }]) {
      let err: unknown;
      try {
        new ReturnHazard(UNIT, 5).restore(bad);
      } catch (e) {
        err = e;
      }
      expect(isVigilError(err) && err.code).toBe('VIGIL_ERR_SNAPSHOT');
    }
  });
});
