import { freshCopy, type CopyBytes } from './copy-bytes.js';
import type { WindowSpec } from './config.js';
import { eventTypeIndex, orderRevenue, type CanonicalEvent } from '../core/event.js';
import type { ActivityResult } from './activity-aggregate.js';
import { ProductDictionary } from './product-dictionary.js';
import type { StateSignal } from './signals.js';
import { RecordLayout, SlotRecords } from './slot-records.js';
import { EventTimers, type EventTimersSnapshot } from './timers.js';
import { WindowRings } from './window-rings.js';
import { SlotIds, type SlotIdsSnapshot } from './slot-ids.js';

export interface CustomerStoreOptions {
  readonly windows: readonly WindowSpec[];
  readonly sessionGapMs: number;
  readonly ttlMs: number;
  /** TTL for customers who have bought at least once; longer, since analytics need their history. */
  readonly buyerTtlMs: number;
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
  /** Purchase transactions: all purchases on one UTC day are one (the BG/NBD convention). */
  transactions: TransactionStats | null;
  session: { count: number; open: boolean; start: number | null; last: number | null; events: number };
  cartQuantity: number;
  /** Most recent first. */
  recentItems: { productId: string; action: RecentActionName }[];
  windows: Record<string, ActivityResult>;
}

/**
 * A buyer's transactions, the sufficient statistics of BG/NBD and Gamma-Gamma. A transaction
 * is a UTC day with purchases; `repeat` counts those after the first (the models' x).
 */
export interface TransactionStats {
  /** Event time of the first purchase. */
  first: number;
  /** Event time of the latest purchase. */
  last: number;
  repeat: number;
  /** Value of the first day's purchases, which Gamma-Gamma leaves out. */
  firstValue: number;
  /** Value of the repeat transactions together. */
  repeatValue: number;
}

export interface SlotListener {
  admitted(slot: number): void;
  evicting(slot: number): void;
}

const NO_SLOT = -1;
const DAY_MS = 86_400_000;

/** Scalar fields of a customer's record, by type. */
const F64_FIELDS = [
  'firstSeen',
  'lastSeen',
  'revenue',
  'lastPurchase',
  'firstPurchase',
  'firstDayValue',
  'gapMean',
  'gapM2',
  'sessionStart',
  'sessionLast',
] as const;
const U32_FIELDS = [
  'events',
  'purchases',
  'transactions',
  'gapCount',
  'sessionEvents',
  'sessions',
  'cartQuantity',
] as const;
type F64Field = (typeof F64_FIELDS)[number];
type U32Field = (typeof U32_FIELDS)[number];

/**
 * Keyed per-customer state, like Flink's keyed state: one fixed-size record per customer
 * (`SlotRecords`) holding lifetime totals, purchase-gap statistics, the open session, the
 * cart, a ring of recent items and the window rings; event-time timers beside it. A `Map`
 * from customer id to slot is the only per-customer object. Idle customers are evicted by
 * an event-time TTL timer and their slot is reused.
 */
export class CustomerStore {
  readonly timers: EventTimers;
  readonly products: ProductDictionary;
  readonly windows: WindowRings;
  private readonly records: SlotRecords;
  private readonly slots = new Map<string, number>();
  private readonly ids = new SlotIds();
  private readonly freeSlots: number[] = [];
  private highWater = 0;
  /** Element offsets of the scalar fields inside a record. */
  private readonly f: Readonly<Record<F64Field | U32Field, number>>;
  private readonly recentProducts: number; // u32 × R
  private readonly recentActions: number; // u8 × R
  private readonly recentHead: number; // u8
  private readonly s64: number;
  private readonly s32: number;
  private readonly s8: number;
  private readonly R: number;
  private readonly sessionEndKind: number;
  private readonly ttlKind: number;
  private readonly timerHandlers: ((slot: number, due: number, wm: number, out: StateSignal[]) => void)[] = [];
  evictions = 0;
  private readonly slotListeners: SlotListener[] = [];

