import { beforeAll, describe, expect, it } from 'vitest';
import { isVigilError } from '../src/core/errors.js';
import { canonicalEvent, type CanonicalEvent } from '../src/core/event.js';
import { Catalog } from '../src/edges/demo/catalog.js';
import { Random } from '../src/edges/demo/random.js';
import { SyntheticShop, type ShopOptions } from '../src/edges/demo/shop.js';
import { ZipfSampler } from '../src/edges/demo/zipf.js';

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

describe('Random', () => {
  it('is reproducible for a seed and differs between seeds', () => {
    const a = new Random(1);
    const b = new Random(1);
    const c = new Random(2);
    const sa = Array.from({ length: 8 }, () => a.uint32());
    expect(Array.from({ length: 8 }, () => b.uint32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.uint32())).not.toEqual(sa);
  });

  it('draws from the documented distributions', () => {
    const r = new Random(99);
    const n = 40_000;
    const u = Array.from({ length: n }, () => r.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 1);
    expect(mean(Array.from({ length: n }, () => r.exponential(3)))).toBeCloseTo(3, 0);
    const normals = Array.from({ length: n }, () => r.normal());
    expect(Math.abs(mean(normals))).toBeLessThan(0.03);
    expect(mean(normals.map((z) => z * z))).toBeCloseTo(1, 1);
    for (const shape of [0.5, 2, 9]) {
      const g = Array.from({ length: n }, () => r.gamma(shape, 2));
      expect(mean(g) / (shape * 2)).toBeGreaterThan(0.95);
      expect(mean(g) / (shape * 2)).toBeLessThan(1.05);
    }
    const ln = Array.from({ length: n }, () => r.logNormal(Math.log(6), 1)).sort((x, y) => x - y);
    expect(ln[n / 2]!).toBeGreaterThan(5.5);
    expect(ln[n / 2]!).toBeLessThan(6.5);
    const ints = new Set(Array.from({ length: 1000 }, () => r.int(7)));
    expect([...ints].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(mean(Array.from({ length: n }, () => (r.chance(0.2) ? 1 : 0)))).toBeCloseTo(0.2, 1);
  });
});

describe('ZipfSampler', () => {
  it('draws ranks 1..n in proportion to r^-s', () => {
    const zipf = new ZipfSampler(100, 1.1);
    const r = new Random(5);
    const counts = new Array<number>(101).fill(0);
    const n = 50_000;
    for (let i = 0; i < n; i++) counts[zipf.sample(r)]!++;
    expect(counts[0]).toBe(0);
    expect(counts[1]! / n).toBeCloseTo(zipf.probability(1), 1);
    expect(counts[1]!).toBeGreaterThan(counts[2]!);
    expect(counts[2]!).toBeGreaterThan(counts[10]!);
    expect(counts[1]! / counts[2]!).toBeCloseTo(2 ** 1.1, 0);
  });
});

describe('Catalog', () => {
  it('has p-style ids, categories, shelf prices and a popularity order', () => {
    const catalog = new Catalog(3000, new Random(3));
    expect(catalog.products[42]!.id).toBe('p00042');
    expect(new Set(catalog.products.map((p) => p.category)).size).toBeGreaterThanOrEqual(10);
    expect(new Set(catalog.products.map((p) => p.popularityRank)).size).toBe(3000);
    for (const p of catalog.products) {
      expect(p.price).toBeGreaterThanOrEqual(0.99);
      expect(p.price).toBeLessThanOrEqual(999.99);
      expect(Math.round(p.price * 100) / 100).toBe(p.price);
    }
    const r = new Random(4);
    const hits = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const p = catalog.popularProduct(r);
      hits.set(p.popularityRank, (hits.get(p.popularityRank) ?? 0) + 1);
    }
    expect(hits.get(1)!).toBeGreaterThan(hits.get(50) ?? 0);
  });
});

