import type { CopyBytes } from './copy-bytes.js';

const NONE = 0xffffffff;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The customer id each slot holds, kept twice: as strings, for lookups on the hot path,
 * and as UTF-8 in one byte table with an (offset, length) span per slot, so a checkpoint
 * copies the ids with two memcpys instead of copying and encoding one string per customer.
 * An id is encoded once, when its customer is admitted.
 *
 * A slot that is cleared (eviction, erasure) has its bytes zeroed at once: an erased id
 * never reaches a later checkpoint. The table is compacted when cleared bytes reach half of it.
 */
export class SlotIds {
  private ids: (string | undefined)[] = [];
  private table = new Uint8Array(1 << 16);
  private used = 0;
  private cleared = 0;
  /** Per slot: offset into `table` and byte length; offset `NONE` when the slot holds no id. */
  private spans = new Uint32Array(2 * 1024).fill(NONE);

  /** `compactAfter`: cleared bytes below which the table is never compacted. */
  constructor(private readonly compactAfter = 1 << 16) {}

  get(slot: number): string | undefined {
    return this.ids[slot];
  }

  set(slot: number, id: string): void {
    if (this.ids[slot] !== undefined) this.clear(slot);
    this.ids[slot] = id;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.ensureTable(this.used + 3 * id.length);
    const { written } = encoder.encodeInto(id, this.table.subarray(this.used));
    this.ensureSpans(slot);
    this.spans[2 * slot] = this.used;
    this.spans[2 * slot + 1] = written;
    this.used += written;
  }

  clear(slot: number): void {
    if (this.ids[slot] === undefined) return;
    this.ids[slot] = undefined;
    const at = this.spans[2 * slot]!;
    const length = this.spans[2 * slot + 1]!;
    this.table.fill(0, at, at + length);
    this.spans[2 * slot] = NONE;
    this.spans[2 * slot + 1] = 0;
    this.cleared += length;
    if (this.cleared > this.compactAfter && this.cleared * 2 > this.used) this.compact();
  }

  /** The ids of slots `[0, slots)` as two byte buffers made with `copy`. */
  snapshot(slots: number, copy: CopyBytes): SlotIdsSnapshot {
    this.ensureSpans(Math.max(0, slots - 1));
    return {
      table: copy(this.table.subarray(0, this.used)),
      spans: copy(new Uint8Array(this.spans.buffer, 0, 2 * slots * 4)),
    };
  }

  /** Restores `s`; calls `each` for every slot holding an id. */
  restore(s: SlotIdsSnapshot, each: (slot: number, id: string) => void): void {
    const spans = new Uint32Array(s.spans.slice().buffer);
    const slots = spans.length / 2;
    this.ids = new Array<string | undefined>(slots);
    this.table = new Uint8Array(Math.max(1 << 16, s.table.byteLength * 2));
    this.table.set(s.table);
    this.used = s.table.byteLength;
    this.cleared = 0;
    this.spans = new Uint32Array(Math.max(2 * 1024, 2 * slots)).fill(NONE);
    this.spans.set(spans);
    let live = 0;
    for (let slot = 0; slot < slots; slot++) {
      const at = spans[2 * slot]!;
      if (at === NONE) continue;
      const length = spans[2 * slot + 1]!;
      if (at + length > this.used) throw new Error('customer id span outside the id table');
      const id = decoder.decode(this.table.subarray(at, at + length));
      this.ids[slot] = id;
      live += length;
      each(slot, id);
    }
    this.cleared = this.used - live;
  }

  private ensureTable(bytes: number): void {
    if (bytes <= this.table.byteLength) return;
    let size = this.table.byteLength * 2;
    while (size < bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.table.subarray(0, this.used));
    this.table = grown;
  }

  private ensureSpans(slot: number): void {
    if (2 * slot + 1 < this.spans.length) return;
    let size = this.spans.length * 2;
    while (2 * slot + 1 >= size) size *= 2;
    const grown = new Uint32Array(size).fill(NONE);
    grown.set(this.spans);
    this.spans = grown;
  }

  /** Rewrites the table with the live ids only. */
  private compact(): void {
    const table = new Uint8Array(Math.max(1 << 16, (this.used - this.cleared) * 2));
    let used = 0;
    for (let slot = 0; 2 * slot < this.spans.length; slot++) {
      const at = this.spans[2 * slot]!;
      if (at === NONE) continue;
      const length = this.spans[2 * slot + 1]!;
      table.set(this.table.subarray(at, at + length), used);
      this.spans[2 * slot] = used;
      used += length;
    }
    this.table = table;
    this.used = used;
    this.cleared = 0;
  }
}

export interface SlotIdsSnapshot {
  /** UTF-8 ids, back to back (cleared ones zeroed). */
  table: Uint8Array;
  /** Per slot, u32 offset and u32 length in machine byte order; offset 0xffffffff: no id. */
  spans: Uint8Array;
}
