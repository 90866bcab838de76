import { Random } from '../../edges/demo/random.js';

/**
 * k-means in two forms over the same points: a streaming mini-batch one (Sculley 2010,
 * "Web-scale k-means clustering"), whose memory is the k centroids, their counts and one
 * mini-batch whatever the number of points, and a batch one (Lloyd's algorithm from
 * k-means++ seeds, Arthur & Vassilvitskii 2007, best of several restarts) as the reference.
 * Points are rows of a Float64Array of `dimensions` columns.
 */
export interface Clustering {
  readonly k: number;
  readonly dimensions: number;
  /** k × dimensions. */
  readonly centroids: Float64Array;
}

export function squaredDistance(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const x = a[ai * d + j]! - b[bi * d + j]!;
    s += x * x;
  }
  return s;
}

/** Index of the centroid nearest to point i (ties: the lower index). */
export function nearest(c: Clustering, points: Float64Array, i: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let q = 0; q < c.k; q++) {
    const dist = squaredDistance(points, i, c.centroids, q, c.dimensions);
    if (dist < bestD) {
      bestD = dist;
      best = q;
    }
  }
  return best;
}

/** Sum of squared distances of the points to their nearest centroid. */
export function inertia(c: Clustering, points: Float64Array): number {
  const n = points.length / c.dimensions;
  let s = 0;
  for (let i = 0; i < n; i++) s += squaredDistance(points, i, c.centroids, nearest(c, points, i), c.dimensions);
  return s;
}

export function assignments(c: Clustering, points: Float64Array): Int32Array {
  const n = points.length / c.dimensions;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = nearest(c, points, i);
  return out;
}

/** k-means++ seeding: each next seed drawn with probability ∝ squared distance to the seeds so far. */
function seedPlusPlus(points: Float64Array, n: number, d: number, k: number, r: Random): Float64Array {
  const centroids = new Float64Array(k * d);
  const dist = new Float64Array(n).fill(Infinity);
  let pick = r.int(n);
  for (let q = 0; q < k; q++) {
    centroids.set(points.subarray(pick * d, pick * d + d), q * d);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const x = squaredDistance(points, i, centroids, q, d);
      if (x < dist[i]!) dist[i] = x;
      total += dist[i]!;
    }
    if (total === 0) break;
    let u = r.next() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      u -= dist[i]!;
      if (u < 0) {
        pick = i;
        break;
      }
    }
  }
  return centroids;
}

/** Lloyd's algorithm from k-means++ seeds; the best of `restarts` runs by inertia. */
export function batchKMeans(
  points: Float64Array,
  dimensions: number,
  k: number,
  opts: { seed?: number; restarts?: number; maxIterations?: number; start?: Float64Array } = {},
): Clustering {
  const n = points.length / dimensions;
  const r = new Random(opts.seed ?? 1);
  let best: Clustering | undefined;
  let bestInertia = Infinity;
  const runs = (opts.restarts ?? 5) + (opts.start ? 1 : 0);
  for (let run = 0; run < runs; run++) {
    const seeds =
      opts.start && run === runs - 1 ? Float64Array.from(opts.start) : seedPlusPlus(points, n, dimensions, k, r);
    const c: Clustering = { k, dimensions, centroids: seeds };
    const assigned = new Int32Array(n).fill(-1);
    for (let it = 0; it < (opts.maxIterations ?? 100); it++) {
      let moved = 0;
      for (let i = 0; i < n; i++) {
        const q = nearest(c, points, i);
        if (q !== assigned[i]) {
          assigned[i] = q;
          moved++;
        }
      }
      const sums = new Float64Array(k * dimensions);
      const counts = new Float64Array(k);
      for (let i = 0; i < n; i++) {
        const q = assigned[i]!;
        counts[q]!++;
        for (let j = 0; j < dimensions; j++) sums[q * dimensions + j]! += points[i * dimensions + j]!;
      }
      for (let q = 0; q < k; q++) {
        if (counts[q] === 0) continue; // an empty cluster keeps its centroid
        for (let j = 0; j < dimensions; j++) c.centroids[q * dimensions + j] = sums[q * dimensions + j]! / counts[q]!;
      }
      if (moved === 0) break;
    }
    const s = inertia(c, points);
    if (s < bestInertia) {
      bestInertia = s;
      best = c;
    }
  }
  return best!;
}

export interface MiniBatchKMeansSnapshot {
  k: number;
  dimensions: number;
  centroids: number[];
  counts: number[];
  buffered: number[];
  seeded: boolean;
  rng: number;
  reservoir: number[];
  seen: number;
  batches: number;
}

export interface MiniBatchKMeansOptions {
  readonly batchSize: number;
  readonly seed: number;
  /** Floor of a centroid's learning rate: 0 keeps each centroid the mean of all it took. */
  readonly minRate: number;
  /** Points in the uniform sample the refreshes cluster (bounded memory). */
  readonly reservoir: number;
  /** Mini-batches between refreshes; 0: never refresh. */
  readonly refreshEvery: number;
}

