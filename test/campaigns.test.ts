import { describe, expect, it } from 'vitest';
import { BASELINE, CampaignCohorts, type CampaignCohortsOptions } from '../src/analytics/campaigns/cohorts.js';
import { alertSchema, type AlertOf } from '../src/alerts/alert.js';
import { newcombeDifference, wilson } from '../src/analytics/campaigns/wilson.js';
import { canonicalEvent, type CanonicalEvent } from '../src/core/event.js';
import { Engine } from '../src/app/engine.js';
import { Random } from '../src/edges/demo/random.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';
import { oracleReports, shopWithCampaigns } from './support/campaign-oracle.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const OPTIONS: CampaignCohortsOptions = {
  maxLive: 1000,
  keepReports: 200,
  level: 0.95,
  maxCustomers: Number.MAX_SAFE_INTEGER,
  latenessMs: 0,
};

/** Cohorts fed as the engine feeds them: whether a purchase is the customer's first, as keyed state counts. */
function cohortsOf(events: readonly CanonicalEvent[], options: Partial<CampaignCohortsOptions> = {}) {
  const cohorts = new CampaignCohorts({ ...OPTIONS, ...options });
  const buyers = new Set<string>();
  const feed = (e: CanonicalEvent) => {
    const first = e.type === 'purchase' && !buyers.has(e.customerId);
    if (e.type === 'purchase') buyers.add(e.customerId);
    cohorts.advance(e.ts); // a watermark at the event's time: input in order, no lateness
    cohorts.onEvent(e, first);
  };
  for (const e of events) feed(e);
  return { cohorts, feed };
}

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
    const p = (customerId: string, day: number, campaign?: string): CanonicalEvent => ({
      id: `${customerId}-${day}`,
      customerId,
      type: 'purchase',
      ts: START + day * DAY,
      orderId: `${customerId}-${day}`,
      items: [{ productId: 'p', price: 10, quantity: 2 }],
      ...(campaign && { campaign: { id: campaign } }),
    });
    const { cohorts: c } = cohortsOf([
      { id: 'v', customerId: 'a', type: 'page_view', ts: START, campaign: { id: 'x' } },
      ...[p('a', 0, 'x'), p('b', 0), p('a', 10), p('b', 40), p('c', 50), p('c', 55, 'x'), p('d', 70, 'x')],
    ]);
    const r = c.report('x', START + 100 * DAY)!;
    expect(r.final).toBe(false);
    // reached: a, c, d (any event through x); converted: a and d first-time, c returning.
    expect([r.reached, r.converted, r.firstTimeBuyers, r.returningBuyers]).toEqual([3, 3, 2, 1]);
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

  it('uplift intervals cover the synthetic shop campaign’s true effect at their stated rate over many seeds', () => {
    // The shop's campaign brings a first-time buyer back within 30 days with probability 0.3,
    // on top of their own rhythm: the true uplift is 0.3 (1 − q), q the period's first-time
    // buyers' own 30-day repeat rate (shop-campaigns.ts). q is a property of the shop, the same
    // for every seed; it is taken from the baselines pooled over all seeds, whose error is a
    // small fraction of one interval's half-width (one seed's cohort against all seeds' baselines).
    const effect = 0.3;
    const seeds = 200;
    const rows: { level: number; lo: number; hi: number }[][] = [];
    let baselineN = 0;
    let baselineRepeats = 0;
    let campaignN = 0;
    let entrants = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const shop = new SyntheticShop({
        seed,
        customers: 300,
        products: 60,
        startTs: START,
        endTs: START + 75 * DAY,
        campaigns: [{ id: 'promo', startTs: START + 5 * DAY, endTs: START + 35 * DAY, reach: 0.3, effect }],
      });
      // Cohorts read purchases and attributed events only.
      const { cohorts } = cohortsOf([...shop].filter((e) => e.type === 'purchase' || e.campaign !== undefined));
      entrants += shop.truth.campaigns.get('promo')!.entrants;
      const row = [0.8, 0.95].map((level) => {
        const u = cohorts.report('promo', START + 75 * DAY, level)!.repeat[0]!;
        return { level, lo: u.uplift.lo, hi: u.uplift.hi, u };
      });
      const u = row[0]!.u;
      campaignN += u.eligible;
      baselineN += u.baselineEligible;
      baselineRepeats += Math.round(u.baselineRate.estimate! * u.baselineEligible);
      rows.push(row);
    }
    // Every first-time buyer through the campaign is in its cohort, and its 30 days are over.
    expect(campaignN).toBe(entrants);
    expect(campaignN / seeds).toBeGreaterThan(15);
    const q = baselineRepeats / baselineN;
    expect(q).toBeGreaterThan(0.2);
    expect(q).toBeLessThan(0.9);
    const trueUplift = effect * (1 - q);
    const coverage = (level: number) =>
      rows.filter((r) => r.some((x) => x.level === level && x.lo <= trueUplift && trueUplift <= x.hi)).length / seeds;
    // Binomial spread of a coverage over 200 seeds (1 sd): 0.028 at 0.8, 0.015 at 0.95; the bounds are 3 sd.
    expect(coverage(0.8)).toBeGreaterThan(0.8 - 0.085);
    expect(coverage(0.8)).toBeLessThan(0.8 + 0.085);
    expect(coverage(0.95)).toBeGreaterThan(0.95 - 0.046);
    expect(coverage(0.95)).toBeLessThanOrEqual(1);
  });
});

