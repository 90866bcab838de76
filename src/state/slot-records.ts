import { freshCopy, type CopyBytes } from './copy-bytes.js';
/**
 * Per-customer state as fixed-size records in one growable ArrayBuffer: a customer's
 * fields sit together in a few cache lines instead of one line per field, as a column per
 * field (struct-of-arrays) had it: customers are touched in random order, so a record's
 * locality is what keyed state pays for (chosen by `npm run bench -- core`). Preallocated and
 * grown by doubling, so there is no per-customer object for the GC (PERFORMANCE-NOTES.md).
 *
 * Fields are declared on a `RecordLayout`, then read and written through the typed views
 * `f64 / u32 / u16 / u8` at `slot * stride(type) + offset(field)`.
 */
export type FieldType = 'f64' | 'u32' | 'u16' | 'u8';
const SIZE: Record<FieldType, number> = { f64: 8, u32: 4, u16: 2, u8: 1 };

interface FieldSpec {
  type: FieldType;
  count: number;
  initial: number;
  byteOffset: number;
}

export class RecordLayout {
  private readonly fields = new Map<string, FieldSpec>();
  private sealed = false;
  private strideBytes = 0;

  /** Declares a field of `count` elements. Call before `seal`. */
  add(name: string, type: FieldType, count = 1, initial = 0): this {
    if (this.sealed) throw new Error('record layout is sealed');
    if (this.fields.has(name)) throw new Error(`field ${name} declared twice`);
    this.fields.set(name, { type, count, initial, byteOffset: -1 });
    return this;
  }

  /** Fixes offsets: widest types first, so every field is naturally aligned. */
  seal(): this {
    let offset = 0;
    for (const type of ['f64', 'u32', 'u16', 'u8'] as const) {
      for (const f of this.fields.values()) {
        if (f.type !== type) continue;
        f.byteOffset = offset;
        offset += f.count * SIZE[type];
      }
    }
    this.strideBytes = Math.ceil(offset / 8) * 8;
    this.sealed = true;
    return this;
  }

  get bytesPerRecord(): number {
    return this.strideBytes;
  }

  /** Element offset of a field inside a record, in units of its own type. */
  offset(name: string): number {
    const f = this.fields.get(name);
    if (f === undefined || !this.sealed) throw new Error(`unknown field ${name} (or layout not sealed)`);
    return f.byteOffset / SIZE[f.type];
  }

  /** Record size in elements of the given type. */
  stride(type: FieldType): number {
    return this.strideBytes / SIZE[type];
  }

  /** Describes the layout, so a snapshot can refuse to load into a different one. */
  signature(): string {
    return [...this.fields].map(([n, f]) => `${n}:${f.type}x${f.count}@${f.byteOffset}`).join(',');
  }

  initialValues(): { type: FieldType; offset: number; count: number; value: number }[] {
    return [...this.fields.values()]
      .filter((f) => f.initial !== 0)
      .map((f) => ({ type: f.type, offset: f.byteOffset / SIZE[f.type], count: f.count, value: f.initial }));
  }
}

export class SlotRecords {
  f64!: Float64Array;
  u32!: Uint32Array;
  u16!: Uint16Array;
  u8!: Uint8Array;
  private cap = 0;
  /** One record in its fresh state (zeros and the declared initial values), copied by `reset`. */
  private readonly fresh: Uint8Array;

  constructor(
    readonly layout: RecordLayout,
    capacity: number,
  ) {
    this.fresh = freshRecord(layout);
    this.allocate(capacity);
  }

  get capacity(): number {
    return this.cap;
  }

  get bytes(): number {
    return this.u8.byteLength;
  }

  /** Grows to `capacity` records; the views are replaced, so callers re-read them. */
  grow(capacity: number): void {
    if (capacity <= this.cap) return;
    const old = this.u8;
    this.allocate(capacity);
    this.u8.set(old);
  }

  /** Puts a slot in its fresh state: zeros, and the declared initial values. */
  reset(slot: number): void {
    // One copy of a prepared record rather than a fill per initialised field, at every admission.
    this.u8.set(this.fresh, slot * this.fresh.length);
  }

  /** The first `slots` records as bytes (machine byte order). */
  snapshot(slots: number, copy: CopyBytes = freshCopy): Uint8Array {
    return copy(this.u8.subarray(0, slots * this.layout.bytesPerRecord));
  }

  restore(bytes: Uint8Array, capacity: number): void {
    if (bytes.byteLength > capacity * this.layout.bytesPerRecord) throw new Error('snapshot records exceed capacity');
    this.allocate(capacity);
    this.u8.set(bytes);
  }

  private allocate(capacity: number): void {
    const buffer = new ArrayBuffer(capacity * this.layout.bytesPerRecord);
    this.f64 = new Float64Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.cap = capacity;
  }
}

/** A record's bytes with every field at its declared initial value (zeros elsewhere). */
export function freshRecord(layout: RecordLayout): Uint8Array {
  const buffer = new ArrayBuffer(layout.bytesPerRecord);
  const views = {
    f64: new Float64Array(buffer),
    u32: new Uint32Array(buffer),
    u16: new Uint16Array(buffer),
    u8: new Uint8Array(buffer),
  };
  for (const init of layout.initialValues()) views[init.type].fill(init.value, init.offset, init.offset + init.count);
  return views.u8;
}
