import { orderRevenue, type CanonicalEvent } from '../../core/event.js';
import type { CampaignReport } from '../../alerts/types/campaign-report-data.js';
import type { CampaignsConfig } from './config.js';
import { newcombeDifference, wilson, type Interval } from './wilson.js';

export type { CampaignReport } from '../../alerts/types/campaign-report-data.js';

/** Days after a cohort's entry purchase over which repeat purchases are counted. */
export const REPEAT_WINDOWS_DAYS = [30, 60, 90] as const;
/** The cohort of customers who bought without a campaign. */
export const BASELINE = '_baseline';
const DAY = 86_400_000;
/** An entrant's longest window: entry purchase through the last repeat window. */
export const COHORT_WINDOW_MS = 90 * DAY;

interface Entry {
  cohort: string;
  enteredAt: number;
  /** Revenue from the entry purchase through `COHORT_WINDOW_MS` after it. */
  revenue: number;
  /** Event time of the earliest purchase after entry; NaN while none. */
  repeatAt: number;
}

/** A campaign before its report: its per-customer sets live only this long. */
interface LiveCampaign {
  firstSeen: number;
  lastSeen: number;
  reached: Set<string>;
  /** Customers who bought through it having bought before (not its cohort). */
  returners: Set<string>;
  /** Its cohort's size as entered (erasure removes entries, not this count). */
  firstTime: number;
}

/** Attributed events that did not reach a live campaign, by reason (documented in docs/analytics.md). */
export interface CampaignOutcomes {
  /** Events of a campaign beyond `maxLive` live campaigns. */
  overLimit: number;
  /** Events of a campaign whose report was already emitted. */
  afterReport: number;
  /** First purchases beyond `maxCustomers` cohort entries: in no cohort. */
  untracked: number;
}

export interface CampaignCohortsOptions extends CampaignsConfig {
  /** Cohort entries held at once (campaign and baseline together). */
  maxCustomers: number;
  /** `eventTime.allowedLatenessMs`: a window is final once later events for it count as late. */
  latenessMs: number;
}

export interface CampaignCohortsSnapshot {
  /**
   * Entries as columns, row i one customer: plain arrays of scalars, so a checkpoint writes
   * them in bounded runs (an array of objects would make runs of unbounded byte size).
   */
  entries: {
    customerId: string[];
    cohort: string[];
    enteredAt: number[];
    revenue: number[];
    /** NaN while none (msgpack keeps NaN). */
    repeatAt: number[];
  };
  live: [string, { firstSeen: number; lastSeen: number; reached: string[]; returners: string[]; firstTime: number }][];
  /** Final reports, oldest close first. */
  reports: CampaignReport[];
  outcomes: CampaignOutcomes;
  /** Event-time day of the last sweep of baseline entries. */
  sweptDay: number;
}

/**
 * Campaign cohorts, event by event. A customer enters a cohort at a purchase that is their
 * first (as keyed state knows it, `firstPurchase`): the cohort of that purchase's campaign,
 * or the baseline when it has none. A later purchase through another campaign makes them one
 * of its returning buyers. A campaign's baseline is the baseline entrants of its own period,
 * first to latest attributed event: customers who bought in the same period without it.
 *
 * The repeat rate within w days is taken over the entrants whose w days have passed by
 * `asOf`, so a window still open never counts as "did not come back"; a repeat is a purchase
 * after entry and within w days of it.
 *
 * A campaign's cohort window closes `COHORT_WINDOW_MS` after its latest attributed event
 * (then every entrant's 90 days are over). Once the watermark passes that close by the
 * allowed lateness, every event the report counts (all at or before the close) is in or
 * late, so `advance` emits the final report then, at the same point of the stream whatever
 * the batch boundaries, and drops the campaign's per-customer entries and sets (its report
 * stays, up to `keepReports`). Baseline entries no live or future campaign's period can
 * cover are dropped on each event-time day. Live campaigns are bounded by `maxLive` and
 * entries by `maxCustomers`; what exceeds them is counted in `outcomes`.
 */
export class CampaignCohorts {
  private readonly entries = new Map<string, Entry>();
  private readonly live = new Map<string, LiveCampaign>();
  /** Final reports by campaign, in order of close. */
  private readonly finals = new Map<string, CampaignReport>();
  readonly outcomes: CampaignOutcomes = { overLimit: 0, afterReport: 0, untracked: 0 };
  private sweptDay = -Infinity;
  /** No live campaign closes before this (a lower bound: latest events only move closes later). */
  private nextClose = Infinity;

  constructor(private readonly opts: CampaignCohortsOptions) {}