  constructor(private readonly opts: CustomerStoreOptions) {
    const capacity = Math.max(16, opts.initialCapacity ?? 1024);
    this.R = opts.recentItems;
    const layout = new RecordLayout();
    for (const name of F64_FIELDS)
      layout.add(name, 'f64', 1, name === 'lastPurchase' || name === 'firstPurchase' ? NaN : 0);
    for (const name of U32_FIELDS) layout.add(name, 'u32');
    layout.add('recentProducts', 'u32', this.R).add('recentActions', 'u8', this.R).add('recentHead', 'u8');
    this.windows = new WindowRings(opts.windows, layout);
    layout.seal();
    this.records = new SlotRecords(layout, capacity);
    this.windows.bind(this.records);
    this.f = Object.fromEntries([...F64_FIELDS, ...U32_FIELDS].map((n) => [n, layout.offset(n)])) as Record<
      F64Field | U32Field,
      number
    >;
    this.recentProducts = layout.offset('recentProducts');
    this.recentActions = layout.offset('recentActions');
    this.recentHead = layout.offset('recentHead');
    this.s64 = layout.stride('f64');
    this.s32 = layout.stride('u32');
    this.s8 = layout.stride('u8');
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
    return this.records.capacity;
  }

  /** Slots ever handed out (in use or free): what a snapshot covers. */
  get slotsInUse(): number {
    return this.highWater;
  }

  get bytesPerRecord(): number {
    return this.records.layout.bytesPerRecord;
  }

  /** Bytes held in records (the Map, ids, timers and products are besides). */
  get recordBytes(): number {
    return this.records.bytes;
  }

  /**
   * Defines a timer kind whose firing keyed state reports as a `timer` signal, for
   * analytics ("nothing happened by T"). Returns the kind id for `armTimer`.
   */
  defineSignalTimer(name: string): number {
    const kind = this.timers.defineKind(name);
    this.timerHandlers[kind] ??= (slot, due, _wm, out) =>
      out.push({ kind: 'timer', timer: name, customerId: this.ids.get(slot)!, slot, due });
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
   * Applies one event and returns the customer's slot, or -1 only when the customer is new
   * and state is full (limits.maxCustomers); the caller rejects the event then.
   */
  apply(e: CanonicalEvent, out: StateSignal[]): number {
    let slot = this.slots.get(e.customerId) ?? NO_SLOT;
    const ts = e.ts;
    if (slot === NO_SLOT) {
      slot = this.admit(e.customerId, ts);
      if (slot === NO_SLOT) return NO_SLOT;
    }
    const { f64, u32 } = this.records;
    const f = this.f;
    const b64 = slot * this.s64;
    const b32 = slot * this.s32;
    if (ts > f64[b64 + f.lastSeen]!) f64[b64 + f.lastSeen] = ts;
    if (ts < f64[b64 + f.firstSeen]!) f64[b64 + f.firstSeen] = ts;
    u32[b32 + f.events]!++;

    let revenue = 0;
    let bit = 0;
    switch (e.type) {
      case 'product_view':
        bit = this.products.bitOf(this.pushRecent(slot, e.productId, RecentAction.viewed));
        break;
      case 'add_to_cart':
        this.pushRecent(slot, e.productId, RecentAction.carted);
        u32[b32 + f.cartQuantity]! += e.quantity ?? 1;
        break;
      case 'remove_from_cart':
        this.pushRecent(slot, e.productId, RecentAction.uncarted);
        u32[b32 + f.cartQuantity] = Math.max(0, u32[b32 + f.cartQuantity]! - (e.quantity ?? 1));
        break;
      case 'purchase':
        revenue = orderRevenue(e);
        for (const item of e.items) this.pushRecent(slot, item.productId, RecentAction.purchased);
        this.recordPurchase(slot, ts, revenue);
        u32[b32 + f.cartQuantity] = 0;
        break;
      default:
        break;
    }
    this.windows.add(slot, ts, eventTypeIndex[e.type], revenue, bit);
    this.trackSession(slot, ts, out);
    return slot;
  }

  private admit(customerId: string, ts: number): number {
    if (this.slots.size >= this.opts.maxCustomers) return NO_SLOT;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.highWater++;
      if (slot >= this.records.capacity) this.grow(this.records.capacity * 2);
    }
    this.records.reset(slot);
    for (const l of this.slotListeners) l.admitted(slot);
    this.slots.set(customerId, slot);
    this.ids.set(slot, customerId);
    const b64 = slot * this.s64;
    this.records.f64[b64 + this.f.firstSeen] = ts;
    this.records.f64[b64 + this.f.lastSeen] = ts;
    this.timers.arm(slot, this.ttlKind, ts + this.opts.ttlMs);
    return slot;
  }

