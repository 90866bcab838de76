/**
 * The quantile sketch against a plain model of what it promises, answer for answer: counts
 * per bucket in a Map (re-bucketed by brute force at each merge), ranks by sorting, and the
 * window and cut-cache rules written out. The sketch keeps its counts in a ring under a
 * Fenwick tree and moves nothing when its window re-centres; the model moves everything.
 * Cached cuts are refreshed at the same changes in both, or RFM scores (and the alerts
 * from them) would differ: every answer must be identical, not merely within accuracy.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  linearBuckets,
  logarithmicBuckets,
  QuantileSketch,
  type BucketMapping,
  type QuantileSketchSnapshot,
} from '../src/analytics/quantile-sketch.js';
import { isVigilError } from '../src/core/errors.js';

class ModelSketch {
  level = 0;
  under = 0;
  base = 0;
  /** Count per bucket at `level`. */
  counts = new Map<number, number>();
  cutParts = 0;
  cuts: number[] = [];
  changes = 0;

  constructor(
    readonly mapping: BucketMapping,
    readonly size: number,
    readonly drift: number,
  ) {}

  get held(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }
  get count(): number {
    return this.under + this.held;
  }
  get lo(): number {
    return Math.min(...this.counts.keys());
  }
  get hi(): number {
    return Math.max(...this.counts.keys());
  }

  bucketOf(v: number): number {
    const fine = this.mapping.fineBucket(v);
    return fine === -Infinity ? fine : Math.floor(fine / 2 ** this.level);
  }

  insert(v: number): void {
    check(v);
    this.insertBucket(this.bucketOf(v));
  }

  remove(v: number): void {
    check(v);
    this.removeBucket(this.bucketOf(v));
  }

  replace(old: number, next: number): void {
    check(old);
    check(next);
    const from = this.bucketOf(old);
    if (from === this.bucketOf(next)) {
      if (!this.holds(from)) throw new Error('not held');
      return; // no change, and no change counted
    }
    this.removeBucket(from);
    this.insertBucket(this.bucketOf(next)); // at full resolution again if the remove emptied it
  }

  quantile(q: number): number {
    const n = this.count;
    return n === 0 ? NaN : this.valueOf(this.bucketOfRank(Math.floor(q * (n - 1))));
  }

  cutPoints(parts: number): number[] {
    return this.freshCuts(parts).map((b) => this.valueOf(b));
  }

  score(v: number, parts: number): number {
    check(v);
    const cuts = this.freshCuts(parts);
    const b = this.bucketOf(v);
    return 1 + cuts.filter((c) => c < b).length;
  }

  snapshot(): QuantileSketchSnapshot {
    const held = this.counts.size > 0;
    const counts: number[] = [];
    if (held) for (let b = this.lo; b <= this.hi; b++) counts.push(this.counts.get(b) ?? 0);
    return { mapping: this.mapping.signature, level: this.level, under: this.under, first: held ? this.lo : 0, counts };
  }

  /** As the sketch restores: the window centred over what is held, cached cuts dropped. */
  restore(s: QuantileSketchSnapshot): void {
    this.under = s.under;
    this.counts = new Map();
    this.level = 0;
    s.counts.forEach((c, k) => c > 0 && this.counts.set(s.first + k, c));
    if (this.counts.size > 0) {
      this.level = s.level;
      this.recenter();
    }
    this.cutParts = 0;
  }

  private holds(b: number): boolean {
    if (b === -Infinity) return this.under > 0;
    return b >= this.base && b < this.base + this.size && (this.counts.get(b) ?? 0) > 0;
  }

  private insertBucket(bucket: number): void {
    let b = bucket;
    if (b === -Infinity) this.under++;
    else {
      if (this.counts.size === 0) this.base = b - (this.size >> 1);
      else if (b < this.base || b >= this.base + this.size) {
        // Widen: merge pairs until the held range and b fit, re-centre, drop the cached cuts.
        while (Math.max(this.hi, b) - Math.min(this.lo, b) + 1 > this.size) {
          const merged = new Map<number, number>();
          for (const [k, c] of this.counts) merged.set(Math.floor(k / 2), (merged.get(Math.floor(k / 2)) ?? 0) + c);
          this.counts = merged;
          this.level++;
          b = Math.floor(b / 2);
        }
        const lo = Math.min(this.lo, b);
        const hi = Math.max(this.hi, b);
        this.base = lo - ((this.size - (hi - lo + 1)) >> 1);
        this.cutParts = 0;
      }
      this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    }
    this.changes++;
  }

  private removeBucket(b: number): void {
    if (!this.holds(b)) throw new Error('not held');
    if (b === -Infinity) this.under--;
    else {
      const c = this.counts.get(b)! - 1;
      if (c === 0) this.counts.delete(b);
      else this.counts.set(b, c);
      if (this.counts.size === 0) {
        this.level = 0; // emptied: full resolution again
        this.cutParts = 0;
      }
    }
    this.changes++;
  }

  private recenter(): void {
    this.base = this.lo - ((this.size - (this.hi - this.lo + 1)) >> 1);
  }

  private bucketOfRank(r: number): number {
    if (r < this.under) return -Infinity;
    const sorted = [...this.counts].sort((a, b) => a[0] - b[0]);
    let rest = r - this.under;
    for (const [b, c] of sorted) {
      if (rest < c) return b;
      rest -= c;
    }
    throw new Error('rank past the end');
  }

  private valueOf(b: number): number {
    return b === -Infinity
      ? this.mapping.underRange
      : this.mapping.representative(b * 2 ** this.level, 2 ** this.level);
  }

  private freshCuts(parts: number): number[] {
    const n = this.count;
    if (parts !== this.cutParts || this.changes > this.drift * n) {
      this.cuts = [];
      for (let j = 1; n > 0 && j < parts; j++) this.cuts.push(this.bucketOfRank(Math.floor(((n - 1) * j) / parts)));
      this.cutParts = parts;
      this.changes = 0;
    }
    return this.cuts;
  }
}

