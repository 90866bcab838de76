import { freshCopy, type CopyBytes } from '../../state/copy-bytes.js';
import { RecordLayout, SlotRecords, type FieldType } from '../../state/slot-records.js';

/** A per-customer field an analytics process keeps beside the store's record. */
export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** The value of a fresh record (0 unless given; NaN marks "never set"). */
  readonly initial?: number;
}

/**
 * The per-customer fields of all analytics processes, one record per slot: each process
 * declares its own fields (`AnalyticsProcess.fields`) and reads and writes only those, but
 * they share one `SlotRecords`, so a customer's analytics sit in a cache line or two as
 * they did before the concerns were split, and a snapshot holds them as one buffer.
 *
 * The layout is built in `order` (field names), not in the processes' order: the record
 * layout is part of the snapshot and checkpoint format (its signature is checked on
 * restore), and keeping the historical order keeps those bytes what they were.
 */
export class CustomerFields {
  readonly records: SlotRecords;
  /** Record strides in elements of each type (fixed by the sealed layout). */
  readonly s64: number;
  readonly s32: number;
  readonly s8: number;

  constructor(fields: readonly FieldSpec[], order: readonly string[], capacity: number) {
    const byName = new Map(fields.map((f) => [f.name, f]));
    if (byName.size !== fields.length) throw new Error('an analytics field is declared twice');
    const missing = fields.filter((f) => !order.includes(f.name)).map((f) => f.name);
    if (missing.length > 0 || order.length !== fields.length)
      throw new Error(`record order does not match the processes' fields (${missing.join(', ')})`);
    const layout = new RecordLayout();
    for (const name of order) {
      const f = byName.get(name)!;
      layout.add(f.name, f.type, 1, f.initial ?? 0);
    }
    layout.seal();
    this.records = new SlotRecords(layout, capacity);
    this.s64 = layout.stride('f64');
    this.s32 = layout.stride('u32');
    this.s8 = layout.stride('u8');
  }

  /**
   * Element offsets of the named fields, as one object read by constant name (`F.clv`): a
   * property read with a varying key (`o[name]` inside a shared accessor) is megamorphic
   * and costs an order of magnitude more per field access, on every event's path.
   */
  offsets<N extends string>(names: readonly N[]): Record<N, number> {
    return Object.fromEntries(names.map((n) => [n, this.records.layout.offset(n)])) as Record<N, number>;
  }

  get bytesPerCustomer(): number {
    return this.records.layout.bytesPerRecord;
  }

  /** Makes room for `capacity` slots (the store grew) and puts `slot` in its fresh state. */
  admit(slot: number, capacity: number): void {
    if (slot >= this.records.capacity) this.records.grow(capacity);
    this.records.reset(slot);
  }

  f64(slot: number, offset: number): number {
    return this.records.f64[slot * this.s64 + offset]!;
  }
  setF64(slot: number, offset: number, v: number): void {
    this.records.f64[slot * this.s64 + offset] = v;
  }
  u32(slot: number, offset: number): number {
    return this.records.u32[slot * this.s32 + offset]!;
  }
  setU32(slot: number, offset: number, v: number): void {
    this.records.u32[slot * this.s32 + offset] = v;
  }
  u8(slot: number, offset: number): number {
    return this.records.u8[slot * this.s8 + offset]!;
  }
  setU8(slot: number, offset: number, v: number): void {
    this.records.u8[slot * this.s8 + offset] = v;
  }

  signature(): string {
    return this.records.layout.signature();
  }

  snapshot(slots: number, copy: CopyBytes = freshCopy): Uint8Array {
    return this.records.snapshot(slots, copy);
  }

  restore(bytes: Uint8Array, capacity: number): void {
    this.records.restore(bytes, Math.max(capacity, bytes.byteLength / this.records.layout.bytesPerRecord));
  }
}
