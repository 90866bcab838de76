import type { WindowSpec } from '../config/schema.js';
import { eventTypeIndex, orderRevenue, type CanonicalEvent } from '../schema/event.js';
import { productBit, type ActivityResult } from './activity-aggregate.js';
import { ProductDictionary } from './product-dictionary.js';
import type { StateSignal } from './signals.js';
import { SlotColumns } from './slot-columns.js';
import { EventTimers } from './timers.js';
import { WindowRings } from './window-rings.js';

export interface CustomerStoreOptions {
  readonly windows: readonly WindowSpec[];
  readonly sessionGapMs: number;
  readonly ttlMs: number;
  readonly recentItems: number;
  readonly maxProducts: number;
  readonly maxCustomers: number;
  readonly initialCapacity?: number;
}

/** What a customer did with a product, as kept in the recent-items ring. */
export const RecentAction = { viewed: 1, carted: 2, uncarted: 3, purchased: 4 } as const;
const actionNames = ['', 'viewed', 'carted', 'uncarted', 'purchased'] as const;
export type RecentActionName = Exclude<(typeof actionNames)[number], ''>;

/** Timer kinds keyed state arms itself; analytics define more with `timers.defineKind`. */
export const SESSION_END_TIMER = 'session_end';
export const TTL_TIMER = 'ttl';

/** A customer's state as plain data: what dumps, the HTTP API and analytics read. */
export interface CustomerView {
  customerId: string;
  firstSeen: number;
  lastSeen: number;
  events: number;
  purchases: number;
  revenue: number;
  /** Event time of the latest purchase, or null. */
  lastPurchase: number | null;
  /** Gaps between consecutive purchases (ms): count, mean, sample variance (Welford). */
  purchaseGap: { count: number; meanMs: number; varianceMs2: number };
  session: { count: number; open: boolean; start: number | null; last: number | null; events: number };
  cartQuantity: number;
  /** Most recent first. */
  recentItems: { productId: string; action: RecentActionName }[];
  windows: Record<string, ActivityResult>;
}

const NO_SLOT = -1;

/**
 * Keyed per-customer state, like Flink's keyed state: one slot per customer in
 * struct-of-arrays columns, plus bucketed windows, sessions by inactivity gap, purchase gap
 * statistics, a ring of recent items and event-time timers. A `Map` from customer id to slot
 * is the only per-customer object. Idle customers are evicted by an event-time TTL timer.
 */
