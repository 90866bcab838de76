import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AlertOf } from '../src/alerts/alert.js';
import { encodePayload } from '../src/edges/encode.js';
import { Outcome } from '../src/core/batch.js';
import { orderRevenue } from '../src/core/event.js';
import { AlertLatency, ALERT_LATENCY_BUCKETS } from '../src/server/alert-latency.js';
import { KpiTracker, UNSCORED } from '../src/server/kpi.js';
import { LatencyRecorder } from '../src/server/latency.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { runMessages, testConfig } from './support/engine-harness.js';

/**
 * The kpi frame's per-minute figures against brute force: batches of a real engine run are
 * observed at chosen processing times, and the last-minute funnel must equal the sums over
 * exactly the batches observed in the 60 one-second buckets before the frame; revenue, the
 * sum over the applied purchases whose own event time is in the minute up to the newest one.
 */
describe('kpi summary', () => {
  it('funnel (processing time) and revenue (event time) of the last minute equal brute-force sums', async () => {
    const shop = new SyntheticShop({
      seed: 8,
      customers: 300,
      products: 200,
      startTs: Date.UTC(2025, 0, 1),
      endTs: Date.UTC(2025, 1, 1),
    });
    const messages = [];
    for (let e = shop.next(); e !== undefined; e = shop.next())
      messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 's', receivedAt: 0 });
    const { engine, batches } = await runMessages(testConfig(), messages, { batchSize: 31 });
    expect(batches.length).toBeGreaterThan(200);
    let clock = 0;
    const latency = await AlertLatency.create(() => clock);
    const kpi = new KpiTracker(engine.state, latency, () => clock);
    const seenAt: number[] = [];
    // Irregular steps, with a pause longer than a minute in the middle.
    batches.forEach((b, i) => {
      clock += i === Math.floor(batches.length / 2) ? 75_000 : 137 + (i % 7) * 211;
      seenAt.push(clock);
      kpi.observe(b);
    });
    for (const extra of [0, 20_000, 59_000, 61_000]) {
      clock = seenAt.at(-1)! + extra;
      const frame = kpi.frame();
      const nowSec = Math.floor(clock / 1000);
      const want = { views: 0, carts: 0, checkouts: 0, purchases: 0 };
      let revenue = 0;
      const lastSecond = Math.floor(engine.state.watermark.maxEventTime / 1000);
      for (const b of batches) {
        b.events.forEach((e, k) => {
          if (e?.type === 'purchase' && b.outcome[k] === Outcome.applied && Math.floor(e.ts / 1000) > lastSecond - 60)
            revenue += orderRevenue(e);
        });
      }
      batches.forEach((b, i) => {
        if (Math.floor(seenAt[i]! / 1000) <= nowSec - 60) return;
        b.events.forEach((e, k) => {
          if (e === undefined || b.outcome[k] !== Outcome.applied) return;
          if (e.type === 'product_view') want.views++;
          else if (e.type === 'add_to_cart') want.carts++;
          else if (e.type === 'checkout_started') want.checkouts++;
          else if (e.type === 'purchase') want.purchases++;
        });
      });
      expect(frame.funnel, `+${extra} ms`).toEqual(want);
      expect(frame.revenuePerMinute).toBeCloseTo(revenue, 6);
      expect(frame.revenueCurrency).toBe(revenue > 0 ? 'EUR' : null);
      expect(frame.revenueByCurrency).toEqual(revenue > 0 ? { EUR: frame.revenuePerMinute } : {});
      if (extra === 0) expect(want.views).toBeGreaterThan(100);
      if (extra === 61_000) expect(want.views).toBe(0);
    }
    const s = engine.state;
    const frame = kpi.frame();
    expect(frame.customers).toBe(s.store.size);
    // Segment counts: the analytics' assigned segment of every customer in state, counted directly.
    const direct: Record<string, number> = {};
    for (const id of s.store.customerIds()) {
      const seg = s.analytics!.segmentOf(id);
      if (seg !== null) direct[seg] = (direct[seg] ?? 0) + 1;
    }
    const scored = Object.values(direct).reduce((a, b) => a + b, 0);
    expect(scored).toBeLessThan(s.store.size);
    expect(frame.segments).toEqual({ ...direct, [UNSCORED]: s.store.size - scored });
    expect(Object.values(frame.segments).reduce((a, b) => a + b, 0)).toBe(frame.customers);
    expect(Object.keys(direct).length).toBeGreaterThan(2);
    latency.close();
  });
});

