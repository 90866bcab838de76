import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { distinctEstimate, productBit, productIdBit } from '../src/state/activity-aggregate.js';
import { eventTypes, orderRevenue, type CanonicalEvent, type EventType } from '../src/core/event.js';
import { dump, message, rawMessage, runMessages, testConfig } from './support/engine-harness.js';
import type { RawMessage } from '../src/core/source.js';

/**
 * The windows, totals and outcome counters are checked against a brute-force oracle that
 * keeps every event and recomputes from scratch: which copy of an id is the first, which
 * event is behind the watermark, and what each window holds as of the final watermark.
 */
const T0 = Date.UTC(2026, 2, 1);
const MINUTE = 60_000;
const OOO = 2 * MINUTE; // bounded out-of-orderness
const LATENESS = 3 * MINUTE;
const windows = [
  { name: 'w10m', horizonMs: 10 * MINUTE, buckets: 5 },
  { name: 'w1h', horizonMs: 60 * MINUTE, buckets: 4 },
  { name: 'w1d', horizonMs: 24 * 60 * MINUTE, buckets: 6 },
];
const config = testConfig({
  state: { windows, ttlMs: 365 * 24 * 60 * MINUTE },
  eventTime: { maxOutOfOrdernessMs: OOO, allowedLatenessMs: LATENESS },
  dedupe: { retentionMs: 365 * 24 * 60 * MINUTE },
});

type Step =
  | {
      kind: 'event';
      customer: number;
      type: EventType;
      dt: number;
      jitter: number;
      product: number;
      price: number;
      qty: number;
    }
  | { kind: 'repeat'; back: number }
  | { kind: 'garbage'; which: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      customer: fc.integer({ min: 0, max: 4 }),
      type: fc.constantFrom(...eventTypes),
      dt: fc.integer({ min: 0, max: 20 * MINUTE }), // the stream's clock moves forward by this
      jitter: fc.integer({ min: -8 * MINUTE, max: 0 }), // ... and this event is this much behind it
      product: fc.integer({ min: 0, max: 40 }),
      price: fc.integer({ min: 0, max: 100_000 }).map((c) => c / 100),
      qty: fc.integer({ min: 1, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), back: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), which: fc.integer({ min: 0, max: 3 }) }) },
);

function buildEvent(s: Extract<Step, { kind: 'event' }>, id: number, clock: number): CanonicalEvent {
  const base = { id: `e${id}`, customerId: `c${s.customer}`, ts: clock + s.jitter };
  const productId = `p${s.product}`;
  switch (s.type) {
    case 'page_view':
      return { ...base, type: s.type };
    case 'product_view':
    case 'add_to_cart':
    case 'remove_from_cart':
      return { ...base, type: s.type, productId, price: s.price, quantity: s.qty };
    case 'checkout_started':
      return { ...base, type: s.type };
    case 'purchase':
      return {
        ...base,
        type: s.type,
        orderId: `o${id}`,
        items: [
          { productId, price: s.price, quantity: s.qty },
          { productId: `p${(s.product + 7) % 41}`, price: s.price / 2, quantity: 1 },
        ],
      };
    case 'feedback':
      return { ...base, type: s.type, rating: 1 + (s.product % 5) };
  }
}

const garbage = [
  () => rawMessage('{"id": "x", '), // invalid JSON
  () => rawMessage(new Uint8Array([0x85, 0xa2, 0x69])), // truncated msgpack
  () => rawMessage('{"id":"x","type":"teleport","customerId":"c1","ts":1767225600000}'), // unknown type
  () => rawMessage('{"id":"x","type":"page_view","customerId":"c1","ts":"yesterday"}'), // wrong type
];

interface Built {
  messages: RawMessage[];
  events: (CanonicalEvent | undefined)[]; // index-aligned; undefined for garbage
}

function build(steps: Step[], formatSeed: number): Built {
  const messages: RawMessage[] = [];
  const events: (CanonicalEvent | undefined)[] = [];
  let clock = T0;
  steps.forEach((s, i) => {
    if (s.kind === 'event') {
      clock += s.dt;
      const e = buildEvent(s, i, clock);
      messages.push(message(e, (i + formatSeed) % 3 === 0 ? 'json' : 'msgpack'));
      events.push(e);
    } else if (s.kind === 'repeat' && events.length > 0) {
      const j = Math.max(0, events.length - s.back);
      messages.push(messages[j]!);
      events.push(events[j]);
    } else {
      messages.push(garbage[s.kind === 'garbage' ? s.which : 0]!());
      events.push(undefined);
    }
  });
  return { messages, events };
}

/** The specification, by brute force. */
function oracle(built: Built) {
  const seen = new Set<string>();
  let maxTs = -Infinity;
  const applied: CanonicalEvent[] = [];
  let duplicate = 0;
  let late = 0;
  let rejected = 0;
  for (const e of built.events) {
    if (e === undefined) {
      rejected++;
      continue;
    }
    if (seen.has(e.id)) {
      duplicate++;
      continue;
    }
    seen.add(e.id);
    const watermark = maxTs - OOO;
    if (e.ts < watermark - LATENESS) {
      late++;
      continue;
    }
    maxTs = Math.max(maxTs, e.ts);
    applied.push(e);
  }
  return { applied, duplicate, late, rejected, asOf: maxTs };
}

