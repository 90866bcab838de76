/**
 * A quantile sketch of a multiset of numbers that can forget as well as learn. The live
 * population's values move — a customer's frequency goes 3 → 4 when they buy, evicted
 * customers leave — so every insert must be undoable by a remove of the same value.
 *
 * Values fall into buckets (a `BucketMapping`): logarithmic buckets (DDSketch: Masson, Rim
 * & Lee 2019, "DDSketch: a fast and fully-mergeable quantile sketch with relative-error
 * guarantees", VLDB 12(12)) keep a relative accuracy, right for money and counts; linear
 * buckets keep an absolute one, right for times. Counts per bucket are exact, so the bucket
 * holding the k-th smallest value is found exactly and all the error is inside one bucket:
 * the answer is within the bucket's accuracy of the true order statistic, and its rank is
 * off by less than the number of values sharing that bucket.
 *
 * Memory is `maxBuckets` counters whatever the population. When the values held span more
 * buckets than that, adjacent pairs merge (the uniform collapse of UDDSketch: Epicoco et
 * al. 2020), halving the resolution everywhere rather than giving up one end. Merges are not
 * undone while values remain; an empty sketch starts again at full resolution.
 *
 * Counts sit in a Fenwick tree, so an insert, a remove or a rank query costs O(log buckets).
 */
import { VigilError } from '../core/errors.js';

/** How values map to buckets at the finest resolution; bucket indices are integers. */
export interface BucketMapping {
  /** The finest bucket holding `v`; -Infinity for values under the mapping's range, which share one bucket below all others. */
  fineBucket(v: number): number;
  /** The value standing for the fine buckets [first, first + span): every value in them is within the mapping's accuracy of it. */
  representative(first: number, span: number): number;
  /** The value standing for the values under the range. */
  readonly underRange: number;
  /** Names the mapping and its parameters; snapshots carry it so they are not read with another. */
  readonly signature: string;
}

/**
 * Buckets [γ^i, γ^(i+1)) with γ = (1+α)/(1−α): each bucket's representative is within a
 * relative α of every value in it (2^k·α roughly, after k merges). Values under `minValue`
 * (nothing spent, refunds) share the bucket below all others and are reported as 0.
 * With α = 0.001 every integer up to 500 has a bucket of its own.
 */
export function logarithmicBuckets(relativeAccuracy: number, minValue: number): BucketMapping {
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1))
    throw usage(`relative accuracy must be in (0, 1) (got ${relativeAccuracy})`);
  if (!(minValue > 0 && Number.isFinite(minValue))) throw usage(`minValue must be positive (got ${minValue})`);
  const lnGamma = Math.log((1 + relativeAccuracy) / (1 - relativeAccuracy));
  return {
    fineBucket: (v) => (v >= minValue ? Math.floor(Math.log(v) / lnGamma) : -Infinity),
    representative: (first, span) => {
      // The lowest bucket may start under minValue; only the part from minValue on holds values.
      const low = Math.max(Math.exp(first * lnGamma), minValue);
      const high = Math.exp((first + span) * lnGamma);
      // The harmonic mean of the ends has the same relative error to both.
      return (2 * low * high) / (low + high);
    },
    underRange: 0,
    signature: `log:${relativeAccuracy}:${minValue}`,
  };
}

/** Buckets [origin + i·width, origin + (i+1)·width): an absolute accuracy of width/2 (2^k times that after k merges). */
export function linearBuckets(width: number, origin = 0): BucketMapping {
  if (!(width > 0 && Number.isFinite(width))) throw usage(`bucket width must be positive (got ${width})`);
  if (!Number.isFinite(origin)) throw usage(`origin must be finite (got ${origin})`);
  return {
    fineBucket: (v) => Math.floor((v - origin) / width),
    representative: (first, span) => origin + (first + span / 2) * width,
    underRange: -Infinity,
    signature: `linear:${width}:${origin}`,
  };
}

export interface QuantileSketchOptions {
  /** Buckets held at most; beyond that span, adjacent pairs merge. */
  readonly maxBuckets?: number;
  /**
   * Cached cut points (`score`) are reused until this share of the population may have
   * changed rank: each insert or remove moves any rank by at most one, so the cuts in use
   * are never more than this share of ranks away from fresh ones. 0 recomputes after every change.
   */
  readonly maxRankDrift?: number;
}