  private grow(capacity: number): void {
    this.records.grow(capacity);
    this.timers.ensureSlotCapacity(capacity);
  }

  private recordPurchase(slot: number, ts: number, revenue: number): void {
    const { f64, u32 } = this.records;
    const f = this.f;
    const b64 = slot * this.s64;
    const b32 = slot * this.s32;
    u32[b32 + f.purchases]!++;
    f64[b64 + f.revenue]! += revenue;
    this.recordTransaction(slot, ts, revenue);
    const prev = f64[b64 + f.lastPurchase]!;
    if (Number.isNaN(prev)) {
      f64[b64 + f.lastPurchase] = ts;
    } else if (ts > prev) {
      // Welford's update: mean and M2 of the gaps without keeping the gaps.
      const gap = ts - prev;
      const n = ++u32[b32 + f.gapCount]!;
      const delta = gap - f64[b64 + f.gapMean]!;
      f64[b64 + f.gapMean]! += delta / n;
      f64[b64 + f.gapM2]! += delta * (gap - f64[b64 + f.gapMean]!);
      f64[b64 + f.lastPurchase] = ts;
    }
    // An older purchase arriving late counts in totals and windows but is not a gap.
  }

  /**
   * Counts purchase days. Called before `lastPurchase` moves. In order, every case is exact;
   * a purchase arriving out of order on a day between the first and the latest counts as a
   * new transaction even if that day already had one (the days themselves are not kept).
   */
  private recordTransaction(slot: number, ts: number, revenue: number): void {
    const { f64, u32 } = this.records;
    const f = this.f;
    const b64 = slot * this.s64;
    const b32 = slot * this.s32;
    const first = f64[b64 + f.firstPurchase]!;
    if (Number.isNaN(first)) {
      f64[b64 + f.firstPurchase] = ts;
      f64[b64 + f.firstDayValue] = revenue;
      u32[b32 + f.transactions] = 1;
      return;
    }
    const day = Math.floor(ts / DAY_MS);
    const firstDay = Math.floor(first / DAY_MS);
    if (day === firstDay) {
      f64[b64 + f.firstDayValue]! += revenue;
      if (ts < first) f64[b64 + f.firstPurchase] = ts;
    } else if (day < firstDay) {
      // An earlier first day arrived late: the old first day becomes a repeat transaction.
      f64[b64 + f.firstPurchase] = ts;
      f64[b64 + f.firstDayValue] = revenue;
      u32[b32 + f.transactions]!++;
    } else if (day !== Math.floor(f64[b64 + f.lastPurchase]! / DAY_MS)) {
      u32[b32 + f.transactions]!++;
    }
  }

  /** Records the product in the recent-items ring; returns its interned id. */
  private pushRecent(slot: number, productId: string, action: number): number {
    const product = this.products.intern(productId);
    const R = this.R;
    const { u32, u8 } = this.records;
    const headAt = slot * this.s8 + this.recentHead;
    const p0 = slot * this.s32 + this.recentProducts;
    const a0 = slot * this.s8 + this.recentActions;
    const head = u8[headAt]!;
    const last = (head + R - 1) % R;
    if (u32[p0 + last] === product && u8[a0 + last] === action) return product; // a repeat adds nothing
    u32[p0 + head] = product;
    u8[a0 + head] = action;
    u8[headAt] = (head + 1) % R;
    return product;
  }

  private trackSession(slot: number, ts: number, out: StateSignal[]): void {
    const gap = this.opts.sessionGapMs;
    const { f64, u32 } = this.records;
    const f = this.f;
    const start = slot * this.s64 + f.sessionStart;
    const last = slot * this.s64 + f.sessionLast;
    const events = slot * this.s32 + f.sessionEvents;
    if (u32[events]! > 0 && ts > f64[last]! + gap) {
      this.closeSession(slot, ts, out); // a new session began before the timer saw the old one end
    }
    if (u32[events] === 0) {
      f64[start] = ts;
      f64[last] = ts;
      u32[events] = 1;
      u32[slot * this.s32 + f.sessions]!++;
      this.timers.arm(slot, this.sessionEndKind, ts + gap);
    } else if (ts >= f64[start]! - gap) {
      if (ts < f64[start]!) f64[start] = ts;
      if (ts > f64[last]!) f64[last] = ts; // the armed timer re-arms itself lazily
      u32[events]!++;
    }
    // else: the event belongs to a session that already closed; windows have it, sessions do not.
  }

