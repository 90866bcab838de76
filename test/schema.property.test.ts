import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEvent } from '../src/core/event.js';
import { canonicalInPlace } from '../src/core/event-in-place.js';
import { decodePayload } from '../src/ingest/codec/decode.js';
import { shopRun } from './support/churn-truth.js';
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

  it('takes a value in place only when the schema accepts it and returns an equal event', () => {
    // Real shop events (valid, every type), each mutated at one key: copied as is, a key set
    // to an edgy value, a key removed, or an order line's key set; and the random candidates.
    const shop = shopRun(11, 30, 6).messages.map((m) => {
      const d = decodePayload(m.bytes, 1 << 20);
      if (!d.ok) throw new Error('shop event did not decode');
      return d.value as Record<string, unknown>;
    });
    const keys = [...new Set(shop.flatMap((e) => Object.keys(e))), 'extra', 'rating', 'complaint', 'campaign', 'items'];
    const value = fc.oneof(edgyString, edgyNumber, fc.boolean(), fc.constant(undefined), fc.constant(null));
    const mutated = fc
      .tuple(fc.constantFrom(...shop), fc.constantFrom(...keys), value, fc.nat(3))
      .map(([e, key, v, how]) => {
        const copy: Record<string, unknown> = structuredClone(e);
        if (how === 1) copy[key] = v;
        else if (how === 2) delete copy[key];
        else if (how === 3 && Array.isArray(copy.items)) (copy.items[0] as Record<string, unknown>)[key] = v;
        return copy;
      });
    let inPlace = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, candidate), (raw) => {
        const event = canonicalInPlace(raw);
        if (event === undefined) return;
        inPlace++;
        expect(event).toBe(raw);
        const parsed = canonicalEvent.safeParse(raw);
        expect(parsed.success).toBe(true);
        expect(event).toStrictEqual(parsed.data);
      }),
      { numRuns: 3000 },
    );
    // Not vacuous: many values take the in-place path.
    expect(inPlace).toBeGreaterThan(300);
  });

  it('takes every synthetic shop event in place, msgpack and JSON alike', () => {
    const { messages } = shopRun(7, 40, 10);
    for (const m of messages) {
      const decoded = decodePayload(m.bytes, 1 << 20);
      if (!decoded.ok) throw new Error('shop event did not decode');
      const json = JSON.parse(JSON.stringify(decoded.value)) as unknown;
      for (const value of [decoded.value, json]) {
        expect(canonicalInPlace(value)).toBe(value);
        expect(canonicalEvent.parse(value)).toStrictEqual(value);
      }
    }
    expect(messages.length).toBeGreaterThan(500);
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