export class CustomerStore {
  readonly timers: EventTimers;
  readonly products: ProductDictionary;
  readonly windows: WindowRings;
  private readonly slots = new Map<string, number>();
  private ids: (string | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private highWater = 0;
  private readonly cols: SlotColumns<
    | 'firstSeen'
    | 'lastSeen'
    | 'events'
    | 'purchases'
    | 'revenue'
    | 'lastPurchase'
    | 'gapCount'
    | 'gapMean'
    | 'gapM2'
    | 'sessionStart'
    | 'sessionLast'
    | 'sessionEvents'
    | 'sessions'
    | 'cartQuantity'
    | 'recentProducts'
    | 'recentActions'
    | 'recentHead'
  >;
  private readonly sessionEndKind: number;
  private readonly ttlKind: number;
  private readonly timerHandlers: ((slot: number, due: number, wm: number, out: StateSignal[]) => void)[] = [];
  private readonly R: number;
  evictions = 0;

  constructor(private readonly opts: CustomerStoreOptions) {
    const capacity = Math.max(16, opts.initialCapacity ?? 1024);
    this.R = opts.recentItems;
    this.cols = new SlotColumns(
      {
        firstSeen: { ctor: Float64Array, width: 1 },
        lastSeen: { ctor: Float64Array, width: 1 },
        events: { ctor: Uint32Array, width: 1 },
        purchases: { ctor: Uint32Array, width: 1 },
        revenue: { ctor: Float64Array, width: 1 },
        lastPurchase: { ctor: Float64Array, width: 1, initial: NaN },
        gapCount: { ctor: Uint32Array, width: 1 },
        gapMean: { ctor: Float64Array, width: 1 },
        gapM2: { ctor: Float64Array, width: 1 },
        sessionStart: { ctor: Float64Array, width: 1 },
        sessionLast: { ctor: Float64Array, width: 1 },
        sessionEvents: { ctor: Uint32Array, width: 1 },
        sessions: { ctor: Uint32Array, width: 1 },
        cartQuantity: { ctor: Uint32Array, width: 1 },
        recentProducts: { ctor: Uint32Array, width: this.R },
        recentActions: { ctor: Uint8Array, width: this.R },
        recentHead: { ctor: Uint8Array, width: 1 },
      },
      capacity,
    );
    this.windows = new WindowRings(opts.windows, capacity);
    this.timers = new EventTimers(capacity);
    this.products = new ProductDictionary(opts.maxProducts);
    this.sessionEndKind = this.timers.defineKind(SESSION_END_TIMER);
    this.ttlKind = this.timers.defineKind(TTL_TIMER);
    this.timerHandlers[this.sessionEndKind] = (slot, due, wm, out) => this.onSessionEnd(slot, due, wm, out);
    this.timerHandlers[this.ttlKind] = (slot, due, wm, out) => this.onTtl(slot, due, wm, out);
  }

  get size(): number {
    return this.slots.size;
  }

  get capacity(): number {
    return this.cols.capacity;
  }

  /** Bytes held in typed arrays (the Map, ids and products are on the JS heap besides). */
  get columnBytes(): number {
    return this.cols.bytes + this.windows.bytes;
  }

  /**
   * Defines a timer kind whose firing keyed state reports as a `timer` signal, for
   * analytics ("nothing happened by T"). Returns the kind id for `armTimer`.
   */
  defineSignalTimer(name: string): number {
    const kind = this.timers.defineKind(name);
    this.timerHandlers[kind] ??= (slot, due, _wm, out) =>
      out.push({ kind: 'timer', timer: name, customerId: this.ids[slot]!, due });
    return kind;
  }

  armTimer(customerId: string, kind: number, due: number): boolean {
    const slot = this.slots.get(customerId);
    if (slot === undefined) return false;
    this.timers.arm(slot, kind, due);
    return true;
  }

  /** Fires every timer the watermark has passed, in due order. */
  advanceTo(watermark: number, out: StateSignal[]): void {
    if (this.timers.nextDue > watermark) return;
    this.timers.fireUntil(watermark, (slot, kind, due) => this.timerHandlers[kind]!(slot, due, watermark, out));
  }

  /**
   * Applies one event. Returns false only when the customer is new and state is full
   * (limits.maxCustomers); the caller rejects the event then.
   */
  apply(e: CanonicalEvent, out: StateSignal[]): boolean {
    let slot = this.slots.get(e.customerId) ?? NO_SLOT;
    const ts = e.ts;
    if (slot === NO_SLOT) {
      slot = this.admit(e.customerId, ts);
      if (slot === NO_SLOT) return false;
    }
    const cols = this.cols;
    const lastSeen = cols.col<Float64Array>('lastSeen');
    const firstSeen = cols.col<Float64Array>('firstSeen');
    if (ts > lastSeen[slot]!) lastSeen[slot] = ts;
    if (ts < firstSeen[slot]!) firstSeen[slot] = ts;
    cols.col<Uint32Array>('events')[slot]!++;

    let revenue = 0;
    let bit = 0;
    switch (e.type) {
      case 'product_view':
        bit = productBit(this.pushRecent(slot, e.productId, RecentAction.viewed));
        break;
      case 'add_to_cart':
        this.pushRecent(slot, e.productId, RecentAction.carted);
        cols.col<Uint32Array>('cartQuantity')[slot]! += e.quantity ?? 1;
        break;
      case 'remove_from_cart': {
        this.pushRecent(slot, e.productId, RecentAction.uncarted);
        const cart = cols.col<Uint32Array>('cartQuantity');
        cart[slot] = Math.max(0, cart[slot]! - (e.quantity ?? 1));
        break;
      }
      case 'purchase':
        revenue = orderRevenue(e);
        for (const item of e.items) this.pushRecent(slot, item.productId, RecentAction.purchased);
        this.recordPurchase(slot, ts, revenue);
        break;
      default:
        break;
    }
    this.windows.add(slot, ts, eventTypeIndex[e.type], revenue, bit);
    this.trackSession(slot, ts, out);
    return true;
  }

  private admit(customerId: string, ts: number): number {
    if (this.slots.size >= this.opts.maxCustomers) return NO_SLOT;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.highWater++;
      if (slot >= this.cols.capacity) this.grow(this.cols.capacity * 2);
    } else {
      this.cols.reset(slot);
      this.windows.reset(slot);
    }
    this.slots.set(customerId, slot);
    this.ids[slot] = customerId;
    this.cols.col<Float64Array>('firstSeen')[slot] = ts;
    this.cols.col<Float64Array>('lastSeen')[slot] = ts;
    this.timers.arm(slot, this.ttlKind, ts + this.opts.ttlMs);
    return slot;
  }