function check(v: number): void {
  if (!Number.isFinite(v)) throw new Error('not finite');
}

type Op =
  | { kind: 'insert'; value: number }
  | { kind: 'remove'; pick: number }
  | { kind: 'replace'; pick: number; value: number }
  | { kind: 'score'; value: number; parts: number }
  | { kind: 'quantile'; q: number }
  | { kind: 'cuts'; parts: number }
  | { kind: 'restore' }
  | { kind: 'bogus'; value: number };

/** What an operation answers, or that it threw (and whether the sketch's error was a VigilError). */
function attempt(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    return { threw: true, vigil: isVigilError(e) };
  }
}

/**
 * Runs `ops` on the sketch and the model side by side; `held` is what the test inserted
 * and not yet removed (removes and replaces pick from it). Returns both answer lists.
 */
function runBoth(
  mapping: BucketMapping,
  size: number,
  drift: number,
  ops: readonly Op[],
): { real: unknown[]; model: unknown[]; snapshots: [QuantileSketchSnapshot, QuantileSketchSnapshot][] } {
  let sketch = new QuantileSketch(mapping, { maxBuckets: size, maxRankDrift: drift });
  const model = new ModelSketch(mapping, size, drift);
  const held: number[] = [];
  const real: unknown[] = [];
  const answers: unknown[] = [];
  const snapshots: [QuantileSketchSnapshot, QuantileSketchSnapshot][] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'insert':
        sketch.insert(op.value);
        model.insert(op.value);
        held.push(op.value);
        break;
      case 'remove': {
        if (held.length === 0) break;
        const [v] = held.splice(op.pick % held.length, 1);
        sketch.remove(v!);
        model.remove(v!);
        break;
      }
      case 'replace': {
        if (held.length === 0) break;
        const i = op.pick % held.length;
        sketch.replace(held[i]!, op.value);
        model.replace(held[i]!, op.value);
        held[i] = op.value;
        break;
      }
      case 'score':
        real.push(sketch.score(op.value, op.parts));
        answers.push(model.score(op.value, op.parts));
        break;
      case 'quantile':
        real.push(sketch.quantile(op.q));
        answers.push(model.quantile(op.q));
        break;
      case 'cuts':
        real.push(sketch.cutPoints(op.parts));
        answers.push(model.cutPoints(op.parts));
        break;
      case 'restore': {
        const s = structuredClone(sketch.snapshot());
        snapshots.push([s, model.snapshot()]);
        sketch = new QuantileSketch(mapping, { maxBuckets: size, maxRankDrift: drift });
        sketch.restore(s);
        model.restore(s);
        break;
      }
      case 'bogus': {
        // A value that may not be held: the sketch refuses exactly when the model does (with a VigilError).
        const sharing = held.findIndex((h) => model.bucketOf(h) === model.bucketOf(op.value));
        const r = attempt(() => sketch.remove(op.value));
        real.push(r === undefined ? 'removed' : r);
        const m = attempt(() => model.remove(op.value));
        answers.push(m === undefined ? 'removed' : { threw: true, vigil: true });
        if (m === undefined) held.splice(sharing, 1); // one value of that bucket left, whichever
        break;
      }
    }
    real.push(sketch.count);
    answers.push(model.count);
  }
  snapshots.push([sketch.snapshot(), model.snapshot()]);
  return { real, model: answers, snapshots };
}