/** Plain data for a snapshot: the occupied buckets from `first` on, at resolution `level`. */
export interface QuantileSketchSnapshot {
  mapping: string;
  level: number;
  under: number;
  first: number;
  counts: number[];
}

const DEFAULT_MAX_BUCKETS = 4096;
const DEFAULT_MAX_RANK_DRIFT = 0.001;

export class QuantileSketch {
  private readonly size: number;
  /** Fine buckets per bucket is 2^level. */
  private level = 0;
  private scale = 1;
  /** Values under the mapping's range. */
  private under = 0;
  /** Values in buckets. */
  private held = 0;
  /** Bucket index of counts[0]. */
  private base = 0;
  /** Lowest and highest occupied bucket, meaningful while `held` > 0. */
  private lo = 0;
  private hi = -1;
  private readonly counts: Uint32Array;
  /** Fenwick tree over `counts` (1-based). */
  private readonly tree: Uint32Array;
  private readonly topStep: number;
  private readonly maxRankDrift: number;
  /** Buckets of the cut points last computed, for `cutParts` parts; 0 parts = none cached. */
  private cutParts = 0;
  private readonly cuts: number[] = [];
  private changesSinceCuts = 0;

  constructor(
    readonly mapping: BucketMapping,
    options: QuantileSketchOptions = {},
  ) {
    const size = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    if (!(Number.isInteger(size) && size >= 2)) throw usage(`maxBuckets must be an integer ≥ 2 (got ${size})`);
    const drift = options.maxRankDrift ?? DEFAULT_MAX_RANK_DRIFT;
    if (!(drift >= 0 && drift < 1)) throw usage(`maxRankDrift must be in [0, 1) (got ${drift})`);
    this.size = size;
    this.maxRankDrift = drift;
    this.counts = new Uint32Array(size);
    this.tree = new Uint32Array(size + 1);
    this.topStep = 2 ** Math.floor(Math.log2(size));
  }

  /** Values held. */
  get count(): number {
    return this.under + this.held;
  }

  /** Merges so far: buckets are 2^level fine buckets wide. */
  get resolutionLevel(): number {
    return this.level;
  }

  /** Bytes of the counters (fixed by `maxBuckets`, whatever is held). */
  get bytes(): number {
    return this.counts.byteLength + this.tree.byteLength;
  }

  /** The bucket `v` falls in at the current resolution; -Infinity under the mapping's range. */
  bucketOf(v: number): number {
    const fine = this.mapping.fineBucket(v);
    return fine === -Infinity ? fine : Math.floor(fine / this.scale);
  }

  insert(v: number): void {
    checkFinite(v);
    this.insertInto(this.bucketOf(v));
  }

  /** Removes one copy of `v`; it must have been inserted (a remove of anything else is a bug in the caller's bookkeeping). */
  remove(v: number): void {
    checkFinite(v);
    this.removeFrom(this.bucketOf(v), v);
  }

  /**
   * `remove(old)` then `insert(next)`, for a value that moved; nothing changes when both fall
   * in one bucket (a second purchase the same day, within the hour), which is common.
   */
  replace(old: number, next: number): void {
    checkFinite(old);
    checkFinite(next);
    const from = this.bucketOf(old);
    const to = this.bucketOf(next);
    if (from !== to) {
      const level = this.level;
      this.removeFrom(from, old);
      // Removing the last value restarts at full resolution, where `next` has another bucket.
      this.insertInto(this.level === level ? to : this.bucketOf(next));
    } else if (!this.holds(from)) throw notHeld(old);
  }

  /**
   * The lower q-quantile: (an estimate of) the value of rank ⌊q·(n−1)⌋ from 0, within the
   * bucket accuracy of the true one. NaN when empty.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw usage(`quantile must be in [0, 1] (got ${q})`);
    const n = this.count;
    return n === 0 ? NaN : this.valueOf(this.bucketOfRank(Math.floor(q * (n - 1))));
  }

  /**
   * The `parts − 1` cut points splitting the population into `parts` equal shares: the values
   * of rank ⌊(n−1)·j/parts⌋, j = 1 … parts−1 (numpy's and pandas' quantile positions).
   */
  cutPoints(parts = 5): number[] {
    return this.freshCuts(parts).map((b) => this.valueOf(b));
  }