  private grow(capacity: number): void {
    this.cols.grow(capacity);
    this.windows.grow(capacity);
    this.timers.ensureSlotCapacity(capacity);
  }

  private recordPurchase(slot: number, ts: number, revenue: number): void {
    const cols = this.cols;
    cols.col<Uint32Array>('purchases')[slot]!++;
    cols.col<Float64Array>('revenue')[slot]! += revenue;
    const lastPurchase = cols.col<Float64Array>('lastPurchase');
    const prev = lastPurchase[slot]!;
    if (Number.isNaN(prev)) {
      lastPurchase[slot] = ts;
    } else if (ts > prev) {
      // Welford's update: mean and M2 of the gaps without keeping the gaps.
      const gap = ts - prev;
      const n = ++cols.col<Uint32Array>('gapCount')[slot]!;
      const mean = cols.col<Float64Array>('gapMean');
      const delta = gap - mean[slot]!;
      mean[slot]! += delta / n;
      cols.col<Float64Array>('gapM2')[slot]! += delta * (gap - mean[slot]!);
      lastPurchase[slot] = ts;
    }
    // An older purchase arriving late counts in totals and windows but is not a gap.
  }

  /** Returns the interned product id. */
  private pushRecent(slot: number, productId: string, action: number): number {
    const product = this.products.intern(productId);
    const R = this.R;
    const heads = this.cols.col<Uint8Array>('recentHead');
    const products = this.cols.col<Uint32Array>('recentProducts');
    const actions = this.cols.col<Uint8Array>('recentActions');
    const head = heads[slot]!;
    const last = slot * R + ((head + R - 1) % R);
    if (products[last] === product && actions[last] === action) return product; // a repeat adds nothing
    products[slot * R + head] = product;
    actions[slot * R + head] = action;
    heads[slot] = (head + 1) % R;
    return product;
  }

  private trackSession(slot: number, ts: number, out: StateSignal[]): void {
    const gap = this.opts.sessionGapMs;
    const cols = this.cols;
    const start = cols.col<Float64Array>('sessionStart');
    const last = cols.col<Float64Array>('sessionLast');
    const events = cols.col<Uint32Array>('sessionEvents');
    if (events[slot]! > 0 && ts > last[slot]! + gap) {
      this.closeSession(slot, ts, out); // a new session began before the timer saw the old one end
    }
    if (events[slot] === 0) {
      start[slot] = ts;
      last[slot] = ts;
      events[slot] = 1;
      cols.col<Uint32Array>('sessions')[slot]!++;
      this.timers.arm(slot, this.sessionEndKind, ts + gap);
    } else if (ts >= start[slot]! - gap) {
      if (ts < start[slot]!) start[slot] = ts;
      if (ts > last[slot]!) last[slot] = ts; // the armed timer re-arms itself lazily
      events[slot]!++;
    }
    // else: the event belongs to a session that already closed; windows have it, sessions do not.
  }

  private closeSession(slot: number, at: number, out: StateSignal[]): void {
    const events = this.cols.col<Uint32Array>('sessionEvents');
    out.push({
      kind: 'session_closed',
      customerId: this.ids[slot]!,
      start: this.cols.col<Float64Array>('sessionStart')[slot]!,
      end: this.cols.col<Float64Array>('sessionLast')[slot]!,
      events: events[slot]!,
      at,
    });
    events[slot] = 0;
    this.timers.cancel(slot, this.sessionEndKind);
  }

  private onSessionEnd(slot: number, due: number, wm: number, out: StateSignal[]): void {
    if (this.cols.col<Uint32Array>('sessionEvents')[slot] === 0) return;
    const end = this.cols.col<Float64Array>('sessionLast')[slot]! + this.opts.sessionGapMs;
    if (end > due) {
      if (end <= wm) this.closeSession(slot, wm, out);
      else this.timers.arm(slot, this.sessionEndKind, end);
    } else {
      this.closeSession(slot, wm, out);
    }
  }

  private onTtl(slot: number, due: number, wm: number, out: StateSignal[]): void {
    const expires = this.cols.col<Float64Array>('lastSeen')[slot]! + this.opts.ttlMs;
    if (expires > wm) {
      this.timers.arm(slot, this.ttlKind, Math.max(expires, due));
      return;
    }
    const customerId = this.ids[slot]!;
    if (this.cols.col<Uint32Array>('sessionEvents')[slot]! > 0) this.closeSession(slot, wm, out);
    out.push({ kind: 'evicted', customerId, lastSeen: this.cols.col<Float64Array>('lastSeen')[slot]!, at: wm });
    this.timers.cancelAll(slot);
    this.slots.delete(customerId);
    this.ids[slot] = undefined;
    this.freeSlots.push(slot);
    this.evictions++;
  }

