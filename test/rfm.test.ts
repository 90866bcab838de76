/**
 * RFM over the live population: the quantile sketch against exact order statistics under
 * random inserts and removes, the scores on the whole CDNOW data against an exact quintile
 * computation, and the segment table.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { label } from '../src/alerts/alert.js';
import {
  linearBuckets,
  logarithmicBuckets,
  QuantileSketch,
  type BucketMapping,
} from '../src/analytics/quantile-sketch.js';
import {
  RFM_SEGMENTS,
  rfmSegment,
  RfmPopulation,
  segmentOf,
  segmentTransition,
  segmentTransitionMatters,
  type RfmSegment,
  type RfmValues,
} from '../src/analytics/rfm.js';
import { isVigilError } from '../src/core/errors.js';
import { DAY_MS, loadCdnowMasterPurchases } from './support/cdnow-master.js';

// ---- the exact computation the sketch is held to -------------------------------------------

/** The values of rank ⌊(n−1)·j/parts⌋ from 0, j = 1 … parts−1: numpy's and pandas' quantile positions. */
function exactCutPoints(values: readonly number[], parts = 5): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return Array.from({ length: parts - 1 }, (_, k) => sorted[Math.floor(((n - 1) * (k + 1)) / parts)]!);
}

/** 1 + cut points strictly below: pandas' qcut bins (closed on the right) without dropping duplicate edges. */
function exactScore(cuts: readonly number[], v: number): number {
  return 1 + cuts.filter((c) => c < v).length;
}

/** Replays insert/remove operations on a sketch and on a plain multiset. */
function replay(sketch: QuantileSketch, ops: readonly Op[]): number[] {
  const held: number[] = [];
  for (const op of ops) {
    if (op.kind === 'insert') {
      sketch.insert(op.value);
      held.push(op.value);
    } else if (held.length > 0) {
      const i = op.pick % held.length;
      if (op.kind === 'replace') {
        sketch.replace(held[i]!, op.value);
        held[i] = op.value;
      } else {
        sketch.remove(held[i]!);
        held[i] = held[held.length - 1]!;
        held.pop();
      }
    }
  }
  return held;
}

type Op =
  | { kind: 'insert'; value: number }
  | { kind: 'remove'; pick: number }
  | { kind: 'replace'; pick: number; value: number };

const opsOf = (value: fc.Arbitrary<number>, maxLength = 300): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      { weight: 3, arbitrary: value.map((v): Op => ({ kind: 'insert', value: v })) },
      { weight: 1, arbitrary: fc.nat().map((pick): Op => ({ kind: 'remove', pick })) },
      { weight: 1, arbitrary: fc.tuple(fc.nat(), value).map(([pick, v]): Op => ({ kind: 'replace', pick, value: v })) },
    ),
    { maxLength },
  );

/** Money-like values: heavy ties on a few prices, a long tail, some zeros. */
const money = fc.oneof(
  fc.constantFrom(0, 9.99, 11.77, 12, 12.49, 25, 25.5, 100),
  fc.double({ min: 0.01, max: 1e6, noNaN: true }),
  fc.integer({ min: 1, max: 40 }),
);

/** Largest distance between a value and its bucket's representative at a resolution level. */
function withinBucketAccuracy(
  mapping: 'log' | 'linear',
  param: number,
  level: number,
  estimate: number,
  exact: number,
): boolean {
  if (mapping === 'log') {
    const ratio = Math.pow((1 + param) / (1 - param), 2 ** level);
    return Math.abs(estimate - exact) <= ((ratio - 1) / (ratio + 1)) * exact * (1 + 1e-9);
  }
  return Math.abs(estimate - exact) <= (param * 2 ** level) / 2 + 1e-6;
}

/**
 * What the sketch promises after any sequence of inserts and removes: the count is exact; each
 * cut point lies in the bucket of the exact order statistic and within the bucket's accuracy of
 * it (so its rank is off by less than the values sharing that bucket); a score is never above
 * the exact one and below it only by the cut points sharing the value's bucket.
 */
