/**
 * Per-item weights and a bounded list of weighted neighbours per item, in typed arrays.
 *
 * Memory is fixed by two numbers: at most `maxItems` items hold a row, and a row holds at
 * most `neighboursPerItem` neighbours, so at most `maxItems × neighboursPerItem` pair
 * counters exist. When a row is full, a new neighbour takes the slot of the weakest one:
 * the rarest pair is pruned. The newcomer starts from its own weight, so it is the next to
 * go unless it comes back; with decay, neighbours that stopped occurring sink below the
 * weight of a fresh event and make room. (Space-Saving's "evicted weight plus own" keeps
 * heavy pairs more surely but lets one-off pairs inherit inflated weights into the
 * ranking; on a validation split of the YOOCHOOSE sample it scored lower.)
 * When all rows are taken, a new item reuses the row of an item not touched since the
 * clock hand last passed it (CLOCK, the usual approximation of least recently used).
 * Neighbours of an evicted item stay in other rows: they are item numbers, not row numbers.
 *
 * Weights are in the stored units of a `ForwardDecay` held by the owner, so all of them
 * share one scale and never need decaying one by one; `rescale` applies a rebase. Pair
 * weights are float32: half the memory, and 24 bits of precision are ample for ranking.
 *
 * A full row remembers the slots of its weakest and next weakest neighbour (first by weight,
 * then by slot: the weakest is the first one a scan would find), so that a new neighbour is
 * placed without reading the row's weights. Weights only grow between rescales, so the two
 * stay right until one of them grows or is replaced; the newcomer is usually the new weakest
 * (it starts from one event's weight), which keeps both known. Otherwise the one not known
 * is forgotten and the weights are scanned the next time a slot is needed.
 *
 * What a row has besides its neighbours (item weight, neighbour count, weakest and next
 * weakest slot, CLOCK bit) is one 16-byte record, so that touching a row costs one cache
 * line for all of it rather than one per field: between two views of an item the rest of
 * the engine has usually pushed each of them out of the cache.
 */
const NO_ROW = -1;
const MIN_ROWS = 64;
/** A `weakest` / `nextWeakest` entry not known (row not full, or forgotten); slot offsets are < 0xffff. */
const UNKNOWN = 0xffff;
/** A row record: float64 item weight, then uint16 fields at these offsets (in uint16 units, of 8 per row). */
const RECORD_BYTES = 16;
const COUNT = 4;
const WEAKEST = 5;
const NEXT_WEAKEST = 6;
const REFERENCED = 7;

/** Whether weight a at slot sa ranks before weight b at slot sb, weakest first. */
function weaker(a: number, sa: number, b: number, sb: number): boolean {
  return a < b || (a === b && sa < sb);
}

/** Row records for `rows` rows, two views of one buffer: item weights, and the uint16 fields (weakest slots unknown). */
function records(rows: number): [Float64Array, Uint16Array] {
  const buffer = new ArrayBuffer(rows * RECORD_BYTES);
  const meta = new Uint16Array(buffer);
  for (let m = 0; m < meta.length; m += 8) {
    meta[m + WEAKEST] = UNKNOWN;
    meta[m + NEXT_WEAKEST] = UNKNOWN;
  }
  return [new Float64Array(buffer), meta];
}

export interface NeighbourTableSnapshot {
  neighboursPerItem: number;
  rows: number;
  hand: number;
  /** Int32 item of each row, raw bytes in machine order (like all arrays below). */
  itemOfRow: Uint8Array;
  /** Float64 item weight of each row. */
  itemWeight: Uint8Array;
  /** Uint16 neighbours in use per row. */
  neighbourCount: Uint8Array;
  /** Int32, `rows × neighboursPerItem`. */
  neighbour: Uint8Array;
  /** Float32, `rows × neighboursPerItem`. */
  pairWeight: Uint8Array;
  /** Uint8 CLOCK reference bits. */
  referenced: Uint8Array;
}

export class NeighbourTable {
  /** Row of each item, or `NO_ROW`; indexed by item, grown on demand up to `maxItemIndex`. */
  private rowOfItem = new Int32Array(0);
  private itemOfRow: Int32Array;
  /**
   * Row records: row r's item weight is `weight[2r]`; `meta[8r + COUNT]` its neighbours in use,
   * `meta[8r + REFERENCED]` its CLOCK bit, and `meta[8r + WEAKEST]` / `meta[8r + NEXT_WEAKEST]`,
   * for a full row, the offset of its weakest neighbour and of the next weakest, or `UNKNOWN`
   * (when the weakest is unknown, so is the next; derived: not in snapshots).
   */
  private weight: Float64Array;
  private meta: Uint16Array;
  /** Row r's neighbours are at [r × K, r × K + its count). */
  private neighbour: Int32Array;
  private pairWeight: Float32Array;
  private rowsUsed = 0;
  private hand = 0;
  private evictedItems = 0;

