import { orderRevenue, type CanonicalEvent } from '../../core/event.js';
import { newcombeDifference, wilson, type Interval } from './wilson.js';

/** Days after a cohort's entry purchase over which repeat purchases are counted. */
export const REPEAT_WINDOWS_DAYS = [30, 60, 90] as const;
/** The cohort of customers who bought without a campaign. */
export const BASELINE = '_baseline';
const DAY = 86_400_000;

interface Entry {
  cohort: string;
  enteredAt: number;
  firstTime: boolean;
  revenue: number;
  /** Event time of the first purchase after entry; NaN while none. */
  repeatAt: number;
  /** Campaigns this customer later bought through as a returning buyer. */
  returnedVia: string[];
}

interface Cohort {
  reached: Set<string>;
  converted: number;
  firstTime: number;
  returning: number;
}

export interface RepeatComparison {
  days: number;
  /** Customers whose window has closed by `asOf`, in the campaign and in the baseline. */
  eligible: number;
  baselineEligible: number;
  campaignRate: Interval;
  baselineRate: Interval;
  /** Campaign minus baseline repeat rate, Newcombe interval. */
  uplift: Interval;
  /** True only when the interval lies above 0: the data support an uplift. */
  supported: boolean;
}

export interface CampaignReport {
  campaign: string;
  asOf: number;
  level: number;
  reached: number;
  converted: number;
  firstTimeBuyers: number;
  returningBuyers: number;
  revenuePerCustomer: number;
  repeat: RepeatComparison[];
}

/**
 * Campaign cohorts, event by event. A customer enters a cohort at their first purchase
 * seen: the cohort of that purchase's campaign, or the baseline when it has none (the
 * customers who bought in the same period without the campaign). They count as first-time
 * buyers when no purchase of theirs was seen before, which is every entry when tracking
 * starts with the shop's history. A later purchase is a repeat; the repeat rate within w
 * days is taken over the customers whose w days have passed by `asOf`, so a window still
 * open never counts as "did not come back".
 *
 * Per-customer entries live in a map of their own, bounded by `maxCustomers` (later
 * customers' purchases are counted in `untracked`), not yet in keyed state's slots.
 */
export interface CampaignCohortsSnapshot {
  /**
   * Entries as columns, row i one customer: plain arrays of scalars, so a checkpoint writes
   * them in bounded runs (an array of objects would make runs of unbounded byte size).
   */
  entries: {
    customerId: string[];
    cohort: string[];
    enteredAt: number[];
    firstTime: boolean[];
    revenue: number[];
    /** NaN while none (msgpack keeps NaN). */
    repeatAt: number[];
    returnedVia: string[][];
  };
  cohorts: [string, { reached: string[]; converted: number; firstTime: number; returning: number }][];
  untracked: number;
}

export class CampaignCohorts {
  private readonly entries = new Map<string, Entry>();
  private readonly cohorts = new Map<string, Cohort>();
  /** Purchases of customers beyond `maxCustomers`, counted and not tracked. */
  untracked = 0;

  constructor(private readonly maxCustomers = Number.MAX_SAFE_INTEGER) {}

  onEvent(e: CanonicalEvent): void {
    if (e.campaign !== undefined && this.entries.size < this.maxCustomers)
      this.cohort(e.campaign.id).reached.add(e.customerId);
    if (e.type !== 'purchase') return;
    const entry = this.entries.get(e.customerId);
    if (entry === undefined) {
      if (this.entries.size >= this.maxCustomers) {
        this.untracked++;
        return;
      }
      const cohort = e.campaign?.id ?? BASELINE;
      const c = this.cohort(cohort);
      c.converted++;
      c.firstTime++;
      this.entries.set(e.customerId, {
        cohort,
        enteredAt: e.ts,
        firstTime: true,
        revenue: orderRevenue(e),
        repeatAt: NaN,
        returnedVia: [],
      });
      return;
    }
    entry.revenue += orderRevenue(e);
    const via = e.campaign?.id;
    if (via !== undefined && via !== entry.cohort && !entry.returnedVia.includes(via)) {
      entry.returnedVia.push(via);
      this.cohort(via).returning++;
    }
    if (Number.isNaN(entry.repeatAt) && e.ts > entry.enteredAt) entry.repeatAt = e.ts;
  }

  campaigns(): string[] {
    return [...this.cohorts.keys()].filter((k) => k !== BASELINE);
  }

