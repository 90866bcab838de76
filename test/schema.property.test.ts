import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEvent } from '../src/core/event.js';
import { declarativeCanonicalEvent } from './support/declarative-event-schema.js';

/**
 * The hot-path schema (structure + one bounds pass) must accept exactly what the
 * declarative per-field schema accepts, produce the same event, and point its first issue
 * at the same path.
 */
const edgyString = fc.oneof(
  fc.constantFrom('', 'a', 'EUR', 'eur', 'EURO', 'x'.repeat(64), 'x'.repeat(65), 'k'.repeat(128), 'k'.repeat(129)),
  fc.string({ maxLength: 6 }),
);
const edgyNumber = fc.oneof(
  fc.constantFrom(0, -0.01, 1, 1.5, 5, 6, 10_000, 10_001, 1e9, 1e9 + 1, NaN, Infinity, -Infinity),
  fc.constantFrom(
    Date.UTC(2000, 0, 1),
    Date.UTC(2000, 0, 1) - 1,
    Date.UTC(2100, 0, 1),
    Date.UTC(2100, 0, 1) + 1,
    Date.UTC(2026, 5, 1) + 0.5,
  ),
  fc.integer({ min: -5, max: 20 }),
  fc.double(),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
const item = fc.record(
  { productId: edgyString, category: maybe(edgyString), price: edgyNumber, quantity: edgyNumber },
  { requiredKeys: ['productId', 'price', 'quantity'] },
);
const candidate = fc.record(
  {
    id: edgyString,
    type: fc.constantFrom(
      'page_view',
      'product_view',
      'add_to_cart',
      'remove_from_cart',
      'checkout_started',
      'purchase',
      'feedback',
      'teleport',
    ),
    customerId: edgyString,
    ts: fc.oneof(fc.constant(Date.UTC(2026, 5, 1)), edgyNumber),
    sessionId: maybe(edgyString),
    currency: maybe(edgyString),
    productId: maybe(edgyString),
    category: maybe(edgyString),
    price: maybe(edgyNumber),
    quantity: maybe(edgyNumber),
    orderId: maybe(edgyString),
    items: maybe(fc.array(item, { maxLength: 3 })),
    rating: maybe(edgyNumber),
    complaint: maybe(fc.boolean()),
  },
  { requiredKeys: ['id', 'type', 'customerId', 'ts'] },
);

describe('canonical event schema', () => {
  it('agrees with the declarative per-field schema on random, edge-heavy input', () => {
    fc.assert(
      fc.property(candidate, (raw) => {
        const fast = canonicalEvent.safeParse(raw);
        const slow = declarativeCanonicalEvent.safeParse(raw);
        expect(fast.success).toBe(slow.success);
        if (fast.success && slow.success) expect(fast.data).toEqual(slow.data);
        if (!fast.success && !slow.success) {
          const paths = (issues: { path: PropertyKey[] }[]) => issues.map((i) => i.path.join('.'));
          expect(paths(slow.error.issues)).toContain(paths(fast.error.issues)[0]);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects more than 100 items and accepts 100', () => {
    const order = (n: number) => ({
      id: 'e',
      type: 'purchase',
      customerId: 'c',
      ts: Date.UTC(2026, 0, 1),
      orderId: 'o',
      items: Array.from({ length: n }, () => ({ productId: 'p', price: 1, quantity: 1 })),
    });
    expect(canonicalEvent.safeParse(order(100)).success).toBe(true);
    expect(canonicalEvent.safeParse(order(101)).success).toBe(false);
    expect(canonicalEvent.safeParse(order(0)).success).toBe(false);
  });
});
