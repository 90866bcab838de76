import { eventTypeIndex, eventTypes } from '../../core/event.js';
import type { CustomerStore, CustomerView } from '../../state/customer-store.js';

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

/** What the behaviour vector is computed from: a customer's totals and their widest window's counts. */
export interface BehaviourInputs {
  sessions: number;
  firstSeen: number;
  lastSeen: number;
  events: number;
  purchases: number;
  revenue: number;
  /** Cart additions and orders in the window with the most events (the longest that still holds anything). */
  carts: number;
  orders: number;
}

/** The raw (unstandardised) vector from its inputs as of `asOf`, written into `out`. */
export function behaviourFrom(
  v: BehaviourInputs,
  asOf: number,
  out: Float64Array = new Float64Array(BEHAVIOUR_DIMENSIONS),
): Float64Array {
  const sessions = Math.max(1, v.sessions);
  const tenure = Math.max(DAY, asOf - v.firstSeen);
  out[0] = Math.log1p(Math.max(0, asOf - v.lastSeen) / DAY);
  out[1] = Math.log1p(v.purchases);
  out[2] = Math.log1p(v.purchases > 0 ? v.revenue / v.purchases : 0);
  out[3] = Math.log1p((sessions * MONTH) / tenure);
  out[4] = v.carts > 0 ? Math.min(1, v.orders / v.carts) : v.orders > 0 ? 1 : 0;
  out[5] = Math.log1p(v.events / sessions);
  return out;
}

/** The raw (unstandardised) vector of a customer's view as of `asOf`, written into `out`. */
export function behaviourVector(
  v: CustomerView,
  asOf: number,
  out: Float64Array = new Float64Array(BEHAVIOUR_DIMENSIONS),
): Float64Array {
  let carts = 0;
  let orders = 0;
  let widest = -1;
  for (const w of Object.values(v.windows)) {
    if (w.events > widest) {
      widest = w.events;
      carts = w.counts.add_to_cart;
      orders = w.orders;
    }
  }
  const { firstSeen, lastSeen, events, purchases, revenue } = v;
  return behaviourFrom(
    { sessions: v.session.count, firstSeen, lastSeen, events, purchases, revenue, carts, orders },
    asOf,
    out,
  );
}

const CART = eventTypeIndex.add_to_cart;
const PURCHASE = eventTypeIndex.purchase;

/**
 * The same vector read from keyed state in place (no view is built): the clustering samples
 * it on the hot path. `behaviourVector` of the customer's view gives the same numbers.
 */
export class SlotBehaviour {
  private readonly inputs: BehaviourInputs = {
    sessions: 0,
    firstSeen: 0,
    lastSeen: 0,
    events: 0,
    purchases: 0,
    revenue: 0,
    carts: 0,
    orders: 0,
  };
  private readonly counts = new Float64Array(eventTypes.length);

  constructor(private readonly store: CustomerStore) {}

  into(slot: number, asOf: number, out: Float64Array): Float64Array {
    const { store, inputs, counts } = this;
    inputs.sessions = store.sessions(slot);
    inputs.firstSeen = store.firstSeen(slot);
    inputs.lastSeen = store.lastSeen(slot);
    inputs.events = store.events(slot);
    inputs.purchases = store.purchases(slot);
    inputs.revenue = store.revenue(slot);
    let widest = -1;
    for (let r = 0; r < store.windowCount; r++) {
      const events = store.windowTypeCountsInto(slot, r, asOf, counts);
      if (events > widest) {
        widest = events;
        inputs.carts = counts[CART]!;
        inputs.orders = counts[PURCHASE]!;
      }
    }
    return behaviourFrom(inputs, asOf, out);
  }
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
