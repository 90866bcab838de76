import { freshCopy, type CopyBytes } from './copy-bytes.js';
/**
 * Remembers event ids for de-duplication in bounded memory and bounded (event) time.
 *
 * Ids are kept as 64-bit fingerprints (two independent 32-bit string hashes) in
 * open-addressing tables of typed arrays, not as strings in a Set: 8 bytes an id instead of
 * about 60, nothing for the garbage collector to trace, and no hashing of fresh strings by
 * the engine's Map. Two ids share a fingerprint with probability about n² / 2^65 for n ids
 * held (under one in a million for 4M ids); such a pair would be taken for a duplicate.
 *
 * Two generations: lookups check both, inserts go to the current one. The current
 * generation becomes the previous one once event time has moved `retentionMs` past its
 * start, or once it holds `maxIds / 2` ids; the old previous one is cleared whole. So an id
 * is remembered for at least `retentionMs` of event time (unless the cap forces an early
 * turn, counted in `capTurns`) and never more than `maxIds` are held.
 */
const EMPTY = 0;
const MIN_SLOTS = 1 << 12;

class FingerprintTable {
  hi: Uint32Array;
  lo: Uint32Array;
  count = 0;

  constructor(slots: number) {
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
  }

  get slots(): number {
    return this.hi.length;
  }

  has(hi: number, lo: number): boolean {
    const mask = this.hi.length - 1;
    for (let i = hi & mask; ; i = (i + 1) & mask) {
      const h = this.hi[i]!;
      if (h === EMPTY && this.lo[i] === EMPTY) return false;
      if (h === hi && this.lo[i] === lo) return true;
    }
  }

  /** Inserts a fingerprint known to be absent. The caller keeps the load at or under one half. */
  insert(hi: number, lo: number): void {
    const mask = this.hi.length - 1;
    let i = hi & mask;
    while (this.hi[i] !== EMPTY || this.lo[i] !== EMPTY) i = (i + 1) & mask;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.count++;
  }

  /** Doubles the table, re-inserting every fingerprint. */
  grow(): void {
    const { hi, lo } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(lo.length * 2);
    this.count = 0;
    for (let i = 0; i < hi.length; i++) if (hi[i] !== EMPTY || lo[i] !== EMPTY) this.insert(hi[i]!, lo[i]!);
  }

  clear(): void {
    this.hi.fill(0);
    this.lo.fill(0);
    this.count = 0;
  }
}

/** Two 32-bit hashes of a string in one pass: FNV-1a and a murmur-style mix with another seed. */
let fpHi = 0;
let fpLo = 0;
function fingerprint(id: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  b ^= b >>> 16;
  fpHi = a >>> 0;
  fpLo = b >>> 0;
  if (fpHi === EMPTY && fpLo === EMPTY) fpLo = 1; // 0/0 marks an empty slot
}

export class SeenEventIds {
  private current: FingerprintTable;
  private previous: FingerprintTable;
  private generationStart = -Infinity;
  private readonly maxSlots: number;
  /** Generations turned early because of the id cap: a sign retention is set too long for the rate. */
  capTurns = 0;

  constructor(
    private readonly retentionMs: number,
    private readonly maxIds: number,
  ) {
    // A generation holds at most maxIds / 2 ids at load one half: maxIds slots, a power of two.
    this.maxSlots = Math.max(MIN_SLOTS, 2 ** Math.ceil(Math.log2(maxIds)));
    this.current = new FingerprintTable(MIN_SLOTS);
    this.previous = new FingerprintTable(MIN_SLOTS);
  }

  /** True if the id was seen before; otherwise remembers it and returns false. */
  checkAndAdd(id: string, ts: number): boolean {
    fingerprint(id);
    const hi = fpHi;
    const lo = fpLo;
    if (this.current.has(hi, lo) || (this.previous.count > 0 && this.previous.has(hi, lo))) return true;
    if (ts >= this.generationStart + this.retentionMs) {
      this.turn(ts);
    } else if (this.current.count >= this.maxIds >> 1) {
      this.capTurns++;
      this.turn(this.generationStart);
    }
    const table = this.current;
    if (2 * (table.count + 1) > table.slots) {
      if (table.slots < this.maxSlots) table.grow();
      else {
        this.capTurns++;
        this.turn(this.generationStart);
      }
    }
    this.current.insert(hi, lo);
    return false;
  }

  get size(): number {
    return this.current.count + this.previous.count;
  }

  /** Bytes held by both generations' tables. */
  get bytes(): number {
    return (this.current.slots + this.previous.slots) * 8;
  }

  private turn(ts: number): void {
    const recycled = this.previous;
    recycled.clear();
    this.previous = this.current;
    this.current = recycled;
    this.generationStart = ts;
  }

  snapshot(copy: CopyBytes = freshCopy): SeenEventIdsSnapshot {
    const table = (t: FingerprintTable) => ({
      hi: copy(new Uint8Array(t.hi.buffer)),
      lo: copy(new Uint8Array(t.lo.buffer)),
      count: t.count,
    });
    return {
      current: table(this.current),
      previous: table(this.previous),
      generationStart: this.generationStart,
      capTurns: this.capTurns,
    };
  }

  restore(s: SeenEventIdsSnapshot): void {
    const table = (t: SeenEventIdsSnapshot['current']) => {
      const restored = new FingerprintTable(t.hi.byteLength / 4);
      restored.hi.set(new Uint32Array(t.hi.slice().buffer));
      restored.lo.set(new Uint32Array(t.lo.slice().buffer));
      restored.count = t.count;
      return restored;
    };
    this.current = table(s.current);
    this.previous = table(s.previous);
    this.generationStart = s.generationStart;
    this.capTurns = s.capTurns;
  }
}

export interface SeenEventIdsSnapshot {
  current: { hi: Uint8Array; lo: Uint8Array; count: number };
  previous: { hi: Uint8Array; lo: Uint8Array; count: number };
  generationStart: number;
  capTurns: number;
}