/**
 * Streaming mini-batch k-means: points are buffered until a mini-batch is full; the first
 * batch seeds the centroids by k-means++; each later batch is assigned to the centroids as
 * they stand, then every point pulls its centroid towards it by 1/count (per-centre
 * learning rates: each centroid is the running mean of the points it took). A floor on the
 * rate (`minRate`) makes old points fade, so centroids follow behaviour that drifts.
 *
 * One pass of such updates can settle in a poor local optimum (two centres in one group,
 * a centre on outliers), as a single Lloyd run from one seeding can. So every
 * `refreshEvery` mini-batches the centroids are recomputed by batch k-means (k-means++,
 * restarts) over a uniform reservoir sample of the points seen (Vitter's algorithm R), the
 * current centroids among the starts, keeping whichever has the lower inertia on the
 * sample. Memory stays bounded: k centroids, one mini-batch, the reservoir.
 */
export class MiniBatchKMeans implements Clustering {
  readonly centroids: Float64Array;
  private readonly counts: Float64Array;
  private buffer: Float64Array;
  private buffered = 0;
  private seeded = false;
  private rngState: number;
  private readonly reservoir: Float64Array;
  private seen = 0;
  private batches = 0;

  constructor(
    readonly k: number,
    readonly dimensions: number,
    private readonly opts: MiniBatchKMeansOptions,
  ) {
    if (opts.batchSize < k) throw new Error('a mini-batch must hold at least k points');
    this.centroids = new Float64Array(k * dimensions);
    this.counts = new Float64Array(k);
    this.buffer = new Float64Array(opts.batchSize * dimensions);
    this.rngState = opts.seed;
    this.reservoir = new Float64Array(opts.reservoir * dimensions);
  }

  get ready(): boolean {
    return this.seeded;
  }

  add(x: ArrayLike<number>): void {
    const d = this.dimensions;
    for (let j = 0; j < d; j++) this.buffer[this.buffered * d + j] = x[j]!;
    const slot =
      this.seen < this.opts.reservoir ? this.seen : Math.floor(uniformOf(this.opts.seed, this.seen) * (this.seen + 1));
    this.seen++;
    if (slot < this.opts.reservoir) for (let j = 0; j < d; j++) this.reservoir[slot * d + j] = x[j]!;
    if (++this.buffered === this.opts.batchSize) this.flush();
  }

  /** The reservoir's points (a uniform sample of those seen), row i at [i·d, (i+1)·d); a view, not a copy. */
  sample(): Float64Array {
    return this.reservoir.subarray(0, Math.min(this.seen, this.opts.reservoir) * this.dimensions);
  }

  /** Applies a partial mini-batch now (end of input). */
  flush(): void {
    const n = this.buffered;
    if (n === 0) return;
    const d = this.dimensions;
    const batch = this.buffer.subarray(0, n * d);
    this.buffered = 0;
    if (!this.seeded) {
      if (n < this.k) {
        this.buffered = n; // not enough points to seed yet
        return;
      }
      const r = new Random(this.rngState);
      this.centroids.set(seedPlusPlus(batch, n, d, this.k, r));
      this.rngState = r.uint32();
      this.seeded = true;
    }
    const assigned = new Int32Array(n);
    for (let i = 0; i < n; i++) assigned[i] = nearest(this, batch, i);
    for (let i = 0; i < n; i++) {
      const q = assigned[i]!;
      this.counts[q]!++;
      const eta = Math.max(1 / this.counts[q]!, this.opts.minRate);
      for (let j = 0; j < d; j++) this.centroids[q * d + j]! += eta * (batch[i * d + j]! - this.centroids[q * d + j]!);
    }
    this.batches++;
    if (this.opts.refreshEvery > 0 && this.batches % this.opts.refreshEvery === 0) this.refresh();
  }

  /** Batch k-means on the reservoir; taken when it beats the current centroids there. */
  refresh(): void {
    const n = Math.min(this.seen, this.opts.reservoir);
    if (n < this.k || !this.seeded) return;
    const sample = this.reservoir.subarray(0, n * this.dimensions);
    const r = new Random(this.rngState);
    const candidate = batchKMeans(sample, this.dimensions, this.k, {
      seed: r.uint32(),
      restarts: 3,
      start: this.centroids,
    });
    this.rngState = r.uint32();
    if (inertia(candidate, sample) < inertia(this, sample)) this.centroids.set(candidate.centroids);
  }

  snapshot(): MiniBatchKMeansSnapshot {
    return {
      k: this.k,
      dimensions: this.dimensions,
      centroids: [...this.centroids],
      counts: [...this.counts],
      buffered: [...this.buffer.subarray(0, this.buffered * this.dimensions)],
      seeded: this.seeded,
      rng: this.rngState,
      reservoir: [...this.reservoir.subarray(0, Math.min(this.seen, this.opts.reservoir) * this.dimensions)],
      seen: this.seen,
      batches: this.batches,
    };
  }

  restore(s: MiniBatchKMeansSnapshot): void {
    if (s.k !== this.k || s.dimensions !== this.dimensions) throw new Error('k-means shape differs from the snapshot');
    this.centroids.set(s.centroids);
    this.counts.set(s.counts);
    this.buffer.fill(0);
    this.buffer.set(s.buffered);
    this.buffered = s.buffered.length / this.dimensions;
    this.seeded = s.seeded;
    this.rngState = s.rng;
    this.reservoir.fill(0);
    this.reservoir.set(s.reservoir);
    this.seen = s.seen;
    this.batches = s.batches;
  }
}

/** A uniform number in [0, 1) from (seed, index) alone (a murmur3-style mix), so the reservoir needs no generator state. */
function uniformOf(seed: number, index: number): number {
  let h = Math.imul((seed ^ index) >>> 0, 0x9e3779b1) ^ Math.imul(Math.floor(index / 0x1_0000_0000) + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 0x1_0000_0000;
}