/** Operations over values from `value`: mostly inserts, removes and replaces, with queries between. */
function opsOf(value: fc.Arbitrary<number>, maxLength = 400): fc.Arbitrary<Op[]> {
  return fc.array(
    fc.oneof(
      { weight: 6, arbitrary: value.map((v): Op => ({ kind: 'insert', value: v })) },
      { weight: 3, arbitrary: fc.nat().map((pick): Op => ({ kind: 'remove', pick })) },
      { weight: 3, arbitrary: fc.tuple(fc.nat(), value).map(([pick, v]): Op => ({ kind: 'replace', pick, value: v })) },
      {
        weight: 4,
        arbitrary: fc
          .tuple(value, fc.integer({ min: 2, max: 6 }))
          .map(([v, parts]): Op => ({ kind: 'score', value: v, parts })),
      },
      { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((q): Op => ({ kind: 'quantile', q })) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 6 }).map((parts): Op => ({ kind: 'cuts', parts })) },
      { weight: 1, arbitrary: value.map((v): Op => ({ kind: 'bogus', value: v })) },
      { weight: 1, arbitrary: fc.constant<Op>({ kind: 'restore' }) },
    ),
    { maxLength, size: 'max' },
  );
}

/** Times drifting forward by up to `step` per value, as a stream's are (re-centring all the way). */
function driftingTimes(start: number, step: number): fc.Arbitrary<Op[]> {
  return opsOf(fc.integer({ min: 0, max: 1000 })).map((ops) => {
    let clock = start;
    const at = (v: number): number => {
      clock += (v % 17) * step;
      return clock - (v % 5) * step;
    };
    return ops.map((op): Op => ('value' in op ? { ...op, value: at(op.value) } : op));
  });
}

function expectSame(run: ReturnType<typeof runBoth>): void {
  expect(run.real).toEqual(run.model);
  for (const [real, model] of run.snapshots) expect(real).toEqual(model);
}

describe('QuantileSketch against a plain model of its buckets, window and cached cuts', () => {
  it('answers as the model for money-like values (logarithmic buckets, values under the range, merges)', () => {
    const money = fc.oneof(
      fc.constant(0),
      fc.double({ min: -5, max: 0.01, noNaN: true }),
      fc.double({ min: 0.01, max: 1e6, noNaN: true }),
    );
    fc.assert(
      fc.property(opsOf(money), fc.constantFrom(2, 3, 8, 64), fc.constantFrom(0, 0.05, 0.3), (ops, size, drift) => {
        expectSame(runBoth(logarithmicBuckets(0.01, 0.01), size, drift, ops));
      }),
      { numRuns: 300 },
    );
  });

  it('answers as the model for times drifting forward (linear buckets of 1 ms at 2026 times: buckets past 2^31)', () => {
    fc.assert(
      fc.property(
        driftingTimes(Date.UTC(2026, 0, 1), 3_600_000),
        fc.constantFrom(4, 7, 16, 128),
        fc.constantFrom(0, 0.01, 0.2),
        (ops, size, drift) => {
          expectSame(runBoth(linearBuckets(1), size, drift, ops));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers as the model for small integers drifting either way (negative buckets, re-centring without merges)', () => {
    const walk = fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 400, size: 'max' });
    fc.assert(
      fc.property(
        walk,
        opsOf(fc.integer({ min: 0, max: 6 })),
        fc.constantFrom(8, 32),
        fc.constantFrom(0, 0.1),
        (steps, ops, size, drift) => {
          // A random walk of the values' centre: the window follows it up and down.
          let centre = 0;
          const moved = ops.map((op, i): Op => {
            centre += steps[i % steps.length]!;
            return 'value' in op ? { ...op, value: centre + op.value } : op;
          });
          expectSame(runBoth(linearBuckets(1), size, drift, moved));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers as the model at the default size on a week of purchase times at the millisecond (merges up to minutes)', () => {
    const start = Date.UTC(2025, 0, 1);
    const ops: Op[] = [];
    let seed = 7;
    const rand = (): number => (seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647;
    for (let i = 0; i < 20_000; i++) {
      const now = start + Math.floor((i / 20_000) * 7 * 86_400_000);
      const u = rand();
      if (u < 0.6 || i === 0) ops.push({ kind: 'insert', value: now });
      else if (u < 0.8) ops.push({ kind: 'replace', pick: Math.floor(rand() * 1e9), value: now });
      else ops.push({ kind: 'remove', pick: Math.floor(rand() * 1e9) });
      if (i % 7 === 0) ops.push({ kind: 'score', value: now - Math.floor(rand() * 86_400_000), parts: 5 });
      if (i % 5000 === 4999) ops.push({ kind: 'restore' });
    }
    const run = runBoth(linearBuckets(1), 4096, 0.001, ops);
    expectSame(run);
    expect(run.snapshots.at(-1)![0].level).toBeGreaterThan(10); // the week did merge the millisecond buckets
  });
});
