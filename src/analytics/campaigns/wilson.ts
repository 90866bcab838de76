/**
 * Score intervals for proportions. Wilson (1927) for one proportion; Newcombe (1998,
 * "Interval estimation for the difference between independent proportions", method 10)
 * for the difference of two, built from the two Wilson intervals. Both keep close to their
 * nominal coverage for small counts and rates near 0 or 1, where the Wald interval does not.
 */
export interface Interval {
  readonly estimate: number;
  readonly lo: number;
  readonly hi: number;
}

/** Two-sided standard normal quantile for the level (0.8, 0.9, 0.95, 0.99). */
export function zFor(level: number): number {
  const table: Record<string, number> = {
    '0.8': 1.2815515655446004,
    '0.9': 1.6448536269514722,
    '0.95': 1.959963984540054,
    '0.99': 2.5758293035489004,
  };
  const z = table[String(level)];
  if (z === undefined) throw new Error(`no quantile for level ${level}`);
  return z;
}

export function wilson(successes: number, n: number, level = 0.95): Interval {
  if (n === 0) return { estimate: NaN, lo: 0, hi: 1 };
  const z = zFor(level);
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return { estimate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/** p1 − p2 with Newcombe's hybrid score interval. */
export function newcombeDifference(s1: number, n1: number, s2: number, n2: number, level = 0.95): Interval {
  const a = wilson(s1, n1, level);
  const b = wilson(s2, n2, level);
  const d = a.estimate - b.estimate;
  return {
    estimate: d,
    lo: d - Math.sqrt((a.estimate - a.lo) ** 2 + (b.hi - b.estimate) ** 2),
    hi: d + Math.sqrt((a.hi - a.estimate) ** 2 + (b.estimate - b.lo) ** 2),
  };
}