  /**
   * 1 + the number of cut points strictly below `v`, compared bucket to bucket: values in
   * one bucket always share a score, exactly as tied values share one in the exact
   * computation (pandas' qcut gives a value on a cut edge the lower bin too). A cut point
   * sharing `v`'s bucket counts as not below it, so the score is never higher than the exact
   * one and lower only for values sharing a bucket with a cut point. 1 when empty.
   */
  score(v: number, parts = 5): number {
    checkFinite(v);
    const cuts = this.freshCuts(parts);
    const b = this.bucketOf(v);
    let below = 0;
    for (let j = 0; j < cuts.length; j++) if (cuts[j]! < b) below++;
    return 1 + below;
  }

  snapshot(): QuantileSketchSnapshot {
    // A plain loop: Array.from over a typed array goes through the iterator, many times slower
    // for the up to `maxBuckets` counts a sync point between partitions copies.
    const counts: number[] = [];
    if (this.held > 0)
      for (let i = this.lo - this.base, end = this.hi - this.base; i <= end; i++) counts.push(this.counts[i]!);
    return {
      mapping: this.mapping.signature,
      level: this.level,
      under: this.under,
      first: this.held === 0 ? 0 : this.lo,
      counts,
    };
  }

  restore(s: QuantileSketchSnapshot): void {
    if (s.mapping !== this.mapping.signature)
      throw badSnapshot(`taken with buckets ${s.mapping}, not ${this.mapping.signature}`);
    const c = s.counts;
    let whole = Number.isSafeInteger(s.level) && Number.isSafeInteger(s.under) && Number.isSafeInteger(s.first);
    let first = -1;
    let last = -1;
    for (let k = 0; k < c.length; k++) {
      const v = c[k]!;
      if (!Number.isSafeInteger(v) || v < 0) whole = false;
      else if (v > 0) {
        if (first < 0) first = k;
        last = k;
      }
    }
    if (!whole || s.level < 0 || s.under < 0) throw badSnapshot('counts must be whole numbers ≥ 0');
    if (c.length > this.size) throw badSnapshot(`${c.length} buckets do not fit in ${this.size}`);
    this.counts.fill(0);
    this.startOver();
    this.under = s.under;
    if (first >= 0) {
      this.level = s.level;
      this.scale = 2 ** s.level;
      this.anchorAt(s.first + first);
      this.hi = s.first + last;
      this.recenter();
      for (let k = first; k <= last; k++) {
        this.counts[s.first + k - this.base] = s.counts[k]!;
        this.held += s.counts[k]!;
      }
    }
    this.rebuildTree();
  }

  // ---- buckets --------------------------------------------------------------------------

  private holds(b: number): boolean {
    if (b === -Infinity) return this.under > 0;
    const i = b - this.base;
    return i >= 0 && i < this.size && this.counts[i]! > 0;
  }

  private insertInto(bucket: number): void {
    let b = bucket;
    if (b === -Infinity) {
      this.under++;
    } else {
      if (this.held === 0) this.anchorAt(b);
      else if (b < this.base || b >= this.base + this.size) b = this.widenTo(b);
      this.add(b - this.base, 1);
      this.held++;
      if (b < this.lo) this.lo = b;
      if (b > this.hi) this.hi = b;
    }
    this.changesSinceCuts++;
  }

  private removeFrom(b: number, v: number): void {
    if (!this.holds(b)) throw notHeld(v);
    if (b === -Infinity) {
      this.under--;
    } else {
      this.add(b - this.base, -1);
      this.held--;
      if (this.held === 0) this.startOver();
      else {
        while (this.counts[this.lo - this.base] === 0) this.lo++;
        while (this.counts[this.hi - this.base] === 0) this.hi--;
      }
    }
    this.changesSinceCuts++;
  }

  private valueOf(bucket: number): number {
    return bucket === -Infinity
      ? this.mapping.underRange
      : this.mapping.representative(bucket * this.scale, this.scale);
  }

