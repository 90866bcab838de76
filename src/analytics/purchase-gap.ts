/**
 * A customer's usual time between purchases, for saying in a churn warning whether the
 * silence is beyond it: their own gap statistics once they have enough gaps, else the
 * population's (pooled from the buyers a refit walks). Pure functions of Welford statistics.
 */

/** Gaps between purchase events as keyed state keeps them (Welford). */
export interface GapStats {
  count: number;
  meanMs: number;
  varianceMs2: number;
}

export interface UsualGapOptions {
  /** The usual gap is the mean plus this many standard deviations. */
  readonly gapDeviations: number;
  /** Gaps a customer needs before their own statistics are used over the population's. */
  readonly minOwnGaps: number;
}

export interface UsualGap {
  ms: number;
  /** Whose statistics: the customer's, or the population's for a customer with fewer gaps. */
  basis: 'own' | 'population';
}

/** Mean + k·sd of the customer's gaps, or of the population's; undefined when neither has enough gaps. */
export function usualGap(own: GapStats, population: GapStats, opts: UsualGapOptions): UsualGap | undefined {
  const usual = (g: GapStats) => g.meanMs + opts.gapDeviations * Math.sqrt(Math.max(0, g.varianceMs2));
  if (own.count >= opts.minOwnGaps) return { ms: usual(own), basis: 'own' };
  if (population.count >= opts.minOwnGaps) return { ms: usual(population), basis: 'population' };
  return undefined;
}

/** Folds one customer's gap statistics into pooled ones (Chan et al.'s parallel Welford), in place. */
export function poolGaps(into: GapStats & { m2: number }, g: GapStats): void {
  if (g.count === 0) return;
  const n = into.count + g.count;
  const delta = g.meanMs - into.meanMs;
  into.m2 += (g.count > 1 ? g.varianceMs2 * (g.count - 1) : 0) + (delta * delta * into.count * g.count) / n;
  into.meanMs += (delta * g.count) / n;
  into.count = n;
  into.varianceMs2 = n > 1 ? into.m2 / (n - 1) : 0;
}
