import { freshCopy, type CopyBytes } from './copy-bytes.js';
/**
 * Event-time timers: one pending timer per (customer slot, timer kind), fired in due order
 * as the watermark passes them.
 *
 * A 4-ary min-heap holds (due, slot, kind) entries, each as two doubles side by side in one
 * array: the due time and `slot * KINDS + kind`. Re-arming a timer does not search the heap:
 * the per-slot `dueOf` table records the live due time, and heap entries that no longer
 * match it are stale and skipped when they surface. This keeps arm O(log n) and cancel O(1),
 * with no per-timer objects for the GC.
 *
 * Entries are ordered by due time, then slot, then kind (the key's order). Ties broken this
 * way make the firing order a function of the live timers alone, so a restored snapshot
 * (whose heap is rebuilt in another order) fires exactly as the original would have.
 *
 * Why this layout: the heap holds every customer's TTL and most buyers' churn checks (1.5
 * entries a customer with analytics), far larger than the caches, and an entry's parts in
 * three arrays cost up to three cache misses a level. Side by side, with four children
 * (half a binary heap's levels, their due times in one or two cache lines), a pop touches
 * far fewer lines; the key is read only when due times tie.
 */
const KINDS = 256;

export class EventTimers {
  /** [due, slot * KINDS + kind] per entry. */
  private heap = new Float64Array(2 * 1024);
  private heapSize = 0;
  private readonly kindNames: string[] = [];
  /** dueOf[kind][slot]: the live due time, or NaN when no timer is armed. */
  private dueOf: Float64Array[] = [];
  private slotCapacity: number;

  constructor(slotCapacity: number) {
    this.slotCapacity = slotCapacity;
  }

  /** Registers a timer kind by name; returns its id. Kinds are fixed at wiring time. */
  defineKind(name: string): number {
    const existing = this.kindNames.indexOf(name);
    if (existing >= 0) return existing;
    if (this.kindNames.length >= KINDS) throw new Error('too many timer kinds');
    this.kindNames.push(name);
    this.dueOf.push(new Float64Array(this.slotCapacity).fill(NaN));
    return this.kindNames.length - 1;
  }

  kindName(kind: number): string {
    return this.kindNames[kind]!;
  }

  get kinds(): readonly string[] {
    return this.kindNames;
  }

  get pending(): number {
    return this.heapSize;
  }

  ensureSlotCapacity(capacity: number): void {
    if (capacity <= this.slotCapacity) return;
    this.dueOf = this.dueOf.map((old) => {
      const grown = new Float64Array(capacity).fill(NaN);
      grown.set(old);
      return grown;
    });
    this.slotCapacity = capacity;
  }

  dueTime(slot: number, kind: number): number {
    return this.dueOf[kind]![slot]!;
  }

  /** Arms (or re-arms) the slot's timer of this kind. */
  arm(slot: number, kind: number, due: number): void {
    this.dueOf[kind]![slot] = due;
    this.push(due, slot, kind);
  }

  cancel(slot: number, kind: number): void {
    this.dueOf[kind]![slot] = NaN;
  }

  /** Cancels every timer of a slot (the customer was evicted). */
  cancelAll(slot: number): void {
    for (const table of this.dueOf) table[slot] = NaN;
  }

  /** Due time of the earliest entry (perhaps stale); +Infinity when empty. Cheap per-event check. */
  get nextDue(): number {
    return this.heapSize === 0 ? Infinity : this.heap[0]!;
  }

  /**
   * Pops every live timer due at or before `watermark`, in due order, calling `fire` for
   * each. The timer is disarmed before `fire`, so `fire` may re-arm it.
   */
  fireUntil(watermark: number, fire: (slot: number, kind: number, due: number) => void): number {
    let fired = 0;
    while (this.heapSize > 0 && this.heap[0]! <= watermark) {
      const due = this.heap[0]!;
      const key = this.heap[1]!;
      this.popTop();
      const kind = key % KINDS;
      const slot = (key - kind) / KINDS;
      const table = this.dueOf[kind]!;
      if (table[slot] !== due) continue; // stale: re-armed or cancelled since
      table[slot] = NaN;
      fired++;
      fire(slot, kind, due);
    }
    return fired;
  }

  private push(due: number, slot: number, kind: number): void {
    if (2 * this.heapSize === this.heap.length) this.growHeap();
    const h = this.heap;
    const key = slot * KINDS + kind;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const pd = h[2 * parent]!;
      if (due > pd || (due === pd && key >= h[2 * parent + 1]!)) break;
      h[2 * i] = pd;
      h[2 * i + 1] = h[2 * parent + 1]!;
      i = parent;
    }
    h[2 * i] = due;
    h[2 * i + 1] = key;
  }

  /** Removes the top entry: the last one sifts down from the top, by the least of four children. */
  private popTop(): void {
    const n = --this.heapSize;
    if (n === 0) return;
    const h = this.heap;
    const due = h[2 * n]!;
    const key = h[2 * n + 1]!;
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let child = first;
      let cd = h[2 * first]!;
      const end = first + 4 < n ? first + 4 : n;
      for (let c = first + 1; c < end; c++) {
        const d = h[2 * c]!;
        if (d < cd || (d === cd && h[2 * c + 1]! < h[2 * child + 1]!)) {
          child = c;
          cd = d;
        }
      }
      if (due < cd || (due === cd && key <= h[2 * child + 1]!)) break;
      h[2 * i] = cd;
      h[2 * i + 1] = h[2 * child + 1]!;
      i = child;
    }
    h[2 * i] = due;
    h[2 * i + 1] = key;
  }

  private growHeap(): void {
    const grown = new Float64Array(this.heap.length * 2);
    grown.set(this.heap);
    this.heap = grown;
  }

  /** Only live timers are kept; stale heap entries are not worth persisting. */
  snapshot(slots: number, copy: CopyBytes = freshCopy): EventTimersSnapshot {
    return {
      kinds: [...this.kindNames],
      dueOf: this.dueOf.map((t) => copy(new Uint8Array(t.buffer, 0, slots * t.BYTES_PER_ELEMENT))),
    };
  }

  restore(s: EventTimersSnapshot, slotCapacity: number): void {
    if (s.kinds.length !== this.kindNames.length || s.kinds.some((k, i) => k !== this.kindNames[i])) {
      throw new Error(
        `timer kinds differ: snapshot has [${s.kinds.join(', ')}], engine has [${this.kindNames.join(', ')}]`,
      );
    }
    this.slotCapacity = slotCapacity;
    this.heapSize = 0;
    this.dueOf = s.dueOf.map((bytes) => {
      const table = new Float64Array(slotCapacity).fill(NaN);
      table.set(new Float64Array(bytes.slice().buffer));
      return table;
    });
    this.dueOf.forEach((table, kind) => {
      for (let slot = 0; slot < table.length; slot++) {
        const due = table[slot]!;
        if (!Number.isNaN(due)) this.push(due, slot, kind);
      }
    });
  }
}

export interface EventTimersSnapshot {
  kinds: string[];
  dueOf: Uint8Array[];
}