function checkAgainstExact(
  sketch: QuantileSketch,
  held: readonly number[],
  mapping: 'log' | 'linear',
  param: number,
): void {
  expect(sketch.count).toBe(held.length);
  if (held.length === 0) {
    expect(sketch.quantile(0.5)).toBeNaN();
    return;
  }
  const exact = exactCutPoints(held);
  const estimated = sketch.cutPoints(5);
  const sorted = [...held].sort((a, b) => a - b);
  exact.forEach((x, j) => {
    const estimate = estimated[j]!;
    expect(sketch.bucketOf(estimate)).toBe(sketch.bucketOf(x));
    if (sketch.bucketOf(x) !== -Infinity)
      expect(withinBucketAccuracy(mapping, param, sketch.resolutionLevel, estimate, x)).toBe(true);
    const rank = Math.floor(((held.length - 1) * (j + 1)) / 5);
    const sharing = held.filter((v) => sketch.bucketOf(v) === sketch.bucketOf(x)).length;
    const firstOfBucket = sorted.findIndex((v) => sketch.bucketOf(v) === sketch.bucketOf(x));
    expect(rank - firstOfBucket).toBeLessThan(sharing);
  });
  for (const v of new Set(held)) {
    const s = sketch.score(v);
    const e = exactScore(exact, v);
    const cutsSharingBucket = exact.filter((c) => c !== v && sketch.bucketOf(c) === sketch.bucketOf(v) && c < v).length;
    expect(s).toBeLessThanOrEqual(e);
    expect(e - s).toBe(cutsSharingBucket);
  }
}

// ---- the sketch -----------------------------------------------------------------------------