describe('SyntheticShop', () => {
  const opts: ShopOptions = { seed: 11, customers: 600, products: 800, startTs: START, endTs: START + 120 * DAY };
  let events: CanonicalEvent[];
  let shop: SyntheticShop;

  beforeAll(() => {
    shop = new SyntheticShop(opts);
    events = [...shop];
  });

  it('gives the identical sequence for a seed, another for another seed', () => {
    const a = new SyntheticShop({ seed: 5, customers: 3000, products: 1000, startTs: START }).take(20_000);
    const b = new SyntheticShop({ seed: 5, customers: 3000, products: 1000, startTs: START }).take(20_000);
    expect(a).toHaveLength(20_000);
    expect(b).toEqual(a);
    const c = new SyntheticShop({ seed: 6, customers: 3000, products: 1000, startTs: START }).take(200);
    expect(c).not.toEqual(a.slice(0, 200));
  });

  it('emits valid events in non-decreasing event time, with unique ids, within [startTs, endTs)', () => {
    expect(events.length).toBeGreaterThan(20_000);
    expect(events[0]!.ts).toBe(opts.startTs);
    const ids = new Set<string>();
    let last = -Infinity;
    for (const e of events) {
      const parsed = canonicalEvent.safeParse(e);
      if (!parsed.success) throw new Error(`invalid ${JSON.stringify(e)}: ${parsed.error.message}`);
      expect(e.ts).toBeGreaterThanOrEqual(last);
      last = e.ts;
      ids.add(e.id);
    }
    expect(ids.size).toBe(events.length);
    expect(last).toBeLessThan(opts.endTs!);
    expect(shop.next()).toBeUndefined();
  });

  it('lets customers join over time rather than all at once', () => {
    const firstSeen = new Map<string, number>();
    for (const e of events) if (!firstSeen.has(e.customerId)) firstSeen.set(e.customerId, e.ts);
    const joins = [...firstSeen.values()];
    expect(joins.filter((t) => t < START + DAY).length).toBeLessThan(joins.length / 3);
    expect(joins.filter((t) => t > START + 30 * DAY).length).toBeGreaterThan(joins.length / 10);
  });

  it('has a plausible funnel', () => {
    const sessions = new Map<string, Set<string>>();
    for (const e of events) {
      if (e.sessionId === undefined) continue;
      let types = sessions.get(e.sessionId);
      if (types === undefined) sessions.set(e.sessionId, (types = new Set()));
      types.add(e.type);
    }
    const all = [...sessions.values()];
    const carts = all.filter((s) => s.has('add_to_cart')).length;
    const checkouts = all.filter((s) => s.has('checkout_started')).length;
    const purchases = all.filter((s) => s.has('purchase')).length;
    expect(purchases / all.length).toBeGreaterThan(0.05);
    expect(purchases / all.length).toBeLessThan(0.4);
    expect(carts / all.length).toBeGreaterThan(0.25);
    expect(carts / all.length).toBeLessThan(0.45);
    expect(1 - purchases / carts).toBeGreaterThan(0.5);
    expect(1 - purchases / carts).toBeLessThan(0.8);
    expect(purchases / checkouts).toBeGreaterThan(0.65);
    expect(purchases / checkouts).toBeLessThan(0.85);
    expect(shop.truth.abandonedCarts.length).toBeGreaterThan(0);
  });

  it('buys exactly what is in the cart', () => {
    const carts = new Map<string, Map<string, number>>();
    let checked = 0;
    for (const e of events) {
      if (e.sessionId === undefined) continue;
      let cart = carts.get(e.sessionId);
      if (cart === undefined) carts.set(e.sessionId, (cart = new Map()));
      if (e.type === 'add_to_cart') cart.set(e.productId, e.quantity!);
      if (e.type === 'remove_from_cart') cart.delete(e.productId);
      if (e.type === 'purchase') {
        expect(new Map(e.items.map((i) => [i.productId, i.quantity]))).toEqual(cart);
        expect(e.currency).toBe('EUR');
        checked++;
      }
    }
    expect(checked).toBe(shop.truth.purchases);
  });

  it('stops churned customers buying at their churn time', () => {
    const churned = shop.truth.churnedCustomers;
    const customersSeen = new Set(events.map((e) => e.customerId)).size;
    expect(churned.size / customersSeen).toBeGreaterThan(0.12);
    expect(churned.size / customersSeen).toBeLessThan(0.35);
    let purchasesBeforeChurn = 0;
    for (const e of events) {
      if (e.type !== 'purchase') continue;
      const churnTs = churned.get(e.customerId);
      if (churnTs === undefined) continue;
      expect(e.ts).toBeLessThan(churnTs);
      purchasesBeforeChurn++;
    }
    expect(purchasesBeforeChurn).toBeGreaterThan(0);
    // Some churners come back to browse, none to buy.
    const afterChurn = events.filter((e) => (churned.get(e.customerId) ?? Infinity) <= e.ts && e.type !== 'feedback');
    expect(afterChurn.length).toBeGreaterThan(0);
    expect(afterChurn.every((e) => e.type === 'page_view' || e.type === 'product_view')).toBe(true);
  });

  it('keeps truth that agrees with a recount of the events', () => {
    const purchases = events.filter((e) => e.type === 'purchase');
    const complaints = events.filter((e) => e.type === 'feedback' && e.complaint === true);
    expect(shop.truth.purchases).toBe(purchases.length);
    expect(shop.truth.complaints).toBe(complaints.length);
    expect(complaints.length / purchases.length).toBeGreaterThan(0.01);
    expect(complaints.length / purchases.length).toBeLessThan(0.06);
    expect(shop.truth.sessions).toBe(new Set(events.map((e) => e.sessionId).filter((s) => s !== undefined)).size);

    const bySession = new Map<string, CanonicalEvent[]>();
    for (const e of events) {
      if (e.sessionId === undefined) continue;
      const list = bySession.get(e.sessionId);
      if (list === undefined) bySession.set(e.sessionId, [e]);
      else list.push(e);
    }
    const recorded = new Set<string>();
    for (const cart of shop.truth.abandonedCarts) {
      const session = bySession.get(cart.sessionId)!;
      expect(session.every((e) => e.customerId === cart.customerId)).toBe(true);
      expect(session.some((e) => e.type === 'add_to_cart')).toBe(true);
      expect(session.some((e) => e.type === 'purchase')).toBe(false);
      const lastCartEvent = session.filter((e) => e.type === 'add_to_cart' || e.type === 'remove_from_cart').at(-1)!;
      expect(cart.ts).toBe(lastCartEvent.ts);
      recorded.add(cart.sessionId);
    }
    expect(shop.truth.abandonedCartsTotal).toBe(shop.truth.abandonedCarts.length);
    // Every session that ends with a full cart and no purchase is recorded, except sessions
    // cut off by endTs before they could check out.
    let unrecorded = 0;
    for (const [sessionId, session] of bySession) {
      const cart = new Set<string>();
      for (const e of session) {
        if (e.type === 'add_to_cart') cart.add(e.productId);
        if (e.type === 'remove_from_cart') cart.delete(e.productId);
      }
      if (cart.size > 0 && !session.some((e) => e.type === 'purchase') && !recorded.has(sessionId)) unrecorded++;
    }
    expect(unrecorded).toBeLessThanOrEqual(3);
  });

  it('writes feedback after a purchase of the same customer, mostly 4-5 stars', () => {
    const orders = new Map<string, { customerId: string; ts: number }>();
    const ratings: number[] = [];
    for (const e of events) {
      if (e.type === 'purchase') orders.set(e.orderId, { customerId: e.customerId, ts: e.ts });
      if (e.type !== 'feedback') continue;
      const order = orders.get(e.orderId!);
      expect(order?.customerId).toBe(e.customerId);
      expect(e.ts).toBeGreaterThan(order!.ts);
      if (e.complaint === true) expect(e.rating).toBeLessThanOrEqual(2);
      else ratings.push(e.rating!);
    }
    expect(ratings.filter((r) => r >= 4).length / ratings.length).toBeGreaterThan(0.7);
  });

  it('rejects impossible options with a usage error', () => {
    const bad: ShopOptions[] = [
      { ...opts, customers: 0 },
      { ...opts, products: -1 },
      { ...opts, startTs: 1_700_000 },
      { ...opts, endTs: opts.startTs },
      { ...opts, seed: Number.NaN },
    ];
    for (const o of bad) {
      let caught: unknown;
      try {
        new SyntheticShop(o);
      } catch (err) {
        caught = err;
      }
      expect(isVigilError(caught) && caught.code).toBe('VIGIL_ERR_USAGE');
    }
  });
});