  onEvent(e: CanonicalEvent, firstPurchase: boolean): void {
    const id = e.campaign?.id;
    const live = id === undefined ? undefined : this.liveCampaign(id, e.ts);
    if (live !== undefined) {
      if (e.ts > live.lastSeen) live.lastSeen = e.ts;
      if (e.ts < live.firstSeen) live.firstSeen = e.ts;
      live.reached.add(e.customerId);
    }
    if (e.type !== 'purchase') return;
    const entry = this.entries.get(e.customerId);
    if (entry !== undefined) {
      if (e.ts > entry.enteredAt && e.ts <= entry.enteredAt + COHORT_WINDOW_MS) {
        entry.revenue += orderRevenue(e);
        if (!(e.ts >= entry.repeatAt)) entry.repeatAt = e.ts;
      }
      if (live !== undefined && entry.cohort !== id) live.returners.add(e.customerId);
      return;
    }
    if (!firstPurchase) {
      live?.returners.add(e.customerId);
      return;
    }
    // Through a campaign not tracked (over the limit, reported): neither its cohort nor the baseline.
    if (id !== undefined && live === undefined) return;
    if (this.entries.size >= this.opts.maxCustomers) {
      this.outcomes.untracked++;
      return;
    }
    if (live !== undefined) live.firstTime++;
    this.entries.set(e.customerId, {
      cohort: id ?? BASELINE,
      enteredAt: e.ts,
      revenue: orderRevenue(e),
      repeatAt: NaN,
    });
  }

  /**
   * Moves to `watermark`: each campaign whose window closed (by the allowed lateness) gets
   * its final report, passed to `onReport` in order of close, and leaves the live set.
   */
  advance(watermark: number, onReport?: (r: CampaignReport) => void): void {
    if (!Number.isFinite(watermark)) return;
    const settled = watermark - this.opts.latenessMs;
    if (this.nextClose < settled) {
      const due: [string, number][] = [];
      this.nextClose = Infinity;
      for (const [id, c] of this.live) {
        const close = c.lastSeen + COHORT_WINDOW_MS;
        if (close < settled) due.push([id, close]);
        else if (close < this.nextClose) this.nextClose = close;
      }
      due.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      for (const [id] of due) this.close(id, onReport);
    }
    const day = Math.floor(settled / DAY);
    if (day > this.sweptDay) {
      this.sweptDay = day;
      this.sweepBaseline(settled);
    }
  }

  /** Live and reported campaigns, live first. */
  campaigns(): string[] {
    return [...this.live.keys(), ...this.finals.keys()];
  }

  /** Final reports, latest close first. */
  finalReports(limit = Infinity): CampaignReport[] {
    const all = [...this.finals.values()];
    return all.slice(Math.max(0, all.length - limit)).reverse();
  }

  /** Live reports as of `asOf` of the `limit` campaigns seen most recently, latest first (each scans the entries). */
  liveReports(asOf: number, limit: number): CampaignReport[] {
    return [...this.live]
      .sort((a, b) => b[1].lastSeen - a[1].lastSeen || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([id, c]) => this.compute(id, c, asOf, this.opts.level, false));
  }

  liveCount(): number {
    return this.live.size;
  }

  entryCount(): number {
    return this.entries.size;
  }

  /** The final report once there is one; otherwise the live one as of `asOf`. */
  report(campaign: string, asOf: number, level: number = this.opts.level): CampaignReport | undefined {
    const final = this.finals.get(campaign);
    if (final !== undefined) return final;
    const c = this.live.get(campaign);
    return c === undefined ? undefined : this.compute(campaign, c, asOf, level, false);
  }

  /**
   * Erasure: forgets the customer's entry and their place in every live campaign's sets.
   * Counts and final reports stay, being aggregates over customers.
   */
  erase(customerId: string): boolean {
    let found = this.entries.delete(customerId);
    for (const c of this.live.values()) {
      found = c.reached.delete(customerId) || found;
      found = c.returners.delete(customerId) || found;
    }
    return found;
  }

  snapshot(): CampaignCohortsSnapshot {
    const entries: CampaignCohortsSnapshot['entries'] = {
      customerId: [],
      cohort: [],
      enteredAt: [],
      revenue: [],
      repeatAt: [],
    };
    for (const [id, e] of this.entries) {
      entries.customerId.push(id);
      entries.cohort.push(e.cohort);
      entries.enteredAt.push(e.enteredAt);
      entries.revenue.push(e.revenue);
      entries.repeatAt.push(e.repeatAt);
    }
    return {
      entries,
      live: [...this.live].map(([k, c]) => [k, { ...c, reached: [...c.reached], returners: [...c.returners] }]),
      reports: [...this.finals.values()],
      outcomes: { ...this.outcomes },
      sweptDay: this.sweptDay,
    };
  }

