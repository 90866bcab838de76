import type { CustomerView } from '../../state/customer-store.js';

/**
 * A customer's behaviour as numbers, for clustering: each feature is on a scale where
 * distances mean something (logs of counts and amounts, shares in [0, 1]), before the
 * population standardisation (`Standardiser`).
 *
 * Not in the vector yet: the category mix (keyed state keeps no per-customer category
 * counts).
 */
export const behaviourFeatures = [
  'recency', // log(1 + days since the last event)
  'frequency', // log(1 + purchases)
  'monetary', // log(1 + mean order value)
  'session_rate', // log(1 + sessions per 30 days of tenure)
  'cart_to_purchase', // orders per cart addition in the longest window, capped at 1
  'depth', // log(1 + events per session)
] as const;
export type BehaviourFeature = (typeof behaviourFeatures)[number];
export const BEHAVIOUR_DIMENSIONS = behaviourFeatures.length;

const DAY = 86_400_000;
const MONTH = 30 * DAY;

/** The raw (unstandardised) vector of a customer as of `asOf`, written into `out`. */
export function behaviourVector(
  v: CustomerView,
  asOf: number,
  out: Float64Array = new Float64Array(BEHAVIOUR_DIMENSIONS),
): Float64Array {
  const sessions = Math.max(1, v.session.count);
  const tenure = Math.max(DAY, asOf - v.firstSeen);
  let carts = 0;
  let orders = 0;
  let widest = -1;
  for (const w of Object.values(v.windows)) {
    // The window with the most events is the longest one that still holds anything.
    if (w.events > widest) {
      widest = w.events;
      carts = w.counts.add_to_cart;
      orders = w.orders;
    }
  }
  out[0] = Math.log1p(Math.max(0, asOf - v.lastSeen) / DAY);
  out[1] = Math.log1p(v.purchases);
  out[2] = Math.log1p(v.purchases > 0 ? v.revenue / v.purchases : 0);
  out[3] = Math.log1p((sessions * MONTH) / tenure);
  out[4] = carts > 0 ? Math.min(1, orders / carts) : orders > 0 ? 1 : 0;
  out[5] = Math.log1p(v.events / sessions);
  return out;
}

/**
 * Population mean and variance per feature (Welford), a mergeable summary (Chan et al.'s
 * parallel update), and the z-scores it gives.
 */
export class Standardiser {
  n = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly dimensions: number) {
    this.mean = new Float64Array(dimensions);
    this.m2 = new Float64Array(dimensions);
  }

  add(x: ArrayLike<number>): void {
    this.n++;
    for (let j = 0; j < this.dimensions; j++) {
      const d = x[j]! - this.mean[j]!;
      this.mean[j]! += d / this.n;
      this.m2[j]! += d * (x[j]! - this.mean[j]!);
    }
  }

  merge(o: Standardiser): void {
    const n = this.n + o.n;
    if (n === 0) return;
    for (let j = 0; j < this.dimensions; j++) {
      const d = o.mean[j]! - this.mean[j]!;
      this.m2[j]! += o.m2[j]! + (d * d * this.n * o.n) / n;
      this.mean[j]! += (d * o.n) / n;
    }
    this.n = n;
  }

  sd(j: number): number {
    return this.n > 1 ? Math.sqrt(this.m2[j]! / (this.n - 1)) : 0;
  }

  /** z-scores of x into out; a constant feature scores 0. */
  standardise(x: ArrayLike<number>, out: Float64Array = new Float64Array(this.dimensions)): Float64Array {
    for (let j = 0; j < this.dimensions; j++) {
      const sd = this.sd(j);
      out[j] = sd > 0 ? (x[j]! - this.mean[j]!) / sd : 0;
    }
    return out;
  }
}