  constructor(
    readonly maxItems: number,
    readonly neighboursPerItem: number,
    /** Items at or above this index are ignored (the product dictionary's bound). */
    readonly maxItemIndex: number,
  ) {
    if (!(neighboursPerItem >= 1 && neighboursPerItem <= 0xffff))
      throw new RangeError('neighboursPerItem must be in 1..65535');
    if (!(maxItems >= 1)) throw new RangeError('maxItems must be at least 1');
    const rows = Math.min(MIN_ROWS, maxItems);
    this.itemOfRow = new Int32Array(rows);
    [this.weight, this.meta] = records(rows);
    this.neighbour = new Int32Array(rows * neighboursPerItem);
    this.pairWeight = new Float32Array(rows * neighboursPerItem);
  }

  /** Items holding a row now. */
  get items(): number {
    return this.rowsUsed;
  }

  /** Pair counters in use now (at most `maxItems × neighboursPerItem`). */
  get pairs(): number {
    let n = 0;
    for (let r = 0; r < this.rowsUsed; r++) n += this.meta[8 * r + COUNT]!;
    return n;
  }

  /** Items whose row was taken by another item since this table was made. */
  get evictions(): number {
    return this.evictedItems;
  }

  /** Bytes held by the typed arrays (allocated, not just used). */
  get bytes(): number {
    return (
      this.rowOfItem.byteLength +
      this.itemOfRow.byteLength +
      this.weight.byteLength +
      this.neighbour.byteLength +
      this.pairWeight.byteLength
    );
  }

  /** The item's row, or -1 when it holds none. */
  rowOf(item: number): number {
    return item >= 0 && item < this.rowOfItem.length && (item | 0) === item ? this.rowOfItem[item]! : NO_ROW;
  }

  /** The item's row, made if needed (possibly by evicting another item); -1 for an ignored item. */
  ensureRow(item: number): number {
    if (!(item > 0 && item < this.maxItemIndex && (item | 0) === item)) return NO_ROW;
    const known = this.rowOf(item);
    if (known !== NO_ROW) {
      this.meta[8 * known + REFERENCED] = 1;
      return known;
    }
    if (item >= this.rowOfItem.length) this.growItemIndex(item);
    let row: number;
    if (this.rowsUsed < this.maxItems) {
      if (this.rowsUsed === this.itemOfRow.length) this.growRows();
      row = this.rowsUsed++;
    } else {
      row = this.evictOne();
    }
    this.itemOfRow[row] = item;
    this.rowOfItem[item] = row;
    this.weight[2 * row] = 0;
    const m = 8 * row;
    this.meta[m + COUNT] = 0;
    this.meta[m + REFERENCED] = 1;
    this.meta[m + WEAKEST] = UNKNOWN;
    this.meta[m + NEXT_WEAKEST] = UNKNOWN;
    return row;
  }

  /** `ensureRow` for an item known to hold `row` still: marks it referenced, returns the row. */
  touch(row: number): number {
    this.meta[8 * row + REFERENCED] = 1;
    return row;
  }

  itemWeightOf(item: number): number {
    const row = this.rowOf(item);
    return row === NO_ROW ? 0 : this.weight[2 * row]!;
  }

  /** The item weight of a row (`itemWeightOf` for an item whose row is known). */
  itemWeightAt(row: number): number {
    return this.weight[2 * row]!;
  }

  addItemWeight(row: number, weight: number): void {
    this.weight[2 * row]! += weight;
  }

  /**
   * Adds weight to the pair row → `to`. Only the neighbour numbers are scanned (two cache
   * lines for 32 neighbours); a full row's weights are read only when its weakest slot is
   * not known.
   */
  addPair(row: number, to: number, weight: number): void {
    const K = this.neighboursPerItem;
    const base = row * K;
    const meta = this.meta;
    const m = 8 * row;
    const used = meta[m + COUNT]!;
    const neighbour = this.neighbour;
    const pairWeight = this.pairWeight;
    const end = base + used;
    for (let s = base; s < end; s++) {
      if (neighbour[s] === to) {
        pairWeight[s]! += weight;
        if (used === K) this.grew(row, s - base);
        return;
      }
    }
    if (used < K) {
      neighbour[end] = to;
      pairWeight[end] = weight;
      meta[m + COUNT] = used + 1;
      return;
    }
    // A full row without `to`: the newcomer takes the first weakest slot.
    if (meta[m + WEAKEST] === UNKNOWN) this.findWeakest(row);
    const at = meta[m + WEAKEST]!;
    neighbour[base + at] = to;
    pairWeight[base + at] = weight;
    this.grew(row, at);
  }

