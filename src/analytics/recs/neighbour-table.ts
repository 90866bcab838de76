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
 */
const NO_ROW = -1;
const MIN_ROWS = 64;
/** A `weakest` / `nextWeakest` entry not known (row not full, or forgotten); slot offsets are < 0xffff. */
const UNKNOWN = 0xffff;

/** Whether weight a at slot sa ranks before weight b at slot sb, weakest first. */
function weaker(a: number, sa: number, b: number, sb: number): boolean {
  return a < b || (a === b && sa < sb);
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
  private itemWeight: Float64Array;
  private neighbourCount: Uint16Array;
  private referenced: Uint8Array;
  /**
   * Per full row, the offset in the row of its weakest neighbour and of the next weakest, or
   * `UNKNOWN`; when `weakest` is unknown, so is `nextWeakest`. Derived: not in snapshots.
   */
  private weakest: Uint16Array;
  private nextWeakest: Uint16Array;
  /** Row r's neighbours are at [r × K, r × K + neighbourCount[r]). */
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
    if (!(neighboursPerItem >= 1 && neighboursPerItem <= 0xffff)) throw new RangeError('neighboursPerItem must be in 1..65535');
    if (!(maxItems >= 1)) throw new RangeError('maxItems must be at least 1');
    const rows = Math.min(MIN_ROWS, maxItems);
    this.itemOfRow = new Int32Array(rows);
    this.itemWeight = new Float64Array(rows);
    this.neighbourCount = new Uint16Array(rows);
    this.referenced = new Uint8Array(rows);
    this.weakest = new Uint16Array(rows).fill(UNKNOWN);
    this.nextWeakest = new Uint16Array(rows).fill(UNKNOWN);
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
    for (let r = 0; r < this.rowsUsed; r++) n += this.neighbourCount[r]!;
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
      this.itemWeight.byteLength +
      this.neighbourCount.byteLength +
      this.referenced.byteLength +
      this.weakest.byteLength +
      this.nextWeakest.byteLength +
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
      this.referenced[known] = 1;
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
    this.itemWeight[row] = 0;
    this.neighbourCount[row] = 0;
    this.referenced[row] = 1;
    this.weakest[row] = UNKNOWN;
    this.nextWeakest[row] = UNKNOWN;
    return row;
  }

  /** `ensureRow` for an item known to hold `row` still: marks it referenced, returns the row. */
  touch(row: number): number {
    this.referenced[row] = 1;
    return row;
  }

  itemWeightOf(item: number): number {
    const row = this.rowOf(item);
    return row === NO_ROW ? 0 : this.itemWeight[row]!;
  }

  /** The item weight of a row (`itemWeightOf` for an item whose row is known). */
  itemWeightAt(row: number): number {
    return this.itemWeight[row]!;
  }

  addItemWeight(row: number, weight: number): void {
    this.itemWeight[row]! += weight;
  }

  /**
   * Adds weight to the pair row → `to`. Only the neighbour numbers are scanned (two cache
   * lines for 32 neighbours); a full row's weights are read only when its weakest slot is
   * not known.
   */
  addPair(row: number, to: number, weight: number): void {
    const K = this.neighboursPerItem;
    const base = row * K;
    const used = this.neighbourCount[row]!;
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
      this.neighbourCount[row] = used + 1;
      return;
    }
    // A full row without `to`: the newcomer takes the first weakest slot.
    if (this.weakest[row] === UNKNOWN) this.findWeakest(row);
    const at = this.weakest[row]!;
    neighbour[base + at] = to;
    pairWeight[base + at] = weight;
    this.grew(row, at);
  }

  /** Keeps `weakest` / `nextWeakest` of a full row right after the weight at `offset` grew or was replaced. */
  private grew(row: number, offset: number): void {
    if (offset === this.weakest[row]) {
      // Still the weakest if it stays below the next weakest; otherwise that one is, and what follows it is not known.
      const next = this.nextWeakest[row]!;
      const base = row * this.neighboursPerItem;
      if (next !== UNKNOWN && weaker(this.pairWeight[base + offset]!, offset, this.pairWeight[base + next]!, next)) return;
      this.weakest[row] = next;
      this.nextWeakest[row] = UNKNOWN;
    } else if (offset === this.nextWeakest[row]) {
      this.nextWeakest[row] = UNKNOWN;
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
    this.weakest[row] = first === UNKNOWN ? 0 : first;
    this.nextWeakest[row] = second;
  }

  /** First slot of the row's neighbours in `neighbours` / `weights`. */
  neighbourStart(row: number): number {
    return row * this.neighboursPerItem;
  }

  neighbourEnd(row: number): number {
    return row * this.neighboursPerItem + this.neighbourCount[row]!;
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
    this.weakest.fill(UNKNOWN);
    this.nextWeakest.fill(UNKNOWN);
    for (let r = 0; r < this.rowsUsed; r++) {
      this.itemWeight[r]! *= factor;
      for (let s = r * K, end = s + this.neighbourCount[r]!; s < end; s++) this.pairWeight[s]! *= factor;
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
      itemWeight: bytes(this.itemWeight, n, 8),
      neighbourCount: bytes(this.neighbourCount, n, 2),
      neighbour: bytes(this.neighbour, n * K, 4),
      pairWeight: bytes(this.pairWeight, n * K, 4),
      referenced: bytes(this.referenced, n, 1),
    };
  }

  /** Throws RangeError when the snapshot has another shape or exceeds this table's bounds. */
  check(s: NeighbourTableSnapshot): void {
    const K = this.neighboursPerItem;
    if (s.neighboursPerItem !== K) throw new RangeError(`snapshot has ${s.neighboursPerItem} neighbours per item, this table ${K}`);
    if (s.rows > this.maxItems) throw new RangeError(`snapshot holds ${s.rows} items, this table at most ${this.maxItems}`);
    const sizes: [Uint8Array, number][] = [
      [s.itemOfRow, 4],
      [s.itemWeight, 8],
      [s.neighbourCount, 2],
      [s.referenced, 1],
      [s.neighbour, 4 * K],
      [s.pairWeight, 4 * K],
    ];
    if (sizes.some(([bytes, size]) => bytes.byteLength !== s.rows * size)) throw new RangeError('snapshot arrays do not match its row count');
    const items = new Int32Array(s.itemOfRow.slice().buffer);
    for (const item of items) {
      if (!(item > 0 && item < this.maxItemIndex)) throw new RangeError(`snapshot holds item ${item}, outside 1..${this.maxItemIndex - 1}`);
    }
    for (const used of new Uint16Array(s.neighbourCount.slice().buffer)) {
      if (used > K) throw new RangeError(`snapshot has a row with ${used} neighbours, more than ${K}`);
    }
    if (!(Number.isInteger(s.hand) && s.hand >= 0 && s.hand < Math.max(s.rows, 1))) throw new RangeError('snapshot clock hand is out of range');
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
    this.itemWeight = new Float64Array(rows);
    this.neighbourCount = new Uint16Array(rows);
    this.referenced = new Uint8Array(rows);
    this.weakest = new Uint16Array(rows).fill(UNKNOWN);
    this.nextWeakest = new Uint16Array(rows).fill(UNKNOWN);
    this.neighbour = new Int32Array(rows * K);
    this.pairWeight = new Float32Array(rows * K);
    this.itemOfRow.set(items);
    this.itemWeight.set(view(s.itemWeight, (b) => new Float64Array(b)));
    this.neighbourCount.set(counts);
    this.referenced.set(s.referenced);
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
      if (this.referenced[row] === 1) {
        this.referenced[row] = 0;
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
    const grow = <T extends Int32Array | Float64Array | Float32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T, n: number): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.itemOfRow = grow(this.itemOfRow, (n) => new Int32Array(n), rows);
    this.itemWeight = grow(this.itemWeight, (n) => new Float64Array(n), rows);
    this.neighbourCount = grow(this.neighbourCount, (n) => new Uint16Array(n), rows);
    this.referenced = grow(this.referenced, (n) => new Uint8Array(n), rows);
    this.weakest = grow(this.weakest, (n) => new Uint16Array(n).fill(UNKNOWN), rows);
    this.nextWeakest = grow(this.nextWeakest, (n) => new Uint16Array(n).fill(UNKNOWN), rows);
    this.neighbour = grow(this.neighbour, (n) => new Int32Array(n), rows * K);
    this.pairWeight = grow(this.pairWeight, (n) => new Float32Array(n), rows * K);
  }
}
