import { orderRevenue, type CanonicalEvent } from '../core/event.js';

const SECONDS = 60;
/** ISO 4217's code for "no currency": purchases that name none. */
export const NO_CURRENCY = 'XXX';

/**
 * Revenue of the last minute of *event* time, per currency: rings of 60 one-second buckets
 * keyed by each purchase's own `ts`, read up to the newest event time seen. A replay's history
 * then shows what that minute of the shop earned, not how much history the engine worked
 * through in a wall-clock minute. A purchase older than the ring (already outside the minute)
 * is not counted.
 */
export class EventTimeRevenue {
  private readonly second = new Float64Array(SECONDS).fill(-Infinity);
  private readonly byCurrency = new Map<string, Float64Array>();

  add(e: Extract<CanonicalEvent, { type: 'purchase' }>): void {
    const s = Math.floor(e.ts / 1000);
    const b = ((s % SECONDS) + SECONDS) % SECONDS;
    if (this.second[b]! > s) return;
    if (this.second[b]! < s) {
      this.second[b] = s;
      for (const ring of this.byCurrency.values()) ring[b] = 0;
    }
    const currency = e.currency ?? NO_CURRENCY;
    let ring = this.byCurrency.get(currency);
    if (ring === undefined) this.byCurrency.set(currency, (ring = new Float64Array(SECONDS)));
    ring[b]! += orderRevenue(e);
  }

  /** Revenue per currency over the 60 event-time seconds up to `eventTime` (ms); currencies with none left out. */
  lastMinute(eventTime: number): Record<string, number> {
    const out: Record<string, number> = {};
    if (!Number.isFinite(eventTime)) return out;
    const sec = Math.floor(eventTime / 1000);
    for (const [currency, ring] of this.byCurrency) {
      let sum = 0;
      for (let b = 0; b < SECONDS; b++) if (this.second[b]! > sec - SECONDS && this.second[b]! <= sec) sum += ring[b]!;
      if (sum > 0) out[currency] = sum;
    }
    return out;
  }
}

/** The currency with the most revenue, and that amount (the dashboard's one figure); none: null and 0. */
export function mainCurrency(revenue: Record<string, number>): { currency: string | null; amount: number } {
  let currency: string | null = null;
  let amount = 0;
  for (const [c, v] of Object.entries(revenue)) if (v > amount) [currency, amount] = [c, v];
  return { currency, amount };
}