  has(customerId: string): boolean {
    return this.slots.has(customerId);
  }

  customerIds(): IterableIterator<string> {
    return this.slots.keys();
  }

  /** The customer's state with windows evaluated as of event time `asOf`. */
  view(customerId: string, asOf: number): CustomerView | undefined {
    const slot = this.slots.get(customerId);
    if (slot === undefined) return undefined;
    const c = this.cols;
    const f64 = (n: Parameters<typeof c.col>[0]) => c.col<Float64Array>(n)[slot]!;
    const u32 = (n: Parameters<typeof c.col>[0]) => c.col<Uint32Array>(n)[slot]!;
    const gapCount = u32('gapCount');
    const lastPurchase = f64('lastPurchase');
    const sessionOpen = u32('sessionEvents') > 0;
    const recentItems: CustomerView['recentItems'] = [];
    const head = c.col<Uint8Array>('recentHead')[slot]!;
    for (let k = 1; k <= this.R; k++) {
      const i = slot * this.R + ((head - k + this.R) % this.R);
      const action = c.col<Uint8Array>('recentActions')[i]!;
      if (action === 0) break;
      recentItems.push({
        productId: this.products.name(c.col<Uint32Array>('recentProducts')[i]!),
        action: actionNames[action] as RecentActionName,
      });
    }
    const windows: Record<string, ActivityResult> = {};
    this.windows.specs.forEach((spec, r) => (windows[spec.name] = this.windows.result(slot, r, asOf)));
    return {
      customerId,
      firstSeen: f64('firstSeen'),
      lastSeen: f64('lastSeen'),
      events: u32('events'),
      purchases: u32('purchases'),
      revenue: f64('revenue'),
      lastPurchase: Number.isNaN(lastPurchase) ? null : lastPurchase,
      purchaseGap: {
        count: gapCount,
        meanMs: f64('gapMean'),
        varianceMs2: gapCount > 1 ? f64('gapM2') / (gapCount - 1) : 0,
      },
      session: {
        count: u32('sessions'),
        open: sessionOpen,
        start: sessionOpen ? f64('sessionStart') : null,
        last: sessionOpen ? f64('sessionLast') : null,
        events: u32('sessionEvents'),
      },
      cartQuantity: u32('cartQuantity'),
      recentItems,
      windows,
    };
  }

  snapshot(): CustomerStoreSnapshot {
    return {
      windows: this.opts.windows.map((w) => ({ ...w })),
      recentItems: this.R,
      highWater: this.highWater,
      ids: this.ids.slice(0, this.highWater).map((id) => id ?? null),
      freeSlots: [...this.freeSlots],
      columns: this.cols.snapshot(this.highWater),
      rings: this.windows.snapshot(this.highWater),
      timers: this.timers.snapshot(this.highWater),
      products: this.products.snapshot(),
      evictions: this.evictions,
    };
  }

  restore(s: CustomerStoreSnapshot): void {
    const sameWindows = JSON.stringify(s.windows) === JSON.stringify(this.opts.windows.map((w) => ({ ...w })));
    if (!sameWindows || s.recentItems !== this.R) {
      throw new Error('snapshot was taken with different window or recent-item settings');
    }
    let capacity = Math.max(16, this.cols.capacity);
    while (capacity < s.highWater) capacity *= 2;
    this.cols.restore(s.columns, capacity);
    this.windows.restore(s.rings, capacity);
    this.products.restore(s.products);
    this.timers.restore(s.timers, capacity);
    this.highWater = s.highWater;
    this.slots.clear();
    this.freeSlots.length = 0;
    this.ids = s.ids.map((id) => id ?? undefined);
    this.ids.forEach((id, slot) => id !== undefined && this.slots.set(id, slot));
    this.freeSlots.push(...s.freeSlots);
    this.evictions = s.evictions;
  }
}

export interface CustomerStoreSnapshot {
  windows: WindowSpec[];
  recentItems: number;
  highWater: number;
  ids: (string | null)[];
  freeSlots: number[];
  columns: Record<string, Uint8Array>;
  rings: Record<string, Uint8Array>[];
  timers: { kinds: string[]; dueOf: Uint8Array[] };
  products: string[];
  evictions: number;
}