  /** Keeps `weakest` / `nextWeakest` of a full row right after the weight at `offset` grew or was replaced. */
  private grew(row: number, offset: number): void {
    const meta = this.meta;
    const m = 8 * row;
    if (offset === meta[m + WEAKEST]) {
      // Still the weakest if it stays below the next weakest; otherwise that one is, and what follows it is not known.
      const next = meta[m + NEXT_WEAKEST]!;
      const base = row * this.neighboursPerItem;
      if (next !== UNKNOWN && weaker(this.pairWeight[base + offset]!, offset, this.pairWeight[base + next]!, next))
        return;
      meta[m + WEAKEST] = next;
      meta[m + NEXT_WEAKEST] = UNKNOWN;
    } else if (offset === meta[m + NEXT_WEAKEST]) {
      meta[m + NEXT_WEAKEST] = UNKNOWN;
    }
  }

  /** Scans a full row's weights for its weakest and next weakest slot (first by weight, then by slot). */
  private findWeakest(row: number): void {
    const K = this.neighboursPerItem;
    const base = row * K;
    const pairWeight = this.pairWeight;
    let least = Infinity;
    let first = UNKNOWN;
    let nextLeast = Infinity;
    let second = UNKNOWN;
    for (let o = 0; o < K; o++) {
      const v = pairWeight[base + o]!;
      if (v < least) {
        nextLeast = least;
        second = first;
        least = v;
        first = o;
      } else if (v < nextLeast) {
        nextLeast = v;
        second = o;
      }
    }
    // No weight below Infinity: a scan would take the first slot, and then nothing is known about the rest.
    this.meta[8 * row + WEAKEST] = first === UNKNOWN ? 0 : first;
    this.meta[8 * row + NEXT_WEAKEST] = second;
  }

  /** First slot of the row's neighbours in `neighbours` / `weights`. */
  neighbourStart(row: number): number {
    return row * this.neighboursPerItem;
  }

  neighbourEnd(row: number): number {
    return row * this.neighboursPerItem + this.meta[8 * row + COUNT]!;
  }

  /** Neighbour items by slot; read between `neighbourStart` and `neighbourEnd`. */
  get neighbours(): Int32Array {
    return this.neighbour;
  }

  /** Pair weights by slot, in stored units. */
  get weights(): Float32Array {
    return this.pairWeight;
  }

  /** Multiplies every weight (a forward-decay rebase). */
  rescale(factor: number): void {
    const K = this.neighboursPerItem;
    // Rounding to float32 may make weights equal that were not: which one is weakest is scanned again.
    const meta = this.meta;
    for (let m = 0; m < meta.length; m += 8) {
      meta[m + WEAKEST] = UNKNOWN;
      meta[m + NEXT_WEAKEST] = UNKNOWN;
    }
    for (let r = 0; r < this.rowsUsed; r++) {
      this.weight[2 * r]! *= factor;
      for (let s = r * K, end = s + meta[8 * r + COUNT]!; s < end; s++) this.pairWeight[s]! *= factor;
    }
  }

  snapshot(): NeighbourTableSnapshot {
    const n = this.rowsUsed;
    const K = this.neighboursPerItem;
    const bytes = (a: ArrayBufferView, count: number, size: number): Uint8Array =>
      new Uint8Array(a.buffer, a.byteOffset, count * size).slice();
    return {
      neighboursPerItem: K,
      rows: n,
      hand: this.hand,
      itemOfRow: bytes(this.itemOfRow, n, 4),
      itemWeight: bytes(
        Float64Array.from({ length: n }, (_, r) => this.weight[2 * r]!),
        n,
        8,
      ),
      neighbourCount: bytes(
        Uint16Array.from({ length: n }, (_, r) => this.meta[8 * r + COUNT]!),
        n,
        2,
      ),
      neighbour: bytes(this.neighbour, n * K, 4),
      pairWeight: bytes(this.pairWeight, n * K, 4),
      referenced: bytes(
        Uint8Array.from({ length: n }, (_, r) => this.meta[8 * r + REFERENCED]!),
        n,
        1,
      ),
    };
  }