  restore(s: CampaignCohortsSnapshot): void {
    const c = s.entries;
    const n = c.customerId.length;
    if ([c.cohort, c.enteredAt, c.revenue, c.repeatAt].some((col) => col.length !== n))
      throw new Error('campaign entries have columns of different lengths');
    this.entries.clear();
    for (let i = 0; i < n; i++)
      this.entries.set(c.customerId[i]!, {
        cohort: c.cohort[i]!,
        enteredAt: c.enteredAt[i]!,
        revenue: c.revenue[i]!,
        repeatAt: c.repeatAt[i]!,
      });
    this.live.clear();
    for (const [k, l] of s.live)
      this.live.set(k, { ...l, reached: new Set(l.reached), returners: new Set(l.returners) });
    this.finals.clear();
    for (const r of s.reports) this.finals.set(r.campaign, r);
    Object.assign(this.outcomes, s.outcomes);
    this.sweptDay = s.sweptDay ?? -Infinity;
    this.nextClose = Math.min(Infinity, ...[...this.live.values()].map((l) => l.lastSeen + COHORT_WINDOW_MS));
  }

  private liveCampaign(id: string, ts: number): LiveCampaign | undefined {
    const c = this.live.get(id);
    if (c !== undefined) return c;
    if (this.finals.has(id)) {
      this.outcomes.afterReport++;
      return undefined;
    }
    if (this.live.size >= this.opts.maxLive) {
      this.outcomes.overLimit++;
      return undefined;
    }
    const fresh: LiveCampaign = { firstSeen: ts, lastSeen: ts, reached: new Set(), returners: new Set(), firstTime: 0 };
    this.live.set(id, fresh);
    this.nextClose = Math.min(this.nextClose, ts + COHORT_WINDOW_MS);
    return fresh;
  }

  private close(id: string, onReport: ((r: CampaignReport) => void) | undefined): void {
    const c = this.live.get(id)!;
    const report = this.compute(id, c, c.lastSeen + COHORT_WINDOW_MS, this.opts.level, true);
    this.live.delete(id);
    for (const [customer, e] of this.entries) if (e.cohort === id) this.entries.delete(customer);
    this.finals.set(id, report);
    if (this.finals.size > this.opts.keepReports) this.finals.delete(this.finals.keys().next().value!);
    onReport?.(report);
  }

  /**
   * Baseline entrants that no campaign's period can include any more: earlier than every
   * live campaign's first event, and than any event still to be applied (a new campaign's
   * first event is at or after `settled`).
   */
  private sweepBaseline(settled: number): void {
    let horizon = settled;
    for (const c of this.live.values()) if (c.firstSeen < horizon) horizon = c.firstSeen;
    for (const [customer, e] of this.entries)
      if (e.cohort === BASELINE && e.enteredAt < horizon) this.entries.delete(customer);
  }

  private compute(campaign: string, c: LiveCampaign, asOf: number, level: number, final: boolean): CampaignReport {
    let revenue = 0;
    let cohort = 0;
    const counts = REPEAT_WINDOWS_DAYS.map(() => ({ n: 0, s: 0, bn: 0, bs: 0 }));
    for (const e of this.entries.values()) {
      const mine = e.cohort === campaign;
      if (!mine && !(e.cohort === BASELINE && e.enteredAt >= c.firstSeen && e.enteredAt <= c.lastSeen)) continue;
      if (mine) {
        revenue += e.revenue;
        cohort++;
      }
      REPEAT_WINDOWS_DAYS.forEach((days, k) => {
        const w = days * DAY;
        if (e.enteredAt + w > asOf) return;
        const repeated = e.repeatAt - e.enteredAt <= w ? 1 : 0; // false for NaN
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
    const repeat = REPEAT_WINDOWS_DAYS.map((days, k) => {
      const t = counts[k]!;
      const uplift = newcombeDifference(t.s, t.n, t.bs, t.bn, level);
      const judged = t.n > 0 && t.bn > 0;
      return {
        days,
        eligible: t.n,
        baselineEligible: t.bn,
        campaignRate: plain(wilson(t.s, t.n, level)),
        baselineRate: plain(wilson(t.bs, t.bn, level)),
        uplift: judged ? plain(uplift) : { estimate: null, lo: -1, hi: 1 },
        supported: judged && uplift.lo > 0,
      };
    });
    const longest = repeat[repeat.length - 1]!;
    return {
      campaign,
      asOf,
      final,
      level,
      firstSeen: c.firstSeen,
      lastSeen: c.lastSeen,
      reached: c.reached.size,
      converted: c.firstTime + c.returners.size,
      firstTimeBuyers: c.firstTime,
      returningBuyers: c.returners.size,
      revenuePerCustomer: cohort > 0 ? revenue / cohort : 0,
      repeat,
      verdict:
        longest.eligible === 0 || longest.baselineEligible === 0
          ? 'no-data'
          : longest.uplift.lo > 0
            ? 'uplift'
            : longest.uplift.hi < 0
              ? 'lower'
              : 'inconclusive',
    };
  }
}

/** An interval as reports carry it: a rate without customers is null, not NaN. */
function plain(i: Interval): CampaignReport['repeat'][number]['uplift'] {
  return { estimate: Number.isFinite(i.estimate) ? i.estimate : null, lo: i.lo, hi: i.hi };
}