function windowOracle(applied: CanonicalEvent[], customerId: string, asOf: number, lookup: (p: string) => number) {
  const out: Record<string, { counts: Record<string, number>; revenue: number; bits: number }> = {};
  for (const w of windows) {
    const width = w.horizonMs / w.buckets;
    const nowNo = Math.floor(asOf / width);
    const counts = Object.fromEntries(eventTypes.map((t) => [t, 0]));
    let revenue = 0;
    let bits = 0;
    for (const e of applied) {
      if (e.customerId !== customerId) continue;
      const no = Math.floor(e.ts / width);
      if (no <= nowNo - w.buckets || no > nowNo) continue;
      counts[e.type]!++;
      if (e.type === 'purchase') revenue += orderRevenue(e);
      if (e.type === 'product_view') bits |= lookup(e.productId) === 0 ? productBit(0) : productIdBit(e.productId); // the overflow product shares one bit
    }
    out[w.name] = { counts, revenue, bits };
  }
  return out;
}

describe('keyed windows and outcome counters against a brute-force oracle', () => {
  it('agree for random streams with duplicates, disorder, late and malformed messages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 250 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 2 }),
        async (steps, batchSize, formatSeed) => {
          const built = build(steps, formatSeed);
          const { engine } = await runMessages(config, built.messages, { batchSize });
          const expected = oracle(built);
          const c = engine.state.counters;

          expect(c.input).toBe(built.messages.length);
          expect(c.applied + c.duplicate + c.late + c.rejected).toBe(c.input);
          expect({ applied: c.applied, duplicate: c.duplicate, late: c.late, rejected: c.rejected }).toEqual({
            applied: expected.applied.length,
            duplicate: expected.duplicate,
            late: expected.late,
            rejected: expected.rejected,
          });
          if (expected.applied.length === 0) return;
          expect(engine.state.watermark.watermark).toBe(expected.asOf);

          const lookup = (p: string) => engine.state.store.products.lookup(p)!;
          for (const view of dump(engine) as {
            customerId: string;
            windows: Record<string, any>;
            events: number;
            revenue: number;
            purchases: number;
            firstSeen: number;
            lastSeen: number;
            purchaseGap: { count: number; meanMs: number; varianceMs2: number };
          }[]) {
            const mine = expected.applied.filter((e) => e.customerId === view.customerId);
            const want = windowOracle(expected.applied, view.customerId, expected.asOf, lookup);
            for (const w of windows) {
              const got = view.windows[w.name];
              expect(got.counts).toEqual(want[w.name]!.counts);
              expect(got.revenue).toBeCloseTo(want[w.name]!.revenue, 6);
              expect(got.orders).toBe(want[w.name]!.counts.purchase);
              expect(got.distinctProductsViewed).toBe(distinctEstimate(want[w.name]!.bits));
            }
            // Totals over all time.
            expect(view.events).toBe(mine.length);
            expect(view.firstSeen).toBe(Math.min(...mine.map((e) => e.ts)));
            expect(view.lastSeen).toBe(Math.max(...mine.map((e) => e.ts)));
            const purchases = mine.filter((e) => e.type === 'purchase');
            expect(view.purchases).toBe(purchases.length);
            expect(view.revenue).toBeCloseTo(
              purchases.reduce((s, e) => s + orderRevenue(e), 0),
              6,
            );
            // Gaps: between a purchase and the latest earlier-stamped one, in arrival order.
            const gaps: number[] = [];
            let last: number | undefined;
            for (const p of purchases) {
              if (last === undefined) last = p.ts;
              else if (p.ts > last) {
                gaps.push(p.ts - last);
                last = p.ts;
              }
            }
            expect(view.purchaseGap.count).toBe(gaps.length);
            if (gaps.length > 0) {
              const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
              expect(view.purchaseGap.meanMs).toBeCloseTo(mean, 3);
              if (gaps.length > 1) {
                const variance = gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / (gaps.length - 1);
                expect(Math.abs(view.purchaseGap.varianceMs2 - variance)).toBeLessThanOrEqual(
                  1e-9 * Math.max(1, variance),
                );
              }
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives the same state whatever the batch boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 2, max: 50 }),
        async (steps, size) => {
          const built = build(steps, 0);
          const one = await runMessages(config, built.messages, { batchSize: 1 });
          const many = await runMessages(config, built.messages, { batchSize: size });
          expect(dump(many.engine)).toEqual(dump(one.engine));
          expect(many.signals).toEqual(one.signals);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('distinct products sketch', () => {
  it('is unbiased within 10% and off by under 20% on average for up to 60 distinct products', () => {
    for (const n of [1, 5, 10, 20, 40, 60]) {
      let total = 0;
      let absError = 0;
      const trials = 500;
      for (let t = 0; t < trials; t++) {
        let bits = 0;
        // Interned ids are consecutive integers, as the product dictionary hands them out.
        for (let k = 0; k < n; k++) bits |= productBit(1 + t * 1000 + k);
        const estimate = distinctEstimate(bits);
        total += estimate;
        absError += Math.abs(estimate - n);
      }
      expect(Math.abs(total / trials - n) / n).toBeLessThan(0.1);
      expect(absError / trials / n).toBeLessThan(0.2);
    }
    expect(distinctEstimate(0)).toBe(0);
    expect(distinctEstimate(productBit(7))).toBe(1);
  });
});
