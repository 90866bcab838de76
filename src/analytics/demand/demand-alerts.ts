import type { Alert, AggregateAlertType, AlertType } from '../../alerts/alert.js';
import type { AlertEmitter } from '../../alerts/alert-emitter.js';
import { withAlertId } from '../../alerts/alert-id.js';
import type { AlertPolicy } from '../../alerts/config.js';
import type { ClosedBucket, DemandMeasure } from './demand-series.js';

/** Two-sided 95 % normal quantile, as the forecasts' intervals use it. */
const Z95 = 1.959963984540054;
const DIRECTIONS = ['demand.spike', 'demand.drop'] as const satisfies readonly AggregateAlertType[];
type DemandAlertType = (typeof DIRECTIONS)[number];

export interface DemandAlertsSnapshot {
  /** Series keys (`category/granularity`) in slot order. */
  series: string[];
  /** Per series and direction (spike, drop): event time of the last firing, null when never. */
  lastFired: (number | null)[];
  /** Per series and direction: fired and not re-armed since. */
  disarmed: boolean[];
}

/**
 * `demand.spike` / `demand.drop`: a closed bucket outside the 95 % interval of the forecast
 * made for it one bucket ahead. A bucket's score is the level of the narrowest central
 * interval that leaves its actual out, 2Φ(|actual − mean| / σ) − 1 (0.95 on the 95 %
 * bound), counted for the side the actual is on and 0 for the other.
 *
 * Each series has a gate per direction with the semantics of the customer alerts' gates
 * (`AlertCooldowns`), keyed by series instead of customer slot: with a hysteresis band
 * (`alerts.policies.demandSpike` / `demandDrop`, defaults enter 0.95, exit 0.8) it fires at
 * score ≥ enter when armed, disarms, and re-arms only once a bucket scores ≤ exit (back
 * inside the 80 % interval); without one, every bucket scoring ≥ 0.95 may fire. Either way a
 * firing waits `cooldownMs` of event time after the last. Everything is on event time and
 * the sequence of closed buckets, so decisions never depend on batch boundaries.
 *
 * Buckets closed while the model warmed up (no forecast yet), or with a zero-width interval
 * (no one-step error seen yet), are skipped.
 *
 * Units and orders are counts, and the model's Gaussian interval understates the noise of
 * small ones (a category's few sales a day). For them the interval judged is widened to at
 * least the Poisson one, variance ≥ forecast, and a bucket is judged only when its actual or
 * its forecast reaches `minCount`. The alert reports the interval it was judged by.
 */
export class DemandAlerts {
  private readonly slots = new Map<string, number>();
  private lastFired: number[] = [];
  private disarmed: boolean[] = [];
  private out: Alert[] = [];
  private readonly policies: Record<DemandAlertType, AlertPolicy>;
  readonly measure: DemandMeasure;
  /** The measure is a count (units, orders): Poisson floor and `minCount` apply. */
  private readonly counts: boolean;
  private readonly minCount: number;

  constructor(
    private readonly emitter: AlertEmitter,
    policies: Readonly<Record<AlertType, AlertPolicy>>,
    settings: { readonly measure: DemandMeasure; readonly minCount: number },
  ) {
    this.measure = settings.measure;
    this.counts = settings.measure !== 'revenue';
    this.minCount = this.counts ? settings.minCount : 0;
    this.policies = { 'demand.spike': policies['demand.spike'], 'demand.drop': policies['demand.drop'] };
  }

  /** Alerts go to this batch's list. */
  begin(alerts: Alert[]): void {
    this.out = alerts;
  }

  onClosed(category: string, granularity: 'hourly' | 'daily', bucketMs: number, closed: ClosedBucket): void {
    // No interval yet (warm-up), or a degenerate one (no error seen yet): nothing to judge by.
    if (!Number.isFinite(closed.forecast) || !(closed.hi95 > closed.forecast)) return;
    if (Math.max(closed.actual, closed.forecast) < this.minCount) return;
    const b = this.counts ? withPoissonFloor(closed) : closed;
    const slot = this.slotOf(`${category}/${granularity}`);
    const score = bucketScore(b);
    const above = b.actual > b.forecast;
    const end = b.start + bucketMs;
    DIRECTIONS.forEach((type, d) => {
      const mine = (type === 'demand.spike') === above ? score : 0;
      if (this.tryFire(slot * 2 + d, type, mine, end)) this.emit(type, mine, end, category, granularity, bucketMs, b);
    });
  }