  /** Throws RangeError when the snapshot has another shape or exceeds this table's bounds. */
  check(s: NeighbourTableSnapshot): void {
    const K = this.neighboursPerItem;
    if (s.neighboursPerItem !== K)
      throw new RangeError(`snapshot has ${s.neighboursPerItem} neighbours per item, this table ${K}`);
    if (s.rows > this.maxItems)
      throw new RangeError(`snapshot holds ${s.rows} items, this table at most ${this.maxItems}`);
    const sizes: [Uint8Array, number][] = [
      [s.itemOfRow, 4],
      [s.itemWeight, 8],
      [s.neighbourCount, 2],
      [s.referenced, 1],
      [s.neighbour, 4 * K],
      [s.pairWeight, 4 * K],
    ];
    if (sizes.some(([bytes, size]) => bytes.byteLength !== s.rows * size))
      throw new RangeError('snapshot arrays do not match its row count');
    const items = new Int32Array(s.itemOfRow.slice().buffer);
    for (const item of items) {
      if (!(item > 0 && item < this.maxItemIndex))
        throw new RangeError(`snapshot holds item ${item}, outside 1..${this.maxItemIndex - 1}`);
    }
    for (const used of new Uint16Array(s.neighbourCount.slice().buffer)) {
      if (used > K) throw new RangeError(`snapshot has a row with ${used} neighbours, more than ${K}`);
    }
    if (!(Number.isInteger(s.hand) && s.hand >= 0 && s.hand < Math.max(s.rows, 1)))
      throw new RangeError('snapshot clock hand is out of range');
  }

  /** Replaces the contents with a snapshot's (see `check` for what is refused). */
  restore(s: NeighbourTableSnapshot): void {
    this.check(s);
    const K = this.neighboursPerItem;
    const view = <T>(bytes: Uint8Array, make: (b: ArrayBuffer) => T): T => make(bytes.slice().buffer);
    const items = view(s.itemOfRow, (b) => new Int32Array(b));
    const counts = view(s.neighbourCount, (b) => new Uint16Array(b));
    let maxItem = 0;
    for (let r = 0; r < s.rows; r++) maxItem = Math.max(maxItem, items[r]!);
    const rows = Math.max(Math.min(MIN_ROWS, this.maxItems), s.rows);
    this.itemOfRow = new Int32Array(rows);
    [this.weight, this.meta] = records(rows);
    this.neighbour = new Int32Array(rows * K);
    this.pairWeight = new Float32Array(rows * K);
    this.itemOfRow.set(items);
    const weights = view(s.itemWeight, (b) => new Float64Array(b));
    for (let r = 0; r < s.rows; r++) {
      this.weight[2 * r] = weights[r]!;
      this.meta[8 * r + COUNT] = counts[r]!;
      this.meta[8 * r + REFERENCED] = s.referenced[r]!;
    }
    this.neighbour.set(view(s.neighbour, (b) => new Int32Array(b)));
    this.pairWeight.set(view(s.pairWeight, (b) => new Float32Array(b)));
    this.rowsUsed = s.rows;
    this.hand = s.hand;
    this.rowOfItem = new Int32Array(0);
    if (s.rows > 0) this.growItemIndex(maxItem);
    for (let r = 0; r < s.rows; r++) this.rowOfItem[items[r]!] = r;
  }

  /** CLOCK: clears reference bits until it meets a row not touched since its last pass. */
  private evictOne(): number {
    for (;;) {
      const row = this.hand;
      this.hand = (this.hand + 1) % this.rowsUsed;
      if (this.meta[8 * row + REFERENCED] === 1) {
        this.meta[8 * row + REFERENCED] = 0;
        continue;
      }
      this.rowOfItem[this.itemOfRow[row]!] = NO_ROW;
      this.evictedItems++;
      return row;
    }
  }

  private growItemIndex(item: number): void {
    const size = Math.min(this.maxItemIndex, Math.max(item + 1, this.rowOfItem.length * 2, 1024));
    const grown = new Int32Array(size).fill(NO_ROW);
    grown.set(this.rowOfItem);
    this.rowOfItem = grown;
  }

  private growRows(): void {
    const rows = Math.min(this.maxItems, this.itemOfRow.length * 2);
    const K = this.neighboursPerItem;
    const grow = <T extends Int32Array | Float64Array | Float32Array | Uint16Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
      n: number,
    ): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.itemOfRow = grow(this.itemOfRow, (n) => new Int32Array(n), rows);
    const [weight, meta] = records(rows);
    weight.set(this.weight);
    meta.set(this.meta);
    [this.weight, this.meta] = [weight, meta];
    this.neighbour = grow(this.neighbour, (n) => new Int32Array(n), rows * K);
    this.pairWeight = grow(this.pairWeight, (n) => new Float32Array(n), rows * K);
  }
}