  private closeSession(slot: number, at: number, out: StateSignal[]): void {
    const { f64, u32 } = this.records;
    const events = slot * this.s32 + this.f.sessionEvents;
    out.push({
      kind: 'session_closed',
      customerId: this.ids.get(slot)!,
      slot,
      start: f64[slot * this.s64 + this.f.sessionStart]!,
      end: f64[slot * this.s64 + this.f.sessionLast]!,
      events: u32[events]!,
      at,
    });
    u32[events] = 0;
    this.timers.cancel(slot, this.sessionEndKind);
  }

  private onSessionEnd(slot: number, due: number, wm: number, out: StateSignal[]): void {
    if (this.records.u32[slot * this.s32 + this.f.sessionEvents] === 0) return;
    const end = this.records.f64[slot * this.s64 + this.f.sessionLast]! + this.opts.sessionGapMs;
    if (end > due && end > wm) this.timers.arm(slot, this.sessionEndKind, end);
    else this.closeSession(slot, wm, out);
  }

  private onTtl(slot: number, due: number, wm: number, out: StateSignal[]): void {
    const lastSeen = this.records.f64[slot * this.s64 + this.f.lastSeen]!;
    const isBuyer = this.records.u32[slot * this.s32 + this.f.transactions]! > 0;
    const expires = lastSeen + (isBuyer ? this.opts.buyerTtlMs : this.opts.ttlMs);
    if (expires > wm) {
      this.timers.arm(slot, this.ttlKind, Math.max(expires, due));
      return;
    }
    const customerId = this.ids.get(slot)!;
    if (this.records.u32[slot * this.s32 + this.f.sessionEvents]! > 0) this.closeSession(slot, wm, out);
    out.push({ kind: 'evicted', customerId, lastSeen, at: wm });
    for (const l of this.slotListeners) l.evicting(slot);
    this.timers.cancelAll(slot);
    this.slots.delete(customerId);
    this.ids.clear(slot);
    this.freeSlots.push(slot);
    this.evictions++;
  }

  has(customerId: string): boolean {
    return this.slots.has(customerId);
  }

  /**
   * Erasure (GDPR Art. 17): forgets the customer at once, with no signal. Listeners see the
   * slot leave and come back blank (`evicting`, then `admitted`: their per-slot records and
   * alert gates are wiped), the record (windows, recent items, cart) is zeroed, every timer
   * of the slot is cancelled, and the slot is freed, so no snapshot holds the id any longer.
   * False when the customer was not in state.
   */
  erase(customerId: string): boolean {
    const slot = this.slots.get(customerId);
    if (slot === undefined) return false;
    for (const l of this.slotListeners) l.evicting(slot);
    for (const l of this.slotListeners) l.admitted(slot);
    this.timers.cancelAll(slot);
    this.records.reset(slot);
    this.slots.delete(customerId);
    this.ids.clear(slot);
    this.freeSlots.push(slot);
    return true;
  }

  customerIds(): IterableIterator<string> {
    return this.slots.keys();
  }

