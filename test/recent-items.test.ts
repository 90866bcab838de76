/**
 * The recent-items ring as the analytics read it (`recentInto`, into reused buffers, on every
 * view) against the customer view's reading of the same ring (`view().recentItems`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../src/core/event.js';
import { CustomerStore, RecentAction } from '../src/state/customer-store.js';
import type { StateSignal } from '../src/state/signals.js';

const T0 = Date.UTC(2026, 0, 1);
const actionOf = {
  viewed: RecentAction.viewed,
  carted: RecentAction.carted,
  uncarted: RecentAction.uncarted,
  purchased: RecentAction.purchased,
};

function eventOf(kind: number, product: number, i: number): CanonicalEvent {
  const base = { id: `e${i}`, customerId: 'c1', ts: T0 + i * 1000 };
  const productId = `p${product}`;
  if (kind === 0) return { ...base, type: 'product_view', productId } as CanonicalEvent;
  if (kind === 1) return { ...base, type: 'add_to_cart', productId, quantity: 1 } as CanonicalEvent;
  if (kind === 2) return { ...base, type: 'remove_from_cart', productId, quantity: 1 } as CanonicalEvent;
  const items = [
    { productId, price: 10, quantity: 1 },
    { productId: `p${(product + 1) % 6}`, price: 5, quantity: 2 },
  ];
  return { ...base, type: 'purchase', orderId: `o${i}`, items } as CanonicalEvent;
}

describe('recent items', () => {
  it('recentInto returns the first `max` of the ring, most recent first, as the customer view reads it', () => {
    const events = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5 })), {
      maxLength: 40,
      size: 'max',
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), events, (R, list) => {
        const store = new CustomerStore({
          windows: [],
          sessionGapMs: 30 * 60_000,
          ttlMs: 86_400_000,
          buyerTtlMs: 86_400_000,
          recentItems: R,
          maxProducts: 100,
          maxCustomers: 10,
        });
        const out: StateSignal[] = [];
        const products = new Uint32Array(12);
        const actions = new Uint8Array(12);
        list.forEach(([kind, product], i) => {
          const slot = store.apply(eventOf(kind, product, i), out);
          const expected = store
            .view('c1', T0 + i * 1000)!
            .recentItems.map((r) => ({ productId: r.productId, action: actionOf[r.action] }));
          for (let max = 0; max <= R + 2; max++) {
            const n = store.recentInto(slot, products, actions, max);
            const got = Array.from(products.subarray(0, n), (p, j) => ({
              productId: store.products.name(p),
              action: actions[j]!,
            }));
            expect(got).toEqual(expected.slice(0, max));
          }
          // A buffer shorter than the ring bounds the answer too.
          const short = store.recentInto(slot, products.subarray(0, 2), actions, R);
          expect(short).toBe(Math.min(2, expected.length));
        });
      }),
      { numRuns: 200 },
    );
  });
});