  snapshot(): DemandAlertsSnapshot {
    return {
      series: [...this.slots.keys()],
      lastFired: this.lastFired.map((t) => (Number.isNaN(t) ? null : t)),
      disarmed: [...this.disarmed],
    };
  }

  restore(s: DemandAlertsSnapshot): void {
    if (s.lastFired.length !== s.series.length * 2 || s.disarmed.length !== s.series.length * 2)
      throw new Error('demand alert gates have inconsistent sizes');
    this.slots.clear();
    s.series.forEach((key, slot) => this.slots.set(key, slot));
    this.lastFired = s.lastFired.map((t) => t ?? NaN);
    this.disarmed = [...s.disarmed];
  }

  /** The gate of `at` (series × direction), as `AlertCooldowns.tryFire` decides for a customer's. */
  private tryFire(at: number, type: DemandAlertType, score: number, ts: number): boolean {
    const { cooldownMs, hysteresis } = this.policies[type];
    const enter = hysteresis?.enter ?? 0.95;
    if (score < enter) {
      if (hysteresis !== null && score <= hysteresis.exit) this.disarmed[at] = false;
      return false;
    }
    const last = this.lastFired[at]!;
    if (this.disarmed[at] || (!Number.isNaN(last) && !(ts - last >= cooldownMs))) {
      this.emitter.gated++;
      return false;
    }
    this.lastFired[at] = ts;
    if (hysteresis !== null) this.disarmed[at] = true;
    return true;
  }

  private emit(
    type: DemandAlertType,
    score: number,
    ts: number,
    category: string,
    granularity: 'hourly' | 'daily',
    bucketMs: number,
    b: ClosedBucket,
  ): void {
    this.emitter.emitted[type]++;
    const round = (x: number) => Math.round(x * 100) / 100;
    this.out.push(
      withAlertId({
        type,
        customerId: null,
        ts,
        severity: score >= 0.999 ? 'critical' : 'warning',
        score,
        reasons: [
          `${this.measure} in ${category} for the ${granularity === 'hourly' ? 'hour' : 'day'} from ${new Date(b.start).toISOString()}: ${round(b.actual)}, ` +
            `${type === 'demand.spike' ? 'above' : 'below'} the 95 % interval ${round(b.lo95)}–${round(b.hi95)} of its forecast ${round(b.forecast)}`,
        ],
        segment: null,
        data: {
          category,
          granularity,
          measure: this.measure,
          bucketStart: b.start,
          bucketMs,
          actual: b.actual,
          forecast: b.forecast,
          lo95: b.lo95,
          hi95: b.hi95,
        },
      }),
    );
  }

  private slotOf(key: string): number {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      this.slots.set(key, (slot = this.slots.size));
      this.lastFired.push(NaN, NaN);
      this.disarmed.push(false, false);
    }
    return slot;
  }
}

/** The bucket's 95 % interval, widened where needed to the Poisson one (σ² ≥ forecast). */
export function withPoissonFloor(b: ClosedBucket): ClosedBucket {
  const half = Z95 * Math.sqrt(b.forecast);
  if (!(half > b.hi95 - b.forecast)) return b;
  return { ...b, lo95: Math.max(0, b.forecast - half), hi95: b.forecast + half };
}

/** 2Φ(|actual − mean| / σ) − 1, σ read off the upper 95 % bound (the lower one is clipped at 0). */
export function bucketScore(b: ClosedBucket): number {
  const sd = (b.hi95 - b.forecast) / Z95;
  if (!(sd > 0)) return b.actual === b.forecast ? 0 : 1;
  return 2 * normalCdf(Math.abs(b.actual - b.forecast) / sd) - 1;
}

/** Φ, the standard normal CDF (Abramowitz & Stegun 7.1.26 for erf; absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
