import { describe, expect, it } from 'vitest';
import type { AlertOf } from '../src/alerts/alert.js';
import { expectedPurchases, probabilityAlive, timeWhenAliveFallsTo } from '../src/analytics/bgnbd.js';
import { ALIVE_TIMER, CHURN_TIMER } from '../src/analytics/customer-analytics.js';
import { repeatStats, TIME_UNITS } from '../src/analytics/repeat-stats.js';
import type { Engine } from '../src/app/engine.js';
import type { EngineBatch as Batch } from '../src/app/engine.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';

/**
 * The churn timer at BG/NBD's closed-form P(alive) crossing, in the running engine: a buyer
 * who stops has a timer at exactly `timeWhenAliveFallsTo` of their x, t_x, T under the
 * engine's parameters (the oracle), and its firing warns with rule `bgnbd_p_alive` when
 * the visit posterior corroborates.
 */
const DAY = 86_400_000;
const WEEK = TIME_UNITS.week;
const T0 = Date.UTC(2026, 0, 5);
const BUYER = 'weekly-buyer';
const FEW = 'two-orders';
const FLOOR = 0.3;

/** One session: a view, then (with `order`) a cart and a purchase a minute apart. */
function session(customerId: string, ts: number, order: boolean, n: number): Record<string, unknown>[] {
  const view = { id: `${customerId}-v${n}`, type: 'product_view', customerId, ts, productId: 'p1', price: 20 };
  if (!order) return [view];
  return [
    view,
    { id: `${customerId}-c${n}`, type: 'add_to_cart', customerId, ts: ts + 60_000, productId: 'p1', price: 20 },
    {
      id: `${customerId}-o${n}`,
      type: 'purchase',
      customerId,
      ts: ts + 120_000,
      orderId: `${customerId}-o${n}`,
      items: [{ productId: 'p1', price: 20, quantity: 1 }],
    },
  ];
}

/** Days [from, to): a buyer ordering weekly for five weeks (a visit between orders), one with two orders, and a browser whose daily visits move event time on. */
function timeline(from: number, to: number) {
  const events: Record<string, unknown>[] = [];
  for (let d = from; d < to; d++) {
    events.push({ id: `clock-${d}`, type: 'page_view', customerId: 'clock', ts: T0 + d * DAY + 12 * 3_600_000 });
    if (d <= 35 && d % 7 === 0) events.push(...session(BUYER, T0 + d * DAY + 10 * 3_600_000, true, d));
    if (d <= 35 && d % 7 === 3) events.push(...session(BUYER, T0 + d * DAY + 10 * 3_600_000, false, d));
    if (d === 1 || d === 20) events.push(...session(FEW, T0 + d * DAY + 9 * 3_600_000, true, d));
  }
  return events.sort((a, b) => (a.ts as number) - (b.ts as number)).map((e) => message(e));
}

/** The armed P(alive) timer and the oracle: the closed-form crossing from the customer's x, t_x, T and the engine's parameters now. */
function aliveTimer(engine: Engine, customerId: string): { armed: number; crossing: number; watermark: number } {
  const store = engine.state.store;
  const slot = store.slotOf(customerId)!;
  const t = store.transactionStats(slot)!;
  const watermark = engine.state.watermark.watermark;
  const age = timeWhenAliveFallsTo(engine.state.analytics!.bgnbd, repeatStats(t, watermark, 'week'), FLOOR);
  return {
    armed: store.timers.dueTime(slot, store.timers.kinds.indexOf(ALIVE_TIMER)),
    crossing: Math.ceil(t.first + age * WEEK),
    watermark,
  };
}

function churnOf(batches: readonly Batch[], customerId: string): AlertOf<'churn.risk'>[] {
  return batches
    .flatMap((b) => b.alerts)
    .filter((a): a is AlertOf<'churn.risk'> => a.type === 'churn.risk' && a.customerId === customerId);
}

/** Runs the timeline in three legs on one engine, so the timers can be read in between. */
async function run(churn: Record<string, number>, legs: readonly number[]) {
  const config = testConfig({ analytics: { churn: { pAliveFloor: FLOOR, ...churn } } });
  let engine: Engine | undefined;
  const batches: Batch[] = [];
  const timers: ReturnType<typeof aliveTimer>[] = [];
  for (let i = 1; i < legs.length; i++) {
    const r = await runMessages(config, timeline(legs[i - 1]!, legs[i]!), engine === undefined ? {} : { engine });
    engine = r.engine;
    batches.push(...r.batches);
    timers.push(aliveTimer(engine, BUYER));
  }
  return { engine: engine!, batches, timers };
}

