import { Outcome, type Batch } from '../core/batch.js';
import type { EngineView } from './engine-view.js';
import type { KpiFrame } from './frames.js';
import type { AlertLatency } from './alert-latency.js';
import { EventTimeRevenue, mainCurrency } from './event-time-revenue.js';

const SECONDS = 60;
const FUNNEL = ['views', 'carts', 'checkouts', 'purchases'] as const;

/**
 * The live summary behind the `kpi` frame. The funnel counts are rings of 60 one-second
 * buckets of processing time, filled from each batch's applied events: a wall screen wants
 * "what is happening now". Revenue is per minute of event time (EventTimeRevenue): money
 * is only meaningful per minute of the shop's own clock, which during a catch-up runs far
 * ahead of the wall's. Latency covers the last minute of deliveries.
 */
export class KpiTracker {
  private readonly second = new Float64Array(SECONDS);
  private readonly revenue = new EventTimeRevenue();
  private readonly funnel = FUNNEL.map(() => new Float64Array(SECONDS));
  private lastInput = 0;
  private lastAt: number;
  private rate = 0;

  constructor(
    private readonly state: EngineView,
    private readonly latency: AlertLatency,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastAt = now();
  }

  /** Once a kpi period, whether or not anyone is connected: the input rate over the period. */
  tick(): void {
    const now = this.now();
    const input = this.state.counters.input;
    const elapsed = now - this.lastAt;
    if (elapsed > 0) this.rate = Math.max(0, ((input - this.lastInput) * 1000) / elapsed);
    this.lastInput = input;
    this.lastAt = now;
  }

  observe(batch: Batch): void {
    const { outcome, events } = batch;
    if (outcome.length === 0) return;
    const b = this.bucket(Math.floor(this.now() / 1000));
    const [views, carts, checkouts, purchases] = this.funnel as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    for (let i = 0; i < outcome.length; i++) {
      if (outcome[i] !== Outcome.applied) continue;
      const e = events[i]!;
      switch (e.type) {
        case 'product_view':
          views[b]!++;
          break;
        case 'add_to_cart':
          carts[b]!++;
          break;
        case 'checkout_started':
          checkouts[b]!++;
          break;
        case 'purchase':
          purchases[b]!++;
          this.revenue.add(e);
          break;
        default:
          break;
      }
    }
  }

  frame(): KpiFrame {
    const now = this.now();
    const sec = Math.floor(now / 1000);
    const c = this.state.counters;
    const wm = this.state.watermark.watermark;
    const [views, carts, checkouts, purchases] = this.funnel.map((f) => this.lastMinute(f, sec)) as [
      number,
      number,
      number,
      number,
    ];
    // With partition workers the main thread holds no customer: the workers' counts.
    const population = this.state.partitions?.population() ?? {
      customers: this.state.store.size,
      segments: this.state.analytics?.segmentCounts() ?? {},
    };
    return {
      type: 'kpi',
      at: Date.now(),
      eventTime: Number.isFinite(wm) ? wm : null,
      eventsPerSecond: this.rate,
      ...revenue(this.revenue.lastMinute(this.state.watermark.maxEventTime)),
      outcomes: { applied: c.applied, duplicate: c.duplicate, late: c.late, rejected: c.rejected },
      funnel: { views, carts, checkouts, purchases },
      customers: population.customers,
      segments: withUnscored(population.segments, population.customers),
      alerts: { ...(this.state.alerts?.emitted ?? {}) },
      latencyMs: this.latency.lastMinute(),
    };
  }

  /** Sum over the buckets of the 60 seconds up to `sec` (older ones are stale, not yet reused). */
  private lastMinute(a: Float64Array, sec: number): number {
    let s = 0;
    for (let b = 0; b < SECONDS; b++) if (this.second[b]! > sec - SECONDS) s += a[b]!;
    return s;
  }

  /** The bucket of second `s`, emptied first if it last held an older second. */
  private bucket(s: number): number {
    const b = s % SECONDS;
    if (this.second[b] !== s) {
      this.second[b] = s;
      for (const f of this.funnel) f[b] = 0;
    }
    return b;
  }
}

function revenue(
  byCurrency: Record<string, number>,
): Pick<KpiFrame, 'revenuePerMinute' | 'revenueCurrency' | 'revenueByCurrency'> {
  const main = mainCurrency(byCurrency);
  return { revenuePerMinute: main.amount, revenueCurrency: main.currency, revenueByCurrency: byCurrency };
}

/**
 * Segment counts with the customers that have none yet (no purchase, or none since the
 * population was large enough to score) under `unscored`, so the shares add up to everyone.
 */
export function withUnscored(segments: Record<string, number>, customers: number): Record<string, number> {
  let scored = 0;
  for (const n of Object.values(segments)) scored += n;
  return customers > scored ? { ...segments, [UNSCORED]: customers - scored } : segments;
}

export const UNSCORED = 'unscored';
