import { eventTypes, type EventType } from '../core/event.js';

/**
 * The windows' aggregate, in Flink's AggregateFunction contract: create / add / merge /
 * result. A bucket holds one partial (`ActivityAcc`); a window's answer merges the partials
 * of its buckets. Every part is mergeable, which is why distinct products are a 32-bit
 * sketch (one bit per hashed product, linear counting) rather than a set.
 */
export interface ActivityAcc {
  counts: number[];
  revenue: number;
  productBits: number;
}

export interface ActivityResult {
  /** Events by type. */
  counts: Record<EventType, number>;
  events: number;
  /** Sum of purchase order values, in the events' currency units. */
  revenue: number;
  /** Purchase events (one per order). */
  orders: number;
  /** Estimate of distinct products viewed (linear counting over 32 bits; saturates near 110). */
  distinctProductsViewed: number;
}

export const SKETCH_BITS = 32;
/** Counts per bucket are 16-bit and saturate rather than wrap. */
export const MAX_BUCKET_COUNT = 0xffff;

/**
 * The sketch bit of a product id: FNV-1a over its UTF-16 code units, then murmur3's
 * finaliser, top 5 bits. A function of the id itself, not of the order products were first
 * seen in (their interned numbers), so a customer's sketch is the same whichever partition,
 * with its own product dictionary, holds them.
 */
export function productIdBit(productId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < productId.length; i++) h = Math.imul(h ^ productId.charCodeAt(i), 0x01000193);
  return productBit(h);
}

/** A sketch bit from a 32-bit number (murmur3's finaliser, top 5 bits). */
export function productBit(productIndex: number): number {
  let h = productIndex | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return 1 << (h >>> 27);
}

export function distinctEstimate(bits: number): number {
  let ones = 0;
  for (let b = bits >>> 0; b !== 0; b &= b - 1) ones++;
  if (ones === 0) return 0;
  const zeros = SKETCH_BITS - ones;
  if (zeros === 0) return Math.round(SKETCH_BITS * Math.log(SKETCH_BITS)); // saturated
  return Math.round(-SKETCH_BITS * Math.log(zeros / SKETCH_BITS));
}

export const activityAggregate = {
  create(): ActivityAcc {
    return { counts: new Array<number>(eventTypes.length).fill(0), revenue: 0, productBits: 0 };
  },
  add(acc: ActivityAcc, typeIndex: number, revenue: number, bit: number): ActivityAcc {
    acc.counts[typeIndex] = Math.min(MAX_BUCKET_COUNT, acc.counts[typeIndex]! + 1);
    acc.revenue += revenue;
    acc.productBits |= bit;
    return acc;
  },
  merge(into: ActivityAcc, other: ActivityAcc): ActivityAcc {
    for (let t = 0; t < into.counts.length; t++) into.counts[t]! += other.counts[t]!;
    into.revenue += other.revenue;
    into.productBits = (into.productBits | other.productBits) >>> 0;
    return into;
  },
  result(acc: ActivityAcc): ActivityResult {
    const counts = Object.fromEntries(eventTypes.map((t, i) => [t, acc.counts[i]!])) as Record<EventType, number>;
    let events = 0;
    for (const c of acc.counts) events += c;
    return {
      counts,
      events,
      revenue: acc.revenue,
      orders: counts.purchase,
      distinctProductsViewed: distinctEstimate(acc.productBits),
    };
  },
};