describe('campaign cohorts in the engine', () => {
  it('report what the cohorts computed from the same events give, and survive snapshot and restore', async () => {
    const events = campaignEvents(3, 400);
    const messages = events.map((e) => message(e));
    const config = testConfig();
    const whole = await runMessages(config, messages, { batchSize: 37 });
    const { cohorts: direct } = cohortsOf(events);
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

const reportsOf = (batches: { alerts: unknown[] }[]) =>
  batches
    .flatMap((b) => b.alerts)
    .filter((a): a is AlertOf<'campaign.report'> => (a as AlertOf<'campaign.report'>).type === 'campaign.report');

describe('campaign.report', () => {
  const events = shopWithCampaigns(7, 1500);
  const messages = events.map((e) => message(e));
  const config = testConfig();

  it('is emitted once per closed window, with the numbers a brute-force recount gives, whatever the batches', async () => {
    const oracle = oracleReports(events);
    const runs = await Promise.all([3, 64, 1000].map((batchSize) => runMessages(config, messages, { batchSize })));
    const reports = reportsOf(runs[0]!.batches);
    for (const run of runs.slice(1)) expect(reportsOf(run.batches)).toEqual(reports);
    // spring and summer close before the input ends (300 days), autumn (240 + 90) does not.
    expect(reports.map((a) => a.data.campaign)).toEqual(['spring', 'summer']);
    for (const alert of reports) {
      expect(alertSchema.parse(alert)).toEqual(alert);
      const want = oracle.get(alert.data.campaign)!;
      const d = alert.data;
      expect(alert.ts).toBe(want.close);
      expect([d.final, d.asOf, d.firstSeen, d.lastSeen]).toEqual([true, want.close, want.firstSeen, want.lastSeen]);
      expect([d.reached, d.firstTimeBuyers, d.returningBuyers, d.converted]).toEqual([
        want.reached,
        want.firstTimeBuyers,
        want.returningBuyers,
        want.firstTimeBuyers + want.returningBuyers,
      ]);
      expect(d.firstTimeBuyers).toBeGreaterThan(50);
      expect(d.returningBuyers).toBeGreaterThan(5);
      expect(d.revenuePerCustomer).toBeCloseTo(want.revenuePerCustomer, 9);
      d.repeat.forEach((got, k) => {
        const w = want.repeat[k]!;
        expect([got.days, got.eligible, got.baselineEligible]).toEqual([w.days, w.n, w.bn]);
        expect(got.campaignRate.estimate).toBeCloseTo(w.s / w.n, 12);
        expect(got.baselineRate.estimate).toBeCloseTo(w.bs / w.bn, 12);
        expect([got.uplift.lo, got.uplift.hi]).toEqual([w.lo, w.hi]);
        expect(got.supported).toBe(w.lo > 0);
      });
      expect(d.verdict).toBe(want.verdict);
    }
    // The live campaign's report is still open, over the windows closed by the watermark.
    const state = runs[0]!.engine.state.campaigns!;
    const autumn = state.report('autumn', runs[0]!.engine.state.watermark.watermark)!;
    expect(autumn.final).toBe(false);
    expect(autumn.repeat[2]!.eligible).toBeLessThan(autumn.firstTimeBuyers); // some 90-day windows still open
    expect(runs[0]!.engine.state.alerts!.emitted['campaign.report']).toBe(2);
  });

  it('never claims an uplift the interval does not support: no effect, no uplift verdicts beyond the level', () => {
    let claimed = 0;
    const seeds = 200;
    for (let seed = 1; seed <= seeds; seed++) {
      // The same arrival and return process for everyone: campaign and baseline differ by chance only.
      // The same return chance for everyone: campaign and baseline differ by chance only.
      const events = nullEffect(campaignEvents(seed, 400), seed);
      const { cohorts } = cohortsOf(events);
      cohorts.advance(START + 400 * DAY);
      const r = cohorts.report('summer', 0)!;
      expect(r.final).toBe(true);
      if (r.verdict === 'uplift') claimed++;
      expect(r.verdict === 'uplift').toBe(r.repeat[2]!.uplift.lo > 0);
    }
    // One-sided 2.5 % at the 95 % level: 5 of 200 expected; 3 sd of a binomial is about 6.6.
    expect(claimed).toBeLessThanOrEqual(12);
  });

  it('drops a closed campaign’s customers, keeps its report, and survives snapshot and restore', async () => {
    const cut = Math.floor(messages.length * 0.45);
    const first = await runMessages(config, messages.slice(0, cut), { batchSize: 101, finite: false });
    const s = first.engine.state.campaigns!;
    const before = s.snapshot();
    expect(before.live.map(([id]) => id)).toContain('summer');
    const resumed = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
    resumed.state.restore(first.engine.state.snapshot(), 0);
    expect(resumed.state.campaigns!.snapshot()).toEqual(before);
    const rest = messages.slice(cut);
    const [a, b] = await Promise.all([
      runMessages(config, rest, { engine: first.engine, batchSize: 101 }),
      runMessages(config, rest, { engine: resumed, batchSize: 57 }),
    ]);
    expect(reportsOf(b.batches)).toEqual(reportsOf(a.batches));
    const after = resumed.state.campaigns!.snapshot();
    expect(after).toEqual(first.engine.state.campaigns!.snapshot());
    // Reported campaigns keep no customers: no entries, not in the live set; their reports stay.
    expect(after.live.map(([id]) => id)).toEqual(['autumn']);
    expect(after.entries.cohort.filter((c) => c === 'spring' || c === 'summer')).toEqual([]);
    expect(after.reports.map((r) => r.campaign)).toEqual(['spring', 'summer']);
    expect(resumed.state.campaigns!.report('summer', 0)).toEqual(after.reports[1]);
    // Baseline entrants from before autumn's period, needed by no campaign, are gone too.
    const autumnStart = after.live[0]![1].firstSeen;
    const settled = resumed.state.watermark.watermark - config.eventTime.allowedLatenessMs;
    const oldest = Math.min(...after.entries.enteredAt);
    expect(oldest).toBeGreaterThanOrEqual(Math.min(autumnStart, settled - DAY));
  });

  it('counts what exceeds the live bound, and events of a reported campaign', () => {
    const events = shopWithCampaigns(3, 600);
    // One live campaign at a time: summer runs while spring's window is open (it closes on day 120).
    const limited = cohortsOf(events, { maxLive: 1 });
    const summer = events.filter((e) => e.campaign?.id === 'summer');
    expect(summer.length).toBeGreaterThan(50);
    expect(limited.cohorts.outcomes.overLimit).toBe(summer.length);
    expect(limited.cohorts.campaigns()).toEqual(['autumn', 'spring']);
    expect(limited.cohorts.report('summer', START + 300 * DAY)).toBeUndefined();
    // Summer's buyers are in no cohort, neither its own nor the baseline.
    const oracle = oracleReports(events.filter((e) => e.campaign?.id !== 'summer'));
    const spring = limited.cohorts.report('spring', 0)!;
    expect(spring.repeat[2]!.baselineEligible).toBe(oracle.get('spring')!.repeat[2]!.bn);

    const { cohorts, feed } = cohortsOf(events, { maxLive: 2 });
    expect(cohorts.outcomes.overLimit).toBe(0);
    cohorts.advance(START + 400 * DAY);
    expect([cohorts.liveCount(), cohorts.entryCount()]).toEqual([0, 0]);
    expect(cohorts.finalReports().map((r) => r.campaign)).toEqual(['autumn', 'summer', 'spring']);
    feed({ id: 'late-v', customerId: 'c1', type: 'page_view', ts: START + 401 * DAY, campaign: { id: 'spring' } });
    expect(cohorts.outcomes.afterReport).toBe(1);
    expect(cohorts.liveCount()).toBe(0);
  });
});

/** `campaignEvents` with the campaign's return chance made the baseline's: no true effect. */
function nullEffect(events: CanonicalEvent[], seed: number): CanonicalEvent[] {
  const r = new Random(seed * 7919);
  const campaignCustomers = new Set(events.filter((e) => e.campaign).map((e) => e.customerId));
  // Thin the campaign's returns from 0.4 to 0.3: keep each with probability 0.75.
  return events.filter((e) => !(campaignCustomers.has(e.customerId) && e.id.endsWith('-2') && !r.chance(0.75)));
}
