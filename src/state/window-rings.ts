import type { WindowSpec } from '../config/schema.js';
import { eventTypes } from '../schema/event.js';
import { activityAggregate, MAX_BUCKET_COUNT, type ActivityAcc, type ActivityResult } from './activity-aggregate.js';
import { SlotColumns } from './slot-columns.js';

const TYPES = eventTypes.length;

/**
 * Sliding windows as rings of time buckets, one ring per configured horizon, stored as
 * struct-of-arrays across all customers.
 *
 * Window assignment: an event at `ts` belongs to bucket number `floor(ts / width)` of each
 * ring. The ring keeps the newest `buckets` bucket numbers; moving the head forward clears
 * the buckets it passes. An event older than the ring still covers only lands in the
 * longer horizons. A window's result at time `t` merges the buckets numbered
 * (floor(t / width) - buckets, floor(t / width)], so a window spans between
 * `horizon - width` and `horizon` of event time.
 */
export class WindowRings {
  readonly specs: readonly WindowSpec[];
  private readonly widths: number[];
  private readonly columns: SlotColumns<string>[];

  constructor(specs: readonly WindowSpec[], capacity: number) {
    this.specs = specs;
    this.widths = specs.map((s) => s.horizonMs / s.buckets);
    this.columns = specs.map(
      (s) =>
        new SlotColumns(
          {
            head: { ctor: Float64Array, width: 1 },
            counts: { ctor: Uint16Array, width: s.buckets * TYPES },
            revenue: { ctor: Float64Array, width: s.buckets },
            productBits: { ctor: Uint32Array, width: s.buckets },
          },
          capacity,
        ),
    );
  }

  grow(capacity: number): void {
    for (const c of this.columns) c.grow(capacity);
  }

  reset(slot: number): void {
    for (const c of this.columns) c.reset(slot);
  }

  get bytes(): number {
    return this.columns.reduce((sum, c) => sum + c.bytes, 0);
  }

  /** Adds one event to every ring. `bit` is the product sketch bit (0 when not a view). */
  add(slot: number, ts: number, typeIndex: number, revenue: number, bit: number): void {
    for (let r = 0; r < this.columns.length; r++) {
      const cols = this.columns[r]!;
      const B = this.specs[r]!.buckets;
      const bucketNo = Math.floor(ts / this.widths[r]!);
      const head = cols.col<Float64Array>('head');
      const counts = cols.col<Uint16Array>('counts');
      const revenues = cols.col<Float64Array>('revenue');
      const bits = cols.col<Uint32Array>('productBits');
      const h = head[slot]!;
      if (bucketNo > h) {
        // Clear the buckets the head passes over (all of them after a long silence).
        const clearUntil = Math.min(bucketNo, h + B);
        for (let k = h + 1; k <= clearUntil; k++) {
          const b = slot * B + (k % B);
          revenues[b] = 0;
          bits[b] = 0;
          counts.fill(0, b * TYPES, b * TYPES + TYPES);
        }
        head[slot] = bucketNo;
      } else if (bucketNo <= h - B) {
        continue; // older than this ring covers
      }
      const b = slot * B + (bucketNo % B);
      const c = b * TYPES + typeIndex;
      if (counts[c]! < MAX_BUCKET_COUNT) counts[c]!++;
      revenues[b]! += revenue;
      bits[b]! |= bit;
    }
  }

  /** The window of ring `r` as of event time `asOf` (which should not precede the last event applied). */
  result(slot: number, r: number, asOf: number): ActivityResult {
    const cols = this.columns[r]!;
    const B = this.specs[r]!.buckets;
    const head = cols.col<Float64Array>('head')[slot]!;
    const nowNo = Math.floor(asOf / this.widths[r]!);
    const acc = activityAggregate.create();
    // Buckets numbered (nowNo - B, nowNo] that the ring still holds, i.e. also in (head - B, head].
    for (let k = Math.max(head, nowNo) - B + 1; k <= Math.min(head, nowNo); k++) {
      activityAggregate.merge(acc, this.bucketPartial(cols, slot * B + (k % B)));
    }
    return activityAggregate.result(acc);
  }

  private bucketPartial(cols: SlotColumns<string>, b: number): ActivityAcc {
    const counts = cols.col<Uint16Array>('counts');
    return {
      counts: Array.from(counts.subarray(b * TYPES, b * TYPES + TYPES)),
      revenue: cols.col<Float64Array>('revenue')[b]!,
      productBits: cols.col<Uint32Array>('productBits')[b]!,
    };
  }

  snapshot(slots: number): Record<string, Uint8Array>[] {
    return this.columns.map((c) => c.snapshot(slots));
  }

  restore(rings: Record<string, Uint8Array>[], capacity: number): void {
    if (rings.length !== this.columns.length) throw new Error('snapshot has a different number of windows');
    this.columns.forEach((c, r) => c.restore(rings[r]!, capacity));
  }
}