  /** The bucket holding the value of rank `r` (from 0; r < count). */
  private bucketOfRank(r: number): number {
    if (r < this.under) return -Infinity;
    let rest = r - this.under;
    let p = 0;
    for (let step = this.topStep; step > 0; step >>= 1) {
      const q = p + step;
      if (q <= this.size && this.tree[q]! <= rest) {
        p = q;
        rest -= this.tree[q]!;
      }
    }
    return this.base + p;
  }

  private freshCuts(parts: number): readonly number[] {
    if (!(Number.isInteger(parts) && parts >= 2)) throw usage(`parts must be an integer ≥ 2 (got ${parts})`);
    const n = this.count;
    if (parts !== this.cutParts || this.changesSinceCuts > this.maxRankDrift * n) {
      const count = n > 0 ? parts - 1 : 0;
      // Written in place: emptying the array first (length = 0) calls into the runtime and drops
      // its storage, for the pushes to allocate again, at every refresh (≈ 20 ns an event, profiled).
      // (n−1)·j/parts is exact in doubles and never rounds across an integer.
      for (let j = 1; j <= count; j++) this.cuts[j - 1] = this.bucketOfRank(Math.floor(((n - 1) * j) / parts));
      if (this.cuts.length !== count) this.cuts.length = count;
      this.cutParts = parts;
      this.changesSinceCuts = 0;
    }
    return this.cuts;
  }

  private add(i: number, delta: number): void {
    this.counts[i]! += delta;
    for (let p = i + 1; p <= this.size; p += p & -p) this.tree[p]! += delta;
  }

  /** The first bucket of an empty sketch goes mid-window, so it can grow either way. */
  private anchorAt(b: number): void {
    this.lo = b;
    this.hi = b;
    this.base = b - (this.size >> 1);
  }

  /** Places the occupied range [lo, hi] in the middle of the window. */
  private recenter(): void {
    this.base = this.lo - ((this.size - (this.hi - this.lo + 1)) >> 1);
  }

  /**
   * Makes room for bucket `b` outside the window: re-centres the window over the occupied
   * range and `b`, merging adjacent pairs until that range fits. Returns `b` at the new resolution.
   */
  private widenTo(b: number): number {
    let lo = Math.min(this.lo, b);
    let hi = Math.max(this.hi, b);
    let merges = 0;
    while (hi - lo + 1 > this.size) {
      lo = Math.floor(lo / 2);
      hi = Math.floor(hi / 2);
      merges++;
    }
    const factor = 2 ** merges;
    const held = this.counts.slice(this.lo - this.base, this.hi - this.base + 1);
    const heldFrom = this.lo;
    this.level += merges;
    this.scale = 2 ** this.level;
    this.lo = lo;
    this.hi = hi;
    this.recenter();
    this.counts.fill(0);
    for (let k = 0; k < held.length; k++) {
      const c = held[k]!;
      if (c > 0) this.counts[Math.floor((heldFrom + k) / factor) - this.base]! += c;
    }
    // Only b's own insert can leave lo or hi empty, and it follows at once.
    this.rebuildTree();
    if (merges > 0) this.cutParts = 0;
    return Math.floor(b / factor);
  }

  private rebuildTree(): void {
    const { tree, counts, size } = this;
    tree[0] = 0;
    for (let p = 1; p <= size; p++) tree[p] = counts[p - 1]!;
    for (let p = 1; p <= size; p++) {
      const parent = p + (p & -p);
      if (parent <= size) tree[parent]! += tree[p]!;
    }
    this.cutParts = 0;
  }

  /** An empty sketch forgets its merges and its window. */
  private startOver(): void {
    this.held = 0;
    this.level = 0;
    this.scale = 1;
    this.lo = 0;
    this.hi = -1;
    this.cutParts = 0;
  }
}

function checkFinite(v: number): void {
  if (!Number.isFinite(v)) throw usage(`quantile sketches hold finite numbers (got ${v})`);
}

function notHeld(v: number): VigilError {
  return usage(`removing ${v}, which the quantile sketch does not hold`);
}

function usage(message: string): VigilError {
  return new VigilError('VIGIL_ERR_USAGE', message);
}

function badSnapshot(message: string): VigilError {
  return new VigilError('VIGIL_ERR_SNAPSHOT', `quantile sketch snapshot: ${message}`);
}
