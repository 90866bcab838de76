/**
 * A known shape of demand for the synthetic shop (opt-in): each customer's session rate is
 * scaled by `demandFactor(t)`, a daily wave, a weekly wave and a linear trend, so forecasts
 * can be checked against a seasonality and trend that are known. Without it the shop's
 * timeline is unchanged, draw for draw.
 */
export interface DemandCycle {
  /** Relative swing of the daily wave (0..1): the rate at its peak hour is 1 + this. */
  readonly dailyAmplitude: number;
  /** Relative swing of the weekly wave (0..1), peaking on Saturday. */
  readonly weeklyAmplitude: number;
  /** Relative growth of the rate per 365 days (≥ 0). */
  readonly trendPerYear: number;
  /** Hour of day (UTC) of the daily peak. */
  readonly peakHour: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;
/** Epoch day 0 (1970-01-01) was a Thursday; Saturday is 2 days later. */
const SATURDAY_OFFSET = 2;
/** The trend is capped at this many years, so the thinning bound stays finite on an endless timeline. */
export const MAX_TREND_YEARS = 5;

export function checkDemandCycle(c: DemandCycle): string | undefined {
  if (!(c.dailyAmplitude >= 0 && c.dailyAmplitude < 1)) return 'dailyAmplitude must be in [0, 1)';
  if (!(c.weeklyAmplitude >= 0 && c.weeklyAmplitude < 1)) return 'weeklyAmplitude must be in [0, 1)';
  if (!(c.trendPerYear >= 0 && c.trendPerYear <= 10)) return 'trendPerYear must be in [0, 10]';
  if (!(c.peakHour >= 0 && c.peakHour < 24)) return 'peakHour must be in [0, 24)';
  return undefined;
}

/** The true multiplier of every customer's session rate at event time t (the ground truth). */
export function demandFactor(c: DemandCycle, startTs: number, t: number): number {
  const hours = (t % DAY) / HOUR;
  const days = Math.floor(t / DAY);
  const daily = 1 + c.dailyAmplitude * Math.cos((2 * Math.PI * (hours - c.peakHour)) / 24);
  const weekly = 1 + c.weeklyAmplitude * Math.cos((2 * Math.PI * (days - SATURDAY_OFFSET)) / 7);
  const years = Math.min(Math.max(t - startTs, 0) / YEAR, MAX_TREND_YEARS);
  return daily * weekly * (1 + c.trendPerYear * years);
}

/** An upper bound of `demandFactor`, for thinning. */
export function maxDemandFactor(c: DemandCycle): number {
  return (1 + c.dailyAmplitude) * (1 + c.weeklyAmplitude) * (1 + c.trendPerYear * MAX_TREND_YEARS);
}

/**
 * Next arrival after `from` of a process with rate factor(t) / meanGap, by thinning
 * (Lewis & Shedler 1979): candidates at the bound's rate, each kept with probability
 * factor / bound.
 */
export function thinnedArrival(
  c: DemandCycle,
  startTs: number,
  from: number,
  meanGap: number,
  draw: { exponential(mean: number): number; next(): number },
): number {
  const bound = maxDemandFactor(c);
  let t = from;
  for (;;) {
    t += Math.floor(draw.exponential(meanGap / bound));
    if (draw.next() * bound < demandFactor(c, startTs, t)) return t;
  }
}

/** The cycle `vigil generate --seasonal` gives the shop: an evening peak, busy weekends, growth. */
export const SEASONAL_SHOP: DemandCycle = {
  dailyAmplitude: 0.6,
  weeklyAmplitude: 0.3,
  trendPerYear: 0.5,
  peakHour: 19,
};
