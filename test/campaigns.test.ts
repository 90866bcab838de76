import { describe, expect, it } from 'vitest';
import { BASELINE, CampaignCohorts } from '../src/analytics/campaigns/cohorts.js';
import { newcombeDifference, wilson } from '../src/analytics/campaigns/wilson.js';
import { canonicalEvent, type CanonicalEvent } from '../src/core/event.js';
import { Engine } from '../src/app/engine.js';
import { Random } from '../src/edges/demo/random.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);

describe('score intervals', () => {
  it('match Newcombe (1998), table II examples', () => {
    // Wilson 95 % for 81/263: 0.2553–0.3662 (Newcombe 1998a, table I, example (c)).
    const w = wilson(81, 263);
    expect(w.lo).toBeCloseTo(0.2553, 4);
    expect(w.hi).toBeCloseTo(0.3662, 4);
    // Method 10 for 56/70 − 48/80: 0.0524–0.3339 (table II, example (a)).
    const d = newcombeDifference(56, 70, 48, 80);
    expect(d.lo).toBeCloseTo(0.0524, 4);
    expect(d.hi).toBeCloseTo(0.3339, 4);
  });
});

/**
 * A synthetic shop's campaign with a known effect: customers arrive over 60 days, a share
 * through the campaign; each comes back within 30 days with probability 0.40 through the
 * campaign and 0.30 without (the true uplift 0.10), at a uniform time in that window.
 */
function campaignEvents(seed: number, customers: number): CanonicalEvent[] {
  const r = new Random(seed);
  const events: CanonicalEvent[] = [];
  for (let i = 0; i < customers; i++) {
    const viaCampaign = r.chance(0.3);
    const ts = START + Math.floor(r.next() * 60 * DAY);
    const customerId = `c${i}`;
    const base = { customerId, type: 'purchase' as const, items: [{ productId: 'p', price: 20, quantity: 1 }] };
    events.push({
      ...base,
      id: `${customerId}-1`,
      ts,
      orderId: `${customerId}-1`,
      ...(viaCampaign && { campaign: { id: 'summer', channel: 'email' }, coupon: 'SUMMER10' }),
    });
    if (r.chance(viaCampaign ? 0.4 : 0.3)) {
      const back = ts + 1 + Math.floor(r.next() * (30 * DAY - 1));
      events.push({ ...base, id: `${customerId}-2`, ts: back, orderId: `${customerId}-2` });
    }
  }
  return events.sort((a, b) => a.ts - b.ts);
}

describe('campaign cohorts', () => {
  it('count reach, conversions, first-time and returning buyers, and repeats in closed windows only', () => {
    const c = new CampaignCohorts();
    const p = (customerId: string, day: number, campaign?: string): CanonicalEvent => ({
      id: `${customerId}-${day}`,
      customerId,
      type: 'purchase',
      ts: START + day * DAY,
      orderId: `${customerId}-${day}`,
      items: [{ productId: 'p', price: 10, quantity: 2 }],
      ...(campaign && { campaign: { id: campaign } }),
    });
    c.onEvent({ id: 'v', customerId: 'a', type: 'page_view', ts: START, campaign: { id: 'x' } });
    for (const e of [p('a', 0, 'x'), p('b', 0), p('a', 10), p('b', 40), p('c', 50), p('c', 55, 'x'), p('d', 70, 'x')])
      c.onEvent(e);
    const r = c.report('x', START + 100 * DAY)!;
    expect([r.reached, r.converted, r.firstTimeBuyers, r.returningBuyers]).toEqual([3, 2, 2, 1]); // reached: a, c, d (any event through x)
    expect(r.revenuePerCustomer).toBe((20 + 20 + 20) / 2);
    const d30 = r.repeat[0]!;
    // a (x, back on day 10) and d (x, day 70: window closed at 100); b and c in the baseline.
    expect([d30.eligible, d30.campaignRate.estimate, d30.baselineEligible, d30.baselineRate.estimate]).toEqual([
      2, 0.5, 2, 0.5,
    ]);
    expect(r.repeat[2]!.eligible).toBe(1); // d's 90 days are not over
    expect(c.report(BASELINE, START)).toBeUndefined();
  });

  it('events with campaign attribution are valid canonical events', () => {
    for (const e of campaignEvents(1, 50)) expect(canonicalEvent.safeParse(e).success).toBe(true);
    const bad = canonicalEvent.safeParse({
      id: 'e',
      customerId: 'c',
      type: 'page_view',
      ts: START,
      campaign: { id: '' },
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['campaign', 'id']);
  });

  it('uplift intervals cover the true effect at their stated rate over many seeds', () => {
    const trueUplift = 0.1;
    const seeds = 250;
    const covered = { 0.8: 0, 0.95: 0 };
    let supported = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const c = new CampaignCohorts();
      for (const e of campaignEvents(seed, 800)) c.onEvent(e);
      for (const level of [0.8, 0.95] as const) {
        const u = c.report('summer', START + 200 * DAY, level)!.repeat[0]!;
        expect(u.eligible + u.baselineEligible).toBe(800);
        if (u.uplift.lo <= trueUplift && trueUplift <= u.uplift.hi) covered[level]++;
        if (level === 0.95 && u.supported) supported++;
      }
    }
    // Binomial spread of a coverage over 250 seeds: ±0.025 at 0.8, ±0.014 at 0.95 (1 sd); the bounds are 3 sd.
    expect(covered[0.8] / seeds).toBeGreaterThan(0.725);
    expect(covered[0.8] / seeds).toBeLessThan(0.875);
    expect(covered[0.95] / seeds).toBeGreaterThan(0.91);
    expect(covered[0.95] / seeds).toBeLessThan(0.99);
    // With no true effect the interval claims an uplift only about 2.5 % of the time; here it has power.
    expect(supported / seeds).toBeGreaterThan(0.5);
  });
});

describe('campaign cohorts in the engine', () => {
  it('report what the cohorts computed from the same events give, and survive snapshot and restore', async () => {
    const events = campaignEvents(3, 400);
    const messages = events.map((e) => message(e));
    const config = testConfig();
    const whole = await runMessages(config, messages, { batchSize: 37 });
    const direct = new CampaignCohorts();
    for (const e of events) direct.onEvent(e);
    const asOf = whole.engine.state.watermark.watermark;
    expect(whole.engine.state.campaigns!.report('summer', asOf)).toEqual(direct.report('summer', asOf));

    const cut = Math.floor(messages.length / 2);
    const first = await runMessages(config, messages.slice(0, cut), { batchSize: 37, finite: false });
    const resumed = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
    resumed.state.restore(first.engine.state.snapshot(), 0);
    await runMessages(config, messages.slice(cut), { engine: resumed, batchSize: 37 });
    expect(resumed.state.campaigns!.snapshot()).toEqual(whole.engine.state.campaigns!.snapshot());
  });
});