describe('alert entry stamps (for message-in → frame-out latency)', () => {
  it('every alert is stamped with the entry time of the message that triggered it', async () => {
    const shop = new SyntheticShop({
      seed: 4,
      customers: 300,
      products: 200,
      startTs: Date.UTC(2025, 0, 1),
      endTs: Date.UTC(2025, 2, 1),
    });
    const messages: RawMessage[] = [];
    const orderAt = new Map<string, number>();
    for (let e = shop.next(); e !== undefined; e = shop.next()) {
      const receivedAt = messages.length + 1; // distinct, so a stamp names its message
      if (e.type === 'purchase') orderAt.set(e.orderId, receivedAt);
      messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 's', receivedAt });
    }
    const { batches } = await runMessages(testConfig(), messages, { batchSize: 64 });
    let crossSells = 0;
    for (const b of batches) {
      expect(b.alertEnteredAt.length).toBe(b.alerts.length);
      const inBatch = new Set(b.messages.map((m) => m.receivedAt));
      b.alerts.forEach((a, i) => {
        const at = b.alertEnteredAt[i]!;
        if (b.messages.length > 0) expect(inBatch.has(at)).toBe(true);
        else expect(at).toBe(b.startedAt);
        // A cross-sell is concluded at its purchase: stamped with that very message.
        if (a.type === 'recommendation.cross_sell') {
          expect(at).toBe(orderAt.get((a as AlertOf<'recommendation.cross_sell'>).data.orderId));
          crossSells++;
        }
      });
      // Stamps follow the batch's message order.
      for (let i = 1; i < b.alertEnteredAt.length; i++)
        expect(b.alertEnteredAt[i]!).toBeGreaterThanOrEqual(b.alertEnteredAt[i - 1]!);
    }
    expect(crossSells).toBeGreaterThan(20);
  });
});

describe('alert latency', () => {
  it('the last minute forgets older deliveries; the Prometheus buckets count every one', async () => {
    let clock = 0;
    const latency = await AlertLatency.create(() => clock);
    const reference = await LatencyRecorder.create();
    try {
      const all: number[] = [];
      // A catch-up backlog of slow deliveries, then a minute and more of fast ones.
      for (let i = 0; i < 500; i++) {
        latency.record(4000 + i);
        all.push(4000 + i);
      }
      for (clock = 1000; clock <= 130_000; clock += 500) {
        const ms = 0.2 + (clock % 7000) / 1000;
        latency.record(ms);
        all.push(ms);
        if (clock >= 70_000) reference.record(ms);
        if (clock % 1000 === 0) latency.lastMinute(); // as the kpi frame does, every second
      }
      // The window holds the last 60–70 s (10-s slots; a record lands in the slot current at the
      // last call, up to a second early): compare with what fell in 70–130 s.
      const minute = latency.lastMinute();
      expect(minute.p99).toBeLessThan(10);
      expect(minute.count).toBeGreaterThanOrEqual(reference.summary().count - 2);
      expect(minute.count).toBeLessThanOrEqual(reference.summary().count + 20);
      expect(latency.total.summary().count).toBe(all.length);
      const snap = latency.snapshot();
      const cumulative = [...ALERT_LATENCY_BUCKETS, Infinity].map((le) => all.filter((ms) => ms / 1000 <= le).length);
      expect(snap.cumulative).toEqual(cumulative);
      expect(snap.count).toBe(all.length);
      expect(snap.sum).toBeCloseTo(all.reduce((a, b) => a + b, 0) / 1000, 6);
      clock += 71_000;
      expect(latency.lastMinute().count).toBe(0);
    } finally {
      latency.close();
      reference.close();
    }
  });
});

describe('latency recorder', () => {
  it('adding one recorder to another gives the percentiles of recording everything into one', async () => {
    const [a, b, all] = [
      await LatencyRecorder.create(),
      await LatencyRecorder.create(),
      await LatencyRecorder.create(),
    ];
    try {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: 0, max: 5000, noNaN: true }), { maxLength: 200 }),
          fc.array(fc.double({ min: 0, max: 5000, noNaN: true }), { maxLength: 200 }),
          (xs, ys) => {
            for (const r of [a, b, all]) r.reset();
            for (const x of xs) {
              a.record(x);
              all.record(x);
            }
            for (const y of ys) {
              b.record(y);
              all.record(y);
            }
            a.add(b);
            expect(a.summary()).toEqual(all.summary());
            expect(a.summary().count).toBe(xs.length + ys.length);
          },
        ),
      );
    } finally {
      for (const r of [a, b, all]) r.close();
    }
  });
});
