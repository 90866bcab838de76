import type { Random } from './random.js';

/**
 * Draws an index in proportion to fixed weights: a cumulative table built once, then a
 * binary search per draw (O(log n), no allocation), which is what a hot generator loop
 * can afford for catalogues of millions.
 */
export class WeightedSampler {
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(weights: ArrayLike<number>) {
    if (weights.length === 0) throw new RangeError('a weighted sampler needs at least one weight');
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight ${i} must be finite and >= 0, got ${w}`);
      sum += w;
      this.cumulative[i] = sum;
    }
    if (!(sum > 0)) throw new RangeError('a weighted sampler needs a positive total weight');
    this.total = sum;
  }

  get size(): number {
    return this.cumulative.length;
  }

  /** An index in [0, size); zero-weight indices are never drawn. */
  sample(random: Random): number {
    const u = random.next() * this.total;
    const cdf = this.cumulative;
    // The first index whose cumulative weight exceeds u.
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Zipf's law: the weight of rank r (1-based) is r^-s. */
export function zipfWeight(rank: number, exponent: number): number {
  return Math.pow(rank, -exponent);
}

/**
 * Ranks 1..n drawn with P(r) ∝ r^-s. Popularity in shops is heavy-tailed like this: a few
 * best sellers take a large share of views, and a long tail is seldom seen.
 */
export class ZipfSampler {
  private readonly weighted: WeightedSampler;

  constructor(
    readonly n: number,
    readonly exponent: number,
  ) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`zipf needs n >= 1, got ${n}`);
    if (!(exponent >= 0) || !Number.isFinite(exponent))
      throw new RangeError(`zipf needs a finite exponent >= 0, got ${exponent}`);
    const weights = new Float64Array(n);
    for (let r = 1; r <= n; r++) weights[r - 1] = zipfWeight(r, exponent);
    this.weighted = new WeightedSampler(weights);
  }

  /** A rank in 1..n. */
  sample(random: Random): number {
    return this.weighted.sample(random) + 1;
  }

  /** The probability of drawing rank r. */
  probability(rank: number): number {
    return rank >= 1 && rank <= this.n ? zipfWeight(rank, this.exponent) / this.weighted.total : 0;
  }
}
