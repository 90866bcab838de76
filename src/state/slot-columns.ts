/**
 * Struct-of-arrays storage: one preallocated typed array per field, `width` elements per
 * customer slot. Growing doubles every column at once (amortised O(1) per customer); many
 * small per-customer arrays would instead cost GC pauses (see PERFORMANCE-NOTES.md).
 */
type TypedArrayCtor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Uint16ArrayConstructor
  | Uint8ArrayConstructor;
export type AnyTypedArray = Float64Array | Float32Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;

export interface ColumnSpec {
  readonly ctor: TypedArrayCtor;
  /** Elements per slot. */
  readonly width: number;
  /** Value of a fresh slot (0 unless said). */
  readonly initial?: number;
}

export class SlotColumns<K extends string> {
  private arrays: Record<K, AnyTypedArray>;
  private cap: number;

  constructor(
    private readonly specs: Readonly<Record<K, ColumnSpec>>,
    capacity: number,
  ) {
    this.cap = capacity;
    this.arrays = this.allocate(capacity);
  }

  get capacity(): number {
    return this.cap;
  }

  /** The live array of a column; callers must re-read it after `grow`. */
  col<T extends AnyTypedArray>(name: K): T {
    return this.arrays[name] as T;
  }

  grow(capacity: number): void {
    if (capacity <= this.cap) return;
    const next = this.allocate(capacity);
    for (const name of Object.keys(this.specs) as K[]) (next[name] as Uint8Array).set(this.arrays[name] as Uint8Array);
    // The new tail already holds initial values from allocate().
    this.arrays = next;
    this.cap = capacity;
  }

  /** Puts a slot back to its fresh state (a reused slot must not inherit a predecessor's data). */
  reset(slot: number): void {
    for (const name of Object.keys(this.specs) as K[]) {
      const { width, initial = 0 } = this.specs[name];
      this.arrays[name].fill(initial, slot * width, slot * width + width);
    }
  }

  get bytes(): number {
    let total = 0;
    for (const name of Object.keys(this.specs) as K[]) total += this.arrays[name].byteLength;
    return total;
  }

  /** Column bytes for the first `slots` slots, little-endian as the machine holds them. */
  snapshot(slots: number): Record<string, Uint8Array> {
    const out: Record<string, Uint8Array> = {};
    for (const name of Object.keys(this.specs) as K[]) {
      const a = this.arrays[name];
      const n = slots * this.specs[name].width * a.BYTES_PER_ELEMENT;
      out[name] = new Uint8Array(a.buffer, a.byteOffset, n).slice();
    }
    return out;
  }

  restore(columns: Record<string, Uint8Array>, capacity: number): void {
    this.cap = capacity;
    this.arrays = this.allocate(capacity);
    for (const name of Object.keys(this.specs) as K[]) {
      const bytes = columns[name];
      if (bytes === undefined) throw new Error(`snapshot lacks column ${name}`);
      const target = this.arrays[name];
      if (bytes.byteLength > target.byteLength) throw new Error(`snapshot column ${name} is larger than capacity`);
      new Uint8Array(target.buffer, target.byteOffset, bytes.byteLength).set(bytes);
    }
  }

  private allocate(capacity: number): Record<K, AnyTypedArray> {
    const out = {} as Record<K, AnyTypedArray>;
    for (const name of Object.keys(this.specs) as K[]) {
      const { ctor, width, initial = 0 } = this.specs[name];
      const a = new ctor(capacity * width);
      if (initial !== 0) a.fill(initial);
      out[name] = a;
    }
    return out;
  }
}