describe('QuantileSketch', () => {
  it('cut points for any number of parts, asked in any order, are those of a sketch asked afresh (cached cuts reused in place)', () => {
    fc.assert(
      fc.property(
        opsOf(money),
        fc.array(fc.integer({ min: 2, max: 8 }), { minLength: 1, maxLength: 6 }),
        (ops, partsSeq) => {
          const sketch = new QuantileSketch(logarithmicBuckets(0.01, 0.01), { maxBuckets: 64, maxRankDrift: 0 });
          const half = Math.floor(ops.length / 2);
          replay(sketch, ops.slice(0, half));
          for (const parts of partsSeq) sketch.cutPoints(parts); // cached cuts of other lengths before the check
          replay(sketch, ops.slice(half));
          for (const parts of partsSeq) {
            const fresh = new QuantileSketch(logarithmicBuckets(0.01, 0.01), { maxBuckets: 64, maxRankDrift: 0 });
            fresh.restore(sketch.snapshot());
            const cuts = sketch.cutPoints(parts);
            expect(cuts).toEqual(fresh.cutPoints(parts));
            expect(cuts.length).toBe(sketch.count > 0 ? parts - 1 : 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('follows inserts and removes of money-like values within the bucket accuracy (logarithmic buckets)', () => {
    fc.assert(
      fc.property(opsOf(money), fc.constantFrom(8, 64, 4096), (ops, maxBuckets) => {
        const sketch = new QuantileSketch(logarithmicBuckets(0.01, 0.01), { maxBuckets, maxRankDrift: 0 });
        checkAgainstExact(sketch, replay(sketch, ops), 'log', 0.01);
      }),
      { numRuns: 300 },
    );
  });

  it('follows a moving window of times within the bucket accuracy (linear buckets, merges and re-centring)', () => {
    // Times drift forward as in a stream: each op moves the clock by up to a day.
    const times = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 86_400_000 }), fc.boolean(), fc.nat()), { maxLength: 300 })
      .map((steps) => {
        let clock = Date.UTC(2024, 0, 1);
        return steps.map(([dt, insert, pick]): Op => {
          clock += dt;
          const value = clock - (pick % 5) * 3_600_000;
          if (insert) return { kind: 'insert', value };
          return pick % 2 === 0 ? { kind: 'replace', pick, value } : { kind: 'remove', pick };
        });
      });
    fc.assert(
      fc.property(times, fc.constantFrom(4, 32, 4096), fc.constantFrom(1, 60_000), (ops, maxBuckets, width) => {
        const sketch = new QuantileSketch(linearBuckets(width), { maxBuckets, maxRankDrift: 0 });
        checkAgainstExact(sketch, replay(sketch, ops), 'linear', width);
      }),
      { numRuns: 300 },
    );
  });

  it('scores small integers exactly: heavy ties share the exact score', () => {
    fc.assert(
      fc.property(opsOf(fc.integer({ min: 0, max: 60 })), (ops) => {
        const sketch = new QuantileSketch(logarithmicBuckets(0.001, 1), { maxRankDrift: 0 });
        const held = replay(sketch, ops);
        if (held.length === 0) return;
        const cuts = exactCutPoints(held);
        for (const v of new Set(held)) expect(sketch.score(v)).toBe(exactScore(cuts, v));
      }),
    );
  });

  it('restores from a snapshot to answer, and go on, exactly as the original', () => {
    fc.assert(
      fc.property(opsOf(money), opsOf(money, 50), fc.constantFrom(8, 4096), (before, after, maxBuckets) => {
        const mapping = logarithmicBuckets(0.01, 0.01);
        const original = new QuantileSketch(mapping, { maxBuckets, maxRankDrift: 0 });
        const held = replay(original, before);
        const copy = new QuantileSketch(mapping, { maxBuckets, maxRankDrift: 0 });
        copy.restore(structuredClone(original.snapshot()));
        expect(copy.snapshot()).toEqual(original.snapshot());
        // The same later operations, on the same held values, in the same order.
        const later = [...held.map((value): Op => ({ kind: 'insert', value })), ...after];
        replay(original, later);
        replay(copy, later);
        expect(copy.count).toBe(original.count);
        expect(copy.snapshot()).toEqual(original.snapshot());
        if (original.count > 0) expect(copy.cutPoints(5)).toEqual(original.cutPoints(5));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses to remove a value it does not hold, and a snapshot of other buckets', () => {
    const sketch = new QuantileSketch(logarithmicBuckets(0.01, 1));
    sketch.insert(10);
    expect(catchCode(() => sketch.remove(20))).toBe('VIGIL_ERR_USAGE');
    expect(catchCode(() => sketch.remove(0))).toBe('VIGIL_ERR_USAGE');
    expect(catchCode(() => sketch.replace(20, 30))).toBe('VIGIL_ERR_USAGE');
    expect(catchCode(() => sketch.replace(20, 20.001))).toBe('VIGIL_ERR_USAGE'); // one bucket, still not held
    expect(catchCode(() => sketch.insert(Number.NaN))).toBe('VIGIL_ERR_USAGE');
    const other = new QuantileSketch(logarithmicBuckets(0.02, 1));
    expect(catchCode(() => other.restore(sketch.snapshot()))).toBe('VIGIL_ERR_SNAPSHOT');
    expect(sketch.count).toBe(1);
  });

  it('keeps memory fixed however many values it holds, and regains full resolution when emptied', () => {
    const sketch = new QuantileSketch(linearBuckets(1), { maxBuckets: 64 });
    const bytes = sketch.bytes;
    for (let i = 0; i < 10_000; i++) sketch.insert(i * 1000);
    expect(sketch.bytes).toBe(bytes);
    expect(sketch.resolutionLevel).toBeGreaterThan(0);
    for (let i = 1; i < 10_000; i++) sketch.remove(i * 1000);
    // Moving the last value away empties the sketch for a moment: it lands at full resolution.
    sketch.replace(0, 1e10);
    expect(sketch.count).toBe(1);
    expect(sketch.resolutionLevel).toBe(0);
    expect(sketch.quantile(0.5)).toBe(1e10 + 0.5);
  });

  it('reuses cut points until the allowed share of ranks may have drifted', () => {
    const sketch = new QuantileSketch(linearBuckets(1), { maxRankDrift: 0.01 });
    for (let i = 0; i < 1000; i++) sketch.insert(i);
    expect(sketch.score(200)).toBe(2); // cut points now 199, 399, 599, 799
    // 9 changes (under 1% of the 991 left) keep the cached cuts; the 10th refreshes them.
    for (let i = 0; i < 9; i++) sketch.remove(i);
    expect(sketch.score(200)).toBe(2);
    sketch.remove(9);
    expect(sketch.score(200)).toBe(1); // 990 values from 10: the first cut is now 207
  });
});

function catchCode(f: () => void): string | undefined {
  try {
    f();
  } catch (e) {
    return isVigilError(e) ? e.code : 'not a VigilError';
  }
  return undefined;
}

// ---- RFM on CDNOW -----------------------------------------------------------------------------

describe('RFM scores on CDNOW_master.txt', () => {
  /**
   * The whole data replayed in time order, as a stream would deliver it: each purchase moves its
   * customer from the old statistics to the new ones. Same-day purchases are one transaction.
   */
  function replayCdnow(rfm: RfmPopulation): Map<number, RfmValues> {
    const customers = new Map<number, RfmValues>();
    const cents = new Map<number, number>();
    for (const p of loadCdnowMasterPurchases()) {
      const before = customers.get(p.customer);
      const total = (cents.get(p.customer) ?? 0) + p.cents;
      const next: RfmValues = {
        lastPurchase: p.day,
        transactions: before === undefined ? 1 : before.transactions + (p.day > before.lastPurchase ? 1 : 0),
        monetary: total / 100,
      };
      rfm.update(before, next);
      customers.set(p.customer, next);
      cents.set(p.customer, total);
    }
    return customers;
  }

  const rfm = new RfmPopulation();
  const customers = [...replayCdnow(rfm).values()];

  it('holds every customer once', () => {
    expect(customers.length).toBe(23_570);
    expect(rfm.size).toBe(23_570);
  });

  it('agrees with exact quintiles for at least 97% of customers on R, F and M (measured: 100%, 100%, 99.92%)', () => {
    const exactCuts = {
      r: exactCutPoints(customers.map((c) => c.lastPurchase)),
      f: exactCutPoints(customers.map((c) => c.transactions)),
      m: exactCutPoints(customers.map((c) => c.monetary)),
    };
    let r = 0;
    let f = 0;
    let m = 0;
    let all = 0;
    for (const c of customers) {
      const s = rfm.scores(c);
      const sameR = s.r === exactScore(exactCuts.r, c.lastPurchase);
      const sameF = s.f === exactScore(exactCuts.f, c.transactions);
      const sameM = s.m === exactScore(exactCuts.m, c.monetary);
      r += Number(sameR);
      f += Number(sameF);
      m += Number(sameM);
      all += Number(sameR && sameF && sameM);
    }
    const n = customers.length;
    expect(r / n).toBe(1); // days are whole, and 4.7-hour buckets never join two
    expect(f / n).toBe(1); // small integers have buckets of their own
    expect(m / n).toBeGreaterThanOrEqual(0.999);
    expect(all / n).toBeGreaterThanOrEqual(0.999);
  });

  it('gives one-time buyers (half the customers) one frequency score, as ties must', () => {
    const once = customers.filter((c) => c.transactions === 1);
    expect(once.length / customers.length).toBeGreaterThan(0.5);
    expect(new Set(once.map((c) => rfm.scores(c).f))).toEqual(new Set([1]));
  });

  it('scores recency by the time of the last purchase, so scores do not decay as the clock moves', () => {
    const latest = Math.max(...customers.map((c) => c.lastPurchase));
    const earliest = Math.min(...customers.map((c) => c.lastPurchase));
    expect(rfm.scores({ lastPurchase: latest, transactions: 1, monetary: 1 }).r).toBe(5);
    expect(rfm.scores({ lastPurchase: earliest, transactions: 1, monetary: 1 }).r).toBe(1);
    expect(rfm.scores({ lastPurchase: latest + 30 * DAY_MS, transactions: 1, monetary: 1 }).r).toBe(5);
  });

  it('empties again when every customer is evicted', () => {
    const copy = new RfmPopulation();
    copy.restore(structuredClone(rfm.snapshot()));
    expect(copy.scores(customers[0]!)).toEqual(rfm.scores(customers[0]!));
    for (const c of customers) copy.update(c, undefined);
    expect(copy.size).toBe(0);
  });
});

// ---- segments ---------------------------------------------------------------------------------

describe('RFM segments', () => {
  /** The R×F grid of the pandas seg_map (rows R 1…5, columns F 1…5), written out. */
  const GRID = `
    hibernating     hibernating         at_risk              at_risk          cant_lose
    hibernating     hibernating         at_risk              at_risk          cant_lose
    about_to_sleep  about_to_sleep      need_attention       loyal_customers  loyal_customers
    promising       potential_loyalists potential_loyalists  loyal_customers  loyal_customers
    new_customers   potential_loyalists potential_loyalists  champions        champions`;

  it('maps each (R, F) cell to the segment of the published table, whatever M is', () => {
    const rows = GRID.trim()
      .split('\n')
      .map((row) => row.trim().split(/\s+/));
    for (let r = 1; r <= 5; r++) {
      for (let f = 1; f <= 5; f++) {
        expect(segmentOf({ r, f }), `R${r} F${f}`).toBe(rows[r - 1]![f - 1]);
      }
    }
    expect(new Set(rows.flat())).toEqual(new Set(RFM_SEGMENTS));
    expect(catchCode(() => segmentOf({ r: 0, f: 3 }))).toBe('VIGIL_ERR_USAGE');
    expect(catchCode(() => segmentOf({ r: 2.5, f: 3 }))).toBe('VIGIL_ERR_USAGE');
  });

  it('names segments as alert labels', () => {
    for (const s of RFM_SEGMENTS) expect(label.safeParse(s).success, s).toBe(true);
  });

  it('alerts on the transitions that matter and on no others', () => {
    const cases: [RfmSegment, RfmSegment, string | undefined][] = [
      ['champions', 'at_risk', 'slipping'],
      ['champions', 'hibernating', 'slipping'],
      ['loyal_customers', 'about_to_sleep', 'slipping'],
      ['loyal_customers', 'need_attention', 'slipping'],
      ['at_risk', 'hibernating', 'lost'],
      ['cant_lose', 'hibernating', 'lost'],
      ['cant_lose', 'champions', 'won_back'],
      ['at_risk', 'loyal_customers', 'won_back'],
      ['potential_loyalists', 'champions', 'became_champion'],
      ['hibernating', 'champions', 'became_champion'],
      ['champions', 'loyal_customers', undefined],
      ['loyal_customers', 'champions', undefined],
      ['new_customers', 'about_to_sleep', undefined],
      ['new_customers', 'promising', undefined],
      ['potential_loyalists', 'at_risk', undefined],
      ['about_to_sleep', 'hibernating', undefined],
    ];
    for (const [from, to, kind] of cases) {
      expect(segmentTransition(from, to), `${from} → ${to}`).toBe(kind);
      expect(segmentTransitionMatters(from, to)).toBe(kind !== undefined);
    }
    for (const s of RFM_SEGMENTS) expect(segmentTransitionMatters(s, s)).toBe(false);
  });

  it('names segments by index and judges transitions by name', () => {
    const port = new RfmPopulation();
    RFM_SEGMENTS.forEach((s, i) => {
      expect(port.segmentIndex(s)).toBe(i);
      expect(port.segmentName(i)).toBe(s);
    });
    expect(port.segmentIndex('vip')).toBe(-1);
    expect(port.transitionMatters('champions', 'at_risk')).toBe(true);
    expect(port.transitionMatters('champions', 'vip')).toBe(false);
    // Every pair of names, segments or not, as the schema-checked judgement gives it.
    const names = [...RFM_SEGMENTS, 'vip', '', 'Champions', 'toString', '__proto__'];
    for (const from of names) {
      for (const to of names) {
        const f = rfmSegment.safeParse(from);
        const t = rfmSegment.safeParse(to);
        expect(port.transitionMatters(from, to), `${from} → ${to}`).toBe(
          f.success && t.success && segmentTransitionMatters(f.data, t.data),
        );
      }
    }
    // By position, as keyed state asks, off the list too.
    for (let i = -1; i <= RFM_SEGMENTS.length; i++) {
      for (let j = -1; j <= RFM_SEGMENTS.length; j++) {
        const named =
          i >= 0 &&
          j >= 0 &&
          i < RFM_SEGMENTS.length &&
          j < RFM_SEGMENTS.length &&
          port.transitionMatters(RFM_SEGMENTS[i]!, RFM_SEGMENTS[j]!);
        expect(port.transitionMattersAt(i, j), `${i} → ${j}`).toBe(named);
      }
    }
    expect(port.transitionMattersAt(0.5, 2)).toBe(false);
  });

  it('scores the first buyer of an empty population against itself', () => {
    const rfm = new RfmPopulation();
    const first: RfmValues = { lastPurchase: Date.UTC(2024, 0, 1), transactions: 1, monetary: 20 };
    rfm.update(undefined, first);
    expect(rfm.scores(first)).toEqual({ r: 1, f: 1, m: 1, segment: 'hibernating' });
    const second: RfmValues = { lastPurchase: Date.UTC(2024, 0, 2), transactions: 2, monetary: 50 };
    rfm.update(undefined, second);
    expect(rfm.scores(second)).toEqual({ r: 5, f: 5, m: 5, segment: 'champions' });
  });
});

/** A mapping is the whole contract between values and buckets; both kinds keep order. */
describe('bucket mappings', () => {
  it('never put a larger value in a lower bucket', () => {
    const mappings: BucketMapping[] = [logarithmicBuckets(0.001, 0.01), linearBuckets(60_000)];
    fc.assert(
      fc.property(
        fc.double({ min: -1e12, max: 1e13, noNaN: true }),
        fc.double({ min: -1e12, max: 1e13, noNaN: true }),
        (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          for (const m of mappings) expect(m.fineBucket(lo)).toBeLessThanOrEqual(m.fineBucket(hi));
        },
      ),
    );
  });
});