  /** The customer's state with windows evaluated as of event time `asOf`. */
  view(customerId: string, asOf: number): CustomerView | undefined {
    const slot = this.slots.get(customerId);
    if (slot === undefined) return undefined;
    const { f64, u32, u8 } = this.records;
    const d = (n: F64Field) => f64[slot * this.s64 + this.f[n]]!;
    const n = (name: U32Field) => u32[slot * this.s32 + this.f[name]]!;
    const gapCount = n('gapCount');
    const lastPurchase = d('lastPurchase');
    const sessionOpen = n('sessionEvents') > 0;
    const recentItems: CustomerView['recentItems'] = [];
    const head = u8[slot * this.s8 + this.recentHead]!;
    for (let k = 1; k <= this.R; k++) {
      const i = (head - k + this.R) % this.R;
      const action = u8[slot * this.s8 + this.recentActions + i]!;
      if (action === 0) break;
      recentItems.push({
        productId: this.products.name(u32[slot * this.s32 + this.recentProducts + i]!),
        action: actionNames[action] as RecentActionName,
      });
    }
    const windows: Record<string, ActivityResult> = {};
    this.windows.specs.forEach((spec, r) => (windows[spec.name] = this.windows.result(slot, r, asOf)));
    return {
      customerId,
      firstSeen: d('firstSeen'),
      lastSeen: d('lastSeen'),
      events: n('events'),
      purchases: n('purchases'),
      revenue: d('revenue'),
      lastPurchase: Number.isNaN(lastPurchase) ? null : lastPurchase,
      transactions: this.transactionStats(slot),
      purchaseGap: {
        count: gapCount,
        meanMs: d('gapMean'),
        varianceMs2: gapCount > 1 ? d('gapM2') / (gapCount - 1) : 0,
      },
      session: {
        count: n('sessions'),
        open: sessionOpen,
        start: sessionOpen ? d('sessionStart') : null,
        last: sessionOpen ? d('sessionLast') : null,
        events: n('sessionEvents'),
      },
      cartQuantity: n('cartQuantity'),
      recentItems,
      windows,
    };
  }

  /**
   * Lets state kept beside the records (analytics, per slot) follow the slots: `admitted`
   * when a slot is given to a new customer, `evicting` just before one is freed.
   */
  addSlotListener(listener: SlotListener): void {
    this.slotListeners.push(listener);
  }

  /** The slot a customer's record is in, for analytics that keep per-slot state beside it. */
  slotOf(customerId: string): number | undefined {
    return this.slots.get(customerId);
  }

  /**
   * `slotOf(customerId)` for a signal's customer, from the slot the signal carries: the slot
   * when it still holds them (an id compare: the signal's id is the string the slot holds),
   * else a lookup (undefined once evicted). Saves a Map lookup by string per signal.
   */
  slotHolding(customerId: string, slot: number): number | undefined {
    return this.ids.get(slot) === customerId ? slot : this.slots.get(customerId);
  }

  customerAt(slot: number): string | undefined {
    return this.ids.get(slot);
  }

  /** Gaps between the customer's purchases (Welford statistics). */
  gapStats(slot: number): { count: number; meanMs: number; varianceMs2: number } {
    const { f64, u32 } = this.records;
    const count = u32[slot * this.s32 + this.f.gapCount]!;
    return {
      count,
      meanMs: f64[slot * this.s64 + this.f.gapMean]!,
      varianceMs2: count > 1 ? f64[slot * this.s64 + this.f.gapM2]! / (count - 1) : 0,
    };
  }

  /** Events in the customer's open session (0 when none is open). */
  sessionEvents(slot: number): number {
    return this.records.u32[slot * this.s32 + this.f.sessionEvents]!;
  }

  cartQuantity(slot: number): number {
    return this.records.u32[slot * this.s32 + this.f.cartQuantity]!;
  }

  /** Purchases applied to the customer (since admission: an evicted customer starts again at 0). */
  purchases(slot: number): number {
    return this.records.u32[slot * this.s32 + this.f.purchases]!;
  }

  /** Event time of the latest purchase, NaN before the first. */
  lastPurchase(slot: number): number {
    return this.records.f64[slot * this.s64 + this.f.lastPurchase]!;
  }

  lastSeen(slot: number): number {
    return this.records.f64[slot * this.s64 + this.f.lastSeen]!;
  }

  firstSeen(slot: number): number {
    return this.records.f64[slot * this.s64 + this.f.firstSeen]!;
  }

  /** Events applied to the customer (since admission). */
  events(slot: number): number {
    return this.records.u32[slot * this.s32 + this.f.events]!;
  }

  /** Sum of the customer's order values (since admission). */
  revenue(slot: number): number {
    return this.records.f64[slot * this.s64 + this.f.revenue]!;
  }

  /** Sessions the customer has had (closed or open). */
  sessions(slot: number): number {
    return this.records.u32[slot * this.s32 + this.f.sessions]!;
  }

