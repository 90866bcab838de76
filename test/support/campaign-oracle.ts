import { orderRevenue, type CanonicalEvent } from '../../src/core/event.js';
import { newcombeDifference } from '../../src/analytics/campaigns/wilson.js';
import { Random } from '../../src/edges/demo/random.js';

const DAY = 86_400_000;
const WINDOWS = [30, 60, 90] as const;

/** A campaign's report recomputed by brute force from the whole event list (no lateness, no limits). */
export interface OracleReport {
  campaign: string;
  close: number;
  firstSeen: number;
  lastSeen: number;
  reached: number;
  firstTimeBuyers: number;
  returningBuyers: number;
  revenuePerCustomer: number;
  repeat: { days: number; n: number; s: number; bn: number; bs: number; lo: number; hi: number }[];
  verdict: 'uplift' | 'lower' | 'inconclusive' | 'no-data';
}

/**
 * Straight from the definitions in docs/analytics.md, scanning every event for every
 * campaign: a cohort is the customers whose first purchase came through the campaign; its
 * baseline, the customers whose first purchase had no campaign, within the campaign's period
 * (first to latest attributed event); a repeat within w days is any purchase after the first
 * and at most w days later; the window closes 90 days after the latest attributed event.
 */
export function oracleReports(events: readonly CanonicalEvent[], level = 0.95): Map<string, OracleReport> {
  type Purchase = Extract<CanonicalEvent, { type: 'purchase' }>;
  const purchases = new Map<string, Purchase[]>();
  for (const e of events)
    if (e.type === 'purchase') {
      const list = purchases.get(e.customerId) ?? [];
      list.push(e);
      purchases.set(e.customerId, list);
    }
  const first = new Map<string, Purchase>();
  for (const [c, list] of purchases)
    first.set(
      c,
      list.reduce((a, b) => (b.ts < a.ts ? b : a)),
    );
  const ids = [...new Set(events.flatMap((e) => (e.campaign ? [e.campaign.id] : [])))];
  const out = new Map<string, OracleReport>();
  for (const id of ids) {
    const attributed = events.filter((e) => e.campaign?.id === id);
    const firstSeen = Math.min(...attributed.map((e) => e.ts));
    const lastSeen = Math.max(...attributed.map((e) => e.ts));
    const reached = new Set(attributed.map((e) => e.customerId)).size;
    const cohort = [...first.values()].filter((f) => f.campaign?.id === id);
    const baseline = [...first.values()].filter(
      (f) => f.campaign === undefined && f.ts >= firstSeen && f.ts <= lastSeen,
    );
    const returners = new Set(
      attributed
        .filter((e) => e.type === 'purchase' && first.get(e.customerId)!.campaign?.id !== id)
        .map((e) => e.customerId),
    );
    const laterPurchases = (f: Purchase, w: number) =>
      purchases.get(f.customerId)!.filter((p) => p.ts > f.ts && p.ts <= f.ts + w * DAY);
    const revenue = cohort.reduce(
      (sum, f) => sum + orderRevenue(f) + laterPurchases(f, 90).reduce((s, p) => s + orderRevenue(p), 0),
      0,
    );
    const repeat = WINDOWS.map((days) => {
      const s = cohort.filter((f) => laterPurchases(f, days).length > 0).length;
      const bs = baseline.filter((f) => laterPurchases(f, days).length > 0).length;
      const d = newcombeDifference(s, cohort.length, bs, baseline.length, level);
      return { days, n: cohort.length, s, bn: baseline.length, bs, lo: d.lo, hi: d.hi };
    });
    const r90 = repeat[2]!;
    out.set(id, {
      campaign: id,
      close: lastSeen + 90 * DAY,
      firstSeen,
      lastSeen,
      reached,
      firstTimeBuyers: cohort.length,
      returningBuyers: returners.size,
      revenuePerCustomer: cohort.length > 0 ? revenue / cohort.length : 0,
      repeat,
      verdict: r90.n === 0 || r90.bn === 0 ? 'no-data' : r90.lo > 0 ? 'uplift' : r90.hi < 0 ? 'lower' : 'inconclusive',
    });
  }
  return out;
}

/** The shop's first day. */
export const CAMPAIGN_SHOP_START = Date.UTC(2026, 0, 1);
const START = CAMPAIGN_SHOP_START;

/**
 * Several campaigns over 300 days: customers arrive uniformly, through a campaign running
 * then (a view and a purchase carrying it) or not; buyers come back at exponential gaps,
 * sometimes through a running campaign (returning buyers); some only view a campaign.
 * `spring` and `summer` close within the run, `autumn` does not.
 */
const CAMPAIGNS = [
  { id: 'spring', from: 0, to: 30 },
  { id: 'summer', from: 60, to: 100 },
  { id: 'autumn', from: 200, to: 240 },
] as const;
export function shopWithCampaigns(seed: number, customers: number): CanonicalEvent[] {
  const r = new Random(seed);
  const events: CanonicalEvent[] = [];
  const runningAt = (ts: number) => CAMPAIGNS.find((c) => ts >= START + c.from * DAY && ts <= START + c.to * DAY)?.id;
  for (let i = 0; i < customers; i++) {
    const customerId = `c${i}`;
    let ts = START + Math.floor(r.next() * 300 * DAY);
    const running = runningAt(ts);
    const via = running !== undefined && r.chance(0.5) ? running : undefined;
    if (via !== undefined)
      events.push({ id: `${customerId}-v`, customerId, type: 'page_view', ts: ts - 1, campaign: { id: via } });
    if (via !== undefined && r.chance(0.2)) continue; // reached, never bought
    let n = 0;
    let campaign = via;
    while (ts < START + 300 * DAY && n < 8) {
      events.push({
        id: `${customerId}-${n}`,
        customerId,
        type: 'purchase',
        ts,
        orderId: `${customerId}-${n}`,
        items: [{ productId: `p${r.int(5)}`, price: 5 + r.int(40), quantity: 1 + r.int(2) }],
        ...(campaign !== undefined && { campaign: { id: campaign } }),
      });
      n++;
      ts += Math.floor(r.exponential((via !== undefined ? 35 : 50) * DAY)) + 1;
      const now = runningAt(ts);
      campaign = now !== undefined && r.chance(0.3) ? now : undefined;
    }
  }
  return events.sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1));
}
