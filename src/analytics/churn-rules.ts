/**
 * The rule side of churn warnings: plain comparisons of a customer against their own history,
 * explainable in one sentence each. The model side (BG/NBD P(alive)) is in bgnbd.ts.
 */

export interface OverdueOptions {
  /** A customer is overdue after their mean gap plus this many standard deviations. */
  readonly gapDeviations: number;
  /** Gaps a customer needs before their own statistics are trusted over the population's. */
  readonly minOwnGaps: number;
  /** Never overdue sooner than this after the last purchase. */
  readonly minOverdueMs: number;
}

/** A customer's purchase-gap statistics, as keyed state keeps them (Welford). */
export interface GapStats {
  count: number;
  meanMs: number;
  varianceMs2: number;
}

/**
 * How long after the last purchase a customer counts as overdue: their usual gap (mean +
 * k·sd) once they have `minOwnGaps` gaps, otherwise the population's usual gap. Returns
 * Infinity when neither is known yet.
 */
export function overdueAfterMs(own: GapStats, population: GapStats, opts: OverdueOptions): number {
  const usual = (g: GapStats) => g.meanMs + opts.gapDeviations * Math.sqrt(Math.max(0, g.varianceMs2));
  const basis = own.count >= opts.minOwnGaps ? own : population.count >= opts.minOwnGaps ? population : undefined;
  return basis === undefined ? Infinity : Math.max(opts.minOverdueMs, usual(basis));
}

export interface ActivityDropOptions {
  /** Recent activity below this share of the baseline rate counts as a drop. */
  readonly ratio: number;
  /** Baseline events needed before a drop means anything. */
  readonly minBaselineEvents: number;
}

/**
 * Whether activity in the recent window fell below `ratio` of what the baseline window's rate
 * predicts. `baseline` counts events over `baselineMs` (which includes the recent window).
 */
export function activityDropped(recent: number, recentMs: number, baseline: number, baselineMs: number, opts: ActivityDropOptions): boolean {
  if (baseline < opts.minBaselineEvents) return false;
  const expected = (baseline * recentMs) / baselineMs;
  return recent < opts.ratio * expected;
}

/** A running mean and variance over a stream of values (Welford), for population statistics. */
export class RunningGap implements GapStats {
  count = 0;
  meanMs = 0;
  private m2 = 0;

  add(gapMs: number): void {
    this.count++;
    const delta = gapMs - this.meanMs;
    this.meanMs += delta / this.count;
    this.m2 += delta * (gapMs - this.meanMs);
  }

  get varianceMs2(): number {
    return this.count > 1 ? this.m2 / (this.count - 1) : 0;
  }

  snapshot(): [number, number, number] {
    return [this.count, this.meanMs, this.m2];
  }

  restore([count, mean, m2]: readonly [number, number, number]): void {
    this.count = count;
    this.meanMs = mean;
    this.m2 = m2;
  }
}