  /** Number of activity windows (`view().windows`, in their configured order). */
  get windowCount(): number {
    return this.windows.specs.length;
  }

  /** Events by type in window `r` as of `asOf` (`WindowRings.typeCountsInto`); returns all events. */
  windowTypeCountsInto(slot: number, r: number, asOf: number, out: Float64Array): number {
    return this.windows.typeCountsInto(slot, r, asOf, out);
  }

  /**
   * Interned ids of the recent products, most recent first, with what was done to each
   * (`RecentAction`), written into `products` / `actions`; returns how many (at most `max`).
   */
  recentInto(slot: number, products: Uint32Array, actions: Uint8Array, max = products.length): number {
    const { u32, u8 } = this.records;
    const R = this.R;
    const a0 = slot * this.s8 + this.recentActions;
    const p0 = slot * this.s32 + this.recentProducts;
    // Each view reads a few entries: stepping back with a wrap costs less than a remainder per entry.
    let i = (u8[slot * this.s8 + this.recentHead]! - 1 + R) % R;
    const limit = Math.min(max, products.length, R);
    let n = 0;
    while (n < limit) {
      const action = u8[a0 + i]!;
      if (action === 0) break;
      products[n] = u32[p0 + i]!;
      actions[n++] = action;
      i = i === 0 ? R - 1 : i - 1;
    }
    return n;
  }

  /** Whether the customer has bought (`transactionStats` is not null), without building the stats. */
  hasTransactions(slot: number): boolean {
    return this.records.u32[slot * this.s32 + this.f.transactions]! > 0;
  }

  /** The customer's purchase transactions, or null before the first purchase. */
  transactionStats(slot: number): TransactionStats | null {
    const t: TransactionStats = { first: 0, last: 0, repeat: 0, firstValue: 0, repeatValue: 0 };
    return this.transactionStatsInto(slot, t) ? t : null;
  }

  /**
   * `transactionStats` written into `out` (false, `out` untouched, before the first purchase):
   * for the analytics, which ask at every purchase, session and check and keep nothing.
   */
  transactionStatsInto(slot: number, out: TransactionStats): boolean {
    const { f64, u32 } = this.records;
    const b64 = slot * this.s64;
    const count = u32[slot * this.s32 + this.f.transactions]!;
    if (count === 0) return false;
    const firstValue = f64[b64 + this.f.firstDayValue]!;
    out.first = f64[b64 + this.f.firstPurchase]!;
    out.last = f64[b64 + this.f.lastPurchase]!;
    out.repeat = count - 1;
    out.firstValue = firstValue;
    out.repeatValue = count > 1 ? f64[b64 + this.f.revenue]! - firstValue : 0;
    return true;
  }

  snapshot(copy: CopyBytes = freshCopy): CustomerStoreSnapshot {
    return {
      layout: this.records.layout.signature(),
      highWater: this.highWater,
      ids: this.ids.snapshot(this.highWater, copy),
      freeSlots: [...this.freeSlots],
      records: this.records.snapshot(this.highWater, copy),
      timers: this.timers.snapshot(this.highWater, copy),
      products: this.products.snapshot(),
      evictions: this.evictions,
    };
  }

  restore(s: CustomerStoreSnapshot): void {
    if (s.layout !== this.records.layout.signature()) {
      throw new Error('snapshot was taken with different window or recent-item settings');
    }
    let capacity = Math.max(16, this.records.capacity);
    while (capacity < s.highWater) capacity *= 2;
    this.records.restore(s.records, capacity);
    this.products.restore(s.products);
    this.timers.restore(s.timers, capacity);
    this.highWater = s.highWater;
    this.slots.clear();
    this.ids.restore(s.ids, (slot, id) => this.slots.set(id, slot));
    this.freeSlots.length = 0;
    this.freeSlots.push(...s.freeSlots);
    this.evictions = s.evictions;
  }
}

export interface CustomerStoreSnapshot {
  /** Record layout signature: windows and ring sizes must match to restore. */
  layout: string;
  highWater: number;
  ids: SlotIdsSnapshot;
  freeSlots: number[];
  records: Uint8Array;
  timers: EventTimersSnapshot;
  products: string[];
  evictions: number;
}