describe('churn: the BG/NBD P(alive) timer', () => {
  it('is armed at the closed-form crossing, and its firing warns (bgnbd_p_alive) when the visits corroborate', async () => {
    // Visits alone would need 0.999; below the P(alive) floor they need 0.7.
    const { engine, batches, timers } = await run({ warnAt: 0.999, corroborateAt: 0.7 }, [0, 40, 85, 300]);
    const [afterOrders, beforeCrossing] = timers;
    // Never late; an earlier check (armed at a previous order) may still be pending...
    expect(afterOrders!.armed).toBeLessThanOrEqual(afterOrders!.crossing);
    // ...and once it fired it re-armed at exactly the crossing (still ahead on day 84).
    expect(beforeCrossing!.crossing).toBeGreaterThan(beforeCrossing!.watermark);
    expect(afterOrders!.armed).toBeLessThan(beforeCrossing!.watermark);
    expect(beforeCrossing!.armed).toBe(beforeCrossing!.crossing);

    const warnings = churnOf(batches, BUYER);
    expect(warnings).toHaveLength(1);
    const [w] = warnings as [AlertOf<'churn.risk'>];
    expect(w.ts).toBe(beforeCrossing!.crossing);
    expect(w.data.rule).toBe('bgnbd_p_alive');
    expect(w.score).toBeGreaterThanOrEqual(0.7);
    expect(w.score).toBeLessThan(0.999);
    // P(alive) and expected purchases as of the crossing under the engine's parameters; CLV as of the last order.
    const store = engine.state.store;
    const t = store.transactionStats(store.slotOf(BUYER)!)!;
    const params = engine.state.analytics!.bgnbd;
    const stats = repeatStats(t, w.ts, 'week');
    expect(w.data.pAlive).toBe(probabilityAlive(params, stats));
    expect(w.data.pAlive).toBeLessThan(FLOOR);
    expect(w.data.pAlive).toBeGreaterThan(FLOOR - 1e-6);
    expect(w.data.expectedPurchases).toBeCloseTo(expectedPurchases(params, stats, (365 * DAY) / WEEK), 9);
    expect(w.data.clv).toBeCloseTo(engine.state.analytics!.insight(BUYER, t.last)!.clv!, 9);
    expect(w.data.clv).toBeGreaterThan(0);
    expect(w.data.lastPurchaseTs).toBe(t.last);
    // The reasons name each piece of evidence that holds.
    expect(w.reasons.join('\n')).toMatch(/P\(stopped buying\) 0\.\d\d from visits/);
    expect(w.reasons.join('\n')).toMatch(/BG\/NBD P\(alive\) 0\.30 from purchases, fell below 0\.3/);
    expect(w.reasons.join('\n')).toMatch(
      /visits dropped: none for \d+ days against one about every [\d.]+ days while buying \(own baseline\)/,
    );
    expect(w.reasons.join('\n')).toMatch(/\d+ days since the last purchase, beyond their usual gap of 7 days/);

    // Two orders are one gap: the usual gap is the population's, pooled at the refits.
    const few = churnOf(batches, FEW);
    expect(few).toHaveLength(1);
    expect(few[0]!.reasons.join('\n')).toMatch(
      /beyond the population's usual gap \(they have fewer than 3 gaps of their own\)/,
    );
  });

  it('when the visits do not corroborate at the crossing, the lowered bar holds from then on', async () => {
    const corroborated = await run({ warnAt: 0.999, corroborateAt: 0.7 }, [0, 85, 300]);
    const crossing = corroborated.timers[0]!.crossing;
    const atCrossing = churnOf(corroborated.batches, BUYER)[0]!.score;
    // A bar above what the visits say at the crossing: no warning then, one when they reach it.
    const corroborateAt = (atCrossing + 0.999) / 2;
    const { batches } = await run({ warnAt: 0.999, corroborateAt }, [0, 85, 300]);
    const [w, ...more] = churnOf(batches, BUYER);
    expect(more).toHaveLength(0);
    expect(w!.ts).toBeGreaterThan(crossing);
    expect(w!.data.rule).toBe('bgnbd_p_alive');
    expect(w!.score).toBeGreaterThanOrEqual(corroborateAt);
    expect(w!.score).toBeLessThan(0.999);
  });

  it('without the P(alive) evidence (corroborateAt = warnAt) the visits alone decide, later', async () => {
    const { batches, timers } = await run({ warnAt: 0.999, corroborateAt: 0.999 }, [0, 85, 300]);
    const [w, ...more] = churnOf(batches, BUYER);
    expect(more).toHaveLength(0);
    expect(w!.ts).toBeGreaterThan(timers[0]!.crossing);
    expect(w!.data.rule).toBe('stopped_visiting');
    expect(w!.score).toBeGreaterThanOrEqual(0.999);
  });
});

describe('churn: the check a session arms', () => {
  it('is provisional: it fires before the crossing, places the real check there, and that one warns', async () => {
    const { batches } = await run({ warnAt: 0.999, corroborateAt: 0.999 }, [0, 85, 300]);
    const lastSession = T0 + 35 * DAY + 10 * 3_600_000;
    const checks = batches
      .flatMap((b) => b.signals)
      .flatMap((s) =>
        s.kind === 'timer' && s.timer === CHURN_TIMER && s.customerId === BUYER && s.due > lastSession ? [s.due] : [],
      );
    const [w, ...more] = churnOf(batches, BUYER);
    expect(more).toHaveLength(0);
    // The session armed a check short of the crossing (searching only when it fires), which
    // armed the real one: the warning comes at that one's due time, and nothing fires after.
    expect(checks).toHaveLength(2);
    const [provisional, real] = checks as [number, number];
    expect(provisional).toBeLessThan(real);
    expect(real).toBe(w!.ts);
    expect(w!.score).toBeGreaterThanOrEqual(0.999);
    expect(w!.data.rule).toBe('stopped_visiting');
  });
});