  report(campaign: string, asOf: number, level = 0.95): CampaignReport | undefined {
    const c = this.cohorts.get(campaign);
    if (c === undefined || campaign === BASELINE) return undefined;
    let revenue = 0;
    const counts = REPEAT_WINDOWS_DAYS.map(() => ({ n: 0, s: 0, bn: 0, bs: 0 }));
    for (const e of this.entries.values()) {
      const mine = e.cohort === campaign;
      if (!mine && e.cohort !== BASELINE) continue;
      if (mine) revenue += e.revenue;
      REPEAT_WINDOWS_DAYS.forEach((days, k) => {
        const w = days * DAY;
        if (e.enteredAt + w > asOf) return;
        const repeated = !Number.isNaN(e.repeatAt) && e.repeatAt - e.enteredAt <= w ? 1 : 0;
        const t = counts[k]!;
        if (mine) {
          t.n++;
          t.s += repeated;
        } else {
          t.bn++;
          t.bs += repeated;
        }
      });
    }
    return {
      campaign,
      asOf,
      level,
      reached: c.reached.size,
      converted: c.converted,
      firstTimeBuyers: c.firstTime,
      returningBuyers: c.returning,
      revenuePerCustomer: c.converted > 0 ? revenue / c.converted : 0,
      repeat: REPEAT_WINDOWS_DAYS.map((days, k) => {
        const t = counts[k]!;
        const uplift = newcombeDifference(t.s, t.n, t.bs, t.bn, level);
        return {
          days,
          eligible: t.n,
          baselineEligible: t.bn,
          campaignRate: wilson(t.s, t.n, level),
          baselineRate: wilson(t.bs, t.bn, level),
          uplift,
          supported: t.n > 0 && t.bn > 0 && uplift.lo > 0,
        };
      }),
    };
  }

  /**
   * Erasure: forgets the customer's entry and their place in every cohort's reached set. The
   * cohorts' counts (converted, first-time, returning) stay, being aggregates over customers.
   */
  erase(customerId: string): boolean {
    let found = this.entries.delete(customerId);
    for (const c of this.cohorts.values()) found = c.reached.delete(customerId) || found;
    return found;
  }

  snapshot(): CampaignCohortsSnapshot {
    return {
      entries: entryColumns(this.entries),
      cohorts: [...this.cohorts].map(([k, c]) => [
        k,
        { reached: [...c.reached], converted: c.converted, firstTime: c.firstTime, returning: c.returning },
      ]),
      untracked: this.untracked,
    };
  }

  restore(s: CampaignCohortsSnapshot): void {
    this.entries.clear();
    const c = s.entries;
    const n = c.customerId.length;
    if ([c.cohort, c.enteredAt, c.firstTime, c.revenue, c.repeatAt, c.returnedVia].some((col) => col.length !== n))
      throw new Error('campaign entries have columns of different lengths');
    for (let i = 0; i < n; i++) {
      this.entries.set(c.customerId[i]!, {
        cohort: c.cohort[i]!,
        enteredAt: c.enteredAt[i]!,
        firstTime: c.firstTime[i]!,
        revenue: c.revenue[i]!,
        repeatAt: c.repeatAt[i]!,
        returnedVia: [...c.returnedVia[i]!],
      });
    }
    this.cohorts.clear();
    for (const [k, c] of s.cohorts) this.cohorts.set(k, { ...c, reached: new Set(c.reached) });
    this.untracked = s.untracked;
  }

  private cohort(id: string): Cohort {
    let c = this.cohorts.get(id);
    if (c === undefined) this.cohorts.set(id, (c = { reached: new Set(), converted: 0, firstTime: 0, returning: 0 }));
    return c;
  }
}

function entryColumns(entries: ReadonlyMap<string, Entry>): CampaignCohortsSnapshot['entries'] {
  const cols: CampaignCohortsSnapshot['entries'] = {
    customerId: [],
    cohort: [],
    enteredAt: [],
    firstTime: [],
    revenue: [],
    repeatAt: [],
    returnedVia: [],
  };
  for (const [id, e] of entries) {
    cols.customerId.push(id);
    cols.cohort.push(e.cohort);
    cols.enteredAt.push(e.enteredAt);
    cols.firstTime.push(e.firstTime);
    cols.revenue.push(e.revenue);
    cols.repeatAt.push(e.repeatAt);
    cols.returnedVia.push([...e.returnedVia]);
  }
  return cols;
}
