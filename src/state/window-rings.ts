import type { WindowSpec } from './config.js';
import { eventTypes } from '../core/event.js';
import { activityAggregate, MAX_BUCKET_COUNT, type ActivityAcc, type ActivityResult } from './activity-aggregate.js';
import type { RecordLayout, SlotRecords } from './slot-records.js';

const TYPES = eventTypes.length;

/**
 * A bucket's counters sit together as 16-bit words: the product sketch's low and high halves,
 * then the count of each event type. One event then touches one short run of its customer's
 * record per ring, instead of a bits array and a counts array apart.
 */
const BITS_LO = 0;
const BITS_HI = 1;
const COUNTS = 2;
const BUCKET_WORDS = COUNTS + TYPES;

interface RingOffsets {
  width: number;
  buckets: number;
  head: number; // f64
  revenue: number; // f64 × buckets, touched by purchases and clears only
  words: number; // u16 × buckets × BUCKET_WORDS
}

/**
 * Sliding windows as rings of time buckets, one ring per configured horizon, held in each
 * customer's record.
 *
 * Window assignment: an event at `ts` belongs to bucket number `floor(ts / width)` of each
 * ring. The ring keeps the newest `buckets` bucket numbers; moving the head forward clears
 * the buckets it passes. An event older than a ring still covers lands only in the longer
 * horizons. A window's result at time `t` merges the buckets numbered
 * (floor(t / width) - buckets, floor(t / width)], so a window spans between
 * `horizon - width` and `horizon` of event time.
 */
export class WindowRings {
  private readonly rings: RingOffsets[] = [];
  private records!: SlotRecords;
  private s64 = 0;
  private s16 = 0;

  constructor(
    readonly specs: readonly WindowSpec[],
    layout: RecordLayout,
  ) {
    // Heads first, together, right after the customer's scalars: every event reads them all.
    specs.forEach((_, r) => layout.add(`w${r}.head`, 'f64'));
    specs.forEach((s, r) => layout.add(`w${r}.revenue`, 'f64', s.buckets));
    specs.forEach((s, r) => layout.add(`w${r}.buckets`, 'u16', s.buckets * BUCKET_WORDS));
  }

  /** Binds to the records once the layout is sealed. */
  bind(records: SlotRecords): void {
    this.records = records;
    const layout = records.layout;
    this.s64 = layout.stride('f64');
    this.s16 = layout.stride('u16');
    this.rings.length = 0;
    this.specs.forEach((s, r) =>
      this.rings.push({
        width: s.horizonMs / s.buckets,
        buckets: s.buckets,
        head: layout.offset(`w${r}.head`),
        revenue: layout.offset(`w${r}.revenue`),
        words: layout.offset(`w${r}.buckets`),
      }),
    );
  }

  /** Adds one event to every ring. `bit` is the product sketch bit (0 when not a view). */
  add(slot: number, ts: number, typeIndex: number, revenue: number, bit: number): void {
    const { f64, u16 } = this.records;
    const base64 = slot * this.s64;
    const base16 = slot * this.s16;
    const bitLo = bit & 0xffff;
    const bitHi = bit >>> 16;
    for (let r = 0; r < this.rings.length; r++) {
      const ring = this.rings[r]!;
      const B = ring.buckets;
      const bucketNo = Math.floor(ts / ring.width);
      const headAt = base64 + ring.head;
      const h = f64[headAt]!;
      if (bucketNo > h) {
        // Clear the buckets the head passes over (all of them after a long silence).
        const clearUntil = Math.min(bucketNo, h + B);
        for (let k = h + 1; k <= clearUntil; k++) {
          const i = k % B;
          f64[base64 + ring.revenue + i] = 0;
          const w = base16 + ring.words + i * BUCKET_WORDS;
          u16.fill(0, w, w + BUCKET_WORDS);
        }
        f64[headAt] = bucketNo;
      } else if (bucketNo <= h - B) {
        continue; // older than this ring covers
      }
      const i = bucketNo % B;
      const w = base16 + ring.words + i * BUCKET_WORDS;
      if (u16[w + COUNTS + typeIndex]! < MAX_BUCKET_COUNT) u16[w + COUNTS + typeIndex]!++;
      if (bit !== 0) {
        u16[w + BITS_LO]! |= bitLo;
        u16[w + BITS_HI]! |= bitHi;
      }
      if (revenue !== 0) f64[base64 + ring.revenue + i]! += revenue;
    }
  }

  /** The window of ring `r` as of event time `asOf` (which should not precede the last event applied). */
  result(slot: number, r: number, asOf: number): ActivityResult {
    const ring = this.rings[r]!;
    const B = ring.buckets;
    const head = this.records.f64[slot * this.s64 + ring.head]!;
    const nowNo = Math.floor(asOf / ring.width);
    const acc = activityAggregate.create();
    // Buckets numbered (nowNo - B, nowNo] that the ring still holds, i.e. also in (head - B, head].
    for (let k = Math.max(head, nowNo) - B + 1; k <= Math.min(head, nowNo); k++)
      this.mergeBucket(acc, slot, ring, k % B);
    return activityAggregate.result(acc);
  }

  /** Events of every type in ring `r`'s window as of `asOf`, without building a result. */
  eventCount(slot: number, r: number, asOf: number): number {
    const ring = this.rings[r]!;
    const B = ring.buckets;
    const u16 = this.records.u16;
    const head = this.records.f64[slot * this.s64 + ring.head]!;
    const nowNo = Math.floor(asOf / ring.width);
    let n = 0;
    for (let k = Math.max(head, nowNo) - B + 1; k <= Math.min(head, nowNo); k++) {
      const w = slot * this.s16 + ring.words + (k % B) * BUCKET_WORDS + COUNTS;
      for (let t = 0; t < TYPES; t++) n += u16[w + t]!;
    }
    return n;
  }

  /**
   * Events by type (`eventTypes` order) in ring `r`'s window as of `asOf`, written into
   * `out`, without building a result; returns the events of every type.
   */
  typeCountsInto(slot: number, r: number, asOf: number, out: Float64Array): number {
    const ring = this.rings[r]!;
    const B = ring.buckets;
    const u16 = this.records.u16;
    const head = this.records.f64[slot * this.s64 + ring.head]!;
    const nowNo = Math.floor(asOf / ring.width);
    out.fill(0);
    let n = 0;
    for (let k = Math.max(head, nowNo) - B + 1; k <= Math.min(head, nowNo); k++) {
      const w = slot * this.s16 + ring.words + (k % B) * BUCKET_WORDS + COUNTS;
      for (let t = 0; t < TYPES; t++) {
        out[t]! += u16[w + t]!;
        n += u16[w + t]!;
      }
    }
    return n;
  }

  /** Index of the ring with this name, or -1. */
  ringIndex(name: string): number {
    return this.specs.findIndex((s) => s.name === name);
  }

  /** `activityAggregate.merge(acc, partial of bucket i)`, read in place rather than built as a partial first. */
  private mergeBucket(acc: ActivityAcc, slot: number, ring: RingOffsets, i: number): void {
    const { f64, u16 } = this.records;
    const w = slot * this.s16 + ring.words + i * BUCKET_WORDS;
    for (let t = 0; t < TYPES; t++) acc.counts[t]! += u16[w + COUNTS + t]!;
    acc.revenue += f64[slot * this.s64 + ring.revenue + i]!;
    acc.productBits = (acc.productBits | ((u16[w + BITS_LO]! | (u16[w + BITS_HI]! << 16)) >>> 0)) >>> 0;
  }
}
