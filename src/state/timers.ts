/**
 * Event-time timers: one pending timer per (customer slot, timer kind), fired in due order
 * as the watermark passes them.
 *
 * A binary min-heap over parallel typed arrays holds (due, slot, kind) entries. Re-arming
 * a timer does not search the heap: the per-slot `dueOf` table records the live due time,
 * and heap entries that no longer match it are stale and skipped when they surface. This
 * keeps arm O(log n) and cancel O(1), with no per-timer objects for the GC.
 */
/**
 * Total order on entries: due time, then slot, then kind. Ties broken this way make the
 * firing order a function of the live timers alone, so a restored snapshot (whose heap is
 * rebuilt in another order) fires exactly as the original would have.
 */
function before(dueA: number, slotA: number, kindA: number, dueB: number, slotB: number, kindB: number): boolean {
  if (dueA !== dueB) return dueA < dueB;
  if (slotA !== slotB) return slotA < slotB;
  return kindA < kindB;
}

export class EventTimers {
  private heapDue = new Float64Array(1024);
  private heapSlot = new Int32Array(1024);
  private heapKind = new Uint8Array(1024);
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
    if (this.kindNames.length >= 255) throw new Error('too many timer kinds');
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
    return this.heapSize === 0 ? Infinity : this.heapDue[0]!;
  }

  /**
   * Pops every live timer due at or before `watermark`, in due order, calling `fire` for
   * each. The timer is disarmed before `fire`, so `fire` may re-arm it.
   */
  fireUntil(watermark: number, fire: (slot: number, kind: number, due: number) => void): number {
    let fired = 0;
    while (this.heapSize > 0 && this.heapDue[0]! <= watermark) {
      const due = this.heapDue[0]!;
      const slot = this.heapSlot[0]!;
      const kind = this.heapKind[0]!;
      this.popTop();
      const table = this.dueOf[kind]!;
      if (table[slot] !== due) continue; // stale: re-armed or cancelled since
      table[slot] = NaN;
      fired++;
      fire(slot, kind, due);
    }
    return fired;
  }

  private push(due: number, slot: number, kind: number): void {
    if (this.heapSize === this.heapDue.length) this.growHeap();
    let i = this.heapSize++;
    const hd = this.heapDue;
    const hs = this.heapSlot;
    const hk = this.heapKind;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(due, slot, kind, hd[parent]!, hs[parent]!, hk[parent]!)) break;
      hd[i] = hd[parent]!;
      hs[i] = hs[parent]!;
      hk[i] = hk[parent]!;
      i = parent;
    }
    hd[i] = due;
    hs[i] = slot;
    hk[i] = kind;
  }

  private popTop(): void {
    const n = --this.heapSize;
    if (n === 0) return;
    const hd = this.heapDue;
    const hs = this.heapSlot;
    const hk = this.heapKind;
    const due = hd[n]!;
    const slot = hs[n]!;
    const kind = hk[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(hd[child + 1]!, hs[child + 1]!, hk[child + 1]!, hd[child]!, hs[child]!, hk[child]!)) {
        child++;
      }
      if (!before(hd[child]!, hs[child]!, hk[child]!, due, slot, kind)) break;
      hd[i] = hd[child]!;
      hs[i] = hs[child]!;
      hk[i] = hk[child]!;
      i = child;
    }
    hd[i] = due;
    hs[i] = slot;
    hk[i] = kind;
  }

  private growHeap(): void {
    const cap = this.heapDue.length * 2;
    const d = new Float64Array(cap);
    d.set(this.heapDue);
    const s = new Int32Array(cap);
    s.set(this.heapSlot);
    const k = new Uint8Array(cap);
    k.set(this.heapKind);
    this.heapDue = d;
    this.heapSlot = s;
    this.heapKind = k;
  }

  /** Only live timers are kept; stale heap entries are not worth persisting. */
  snapshot(slots: number): EventTimersSnapshot {
    return {
      kinds: [...this.kindNames],
      dueOf: this.dueOf.map((t) => new Uint8Array(t.buffer, 0, slots * t.BYTES_PER_ELEMENT).slice()),
    };
  }

  restore(s: EventTimersSnapshot, slotCapacity: number): void {
    if (s.kinds.length !== this.kindNames.length || s.kinds.some((k, i) => k !== this.kindNames[i])) {
      throw new Error(`timer kinds differ: snapshot has [${s.kinds.join(', ')}], engine has [${this.kindNames.join(', ')}]`);
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
