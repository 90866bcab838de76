/**
 * Campaigns in the synthetic shop, with a known effect on the repeat rate. While a campaign
 * runs, each session lands through it with probability `reach`, independently of who the
 * customer is; its first page view and its purchase carry the campaign (and coupon). So the
 * customers whose first purchase came through it are a random draw from the period's
 * first-time buyers, exchangeable with the baseline (first purchases without a campaign).
 *
 * The effect: a customer whose first purchase came through the campaign comes back, with
 * probability `effect`, for one extra purchase at a uniform time within the next 30 days, on
 * top of their own rhythm (which the campaign leaves exactly as it was). If q is the period's
 * first-time buyers' own chance of buying again within 30 days, the campaign's 30-day repeat
 * rate is q + (1 − q)·effect: the true uplift over the baseline is (1 − q)·effect.
 */
export interface ShopCampaign {
  readonly id: string;
  readonly channel?: string;
  readonly coupon?: string;
  /** Event time it starts (inclusive) and ends (exclusive). */
  readonly startTs: number;
  readonly endTs: number;
  /** Chance that a session in the period lands through the campaign, in [0, 1]. */
  readonly reach: number;
  /** Chance that a first-time buyer through it comes back within 30 days for an extra purchase, in [0, 1]. */
  readonly effect: number;
}

/** The days within which a campaign's comeback purchase falls (its effect is on this repeat window). */
export const COMEBACK_WINDOW_MS = 30 * 86_400_000;

/** Ground truth per campaign, over the events emitted so far. */
export interface CampaignTruth {
  /** First purchases through it (its cohort). */
  entrants: number;
  /** Comeback purchases it caused. */
  comebacks: number;
}

/** A reason the campaigns are unusable, or undefined. */
export function checkCampaigns(campaigns: readonly ShopCampaign[]): string | undefined {
  const ids = new Set<string>();
  for (const c of campaigns) {
    if (!(c.id.length > 0 && c.id.length <= 128)) return `campaign id must be 1..128 characters, got "${c.id}"`;
    if (ids.has(c.id)) return `campaign ${c.id} appears twice`;
    ids.add(c.id);
    if (!(Number.isInteger(c.startTs) && Number.isInteger(c.endTs) && c.endTs > c.startTs))
      return `campaign ${c.id}: endTs must be an integer after startTs`;
    if (!(c.reach >= 0 && c.reach <= 1)) return `campaign ${c.id}: reach must be in [0, 1], got ${c.reach}`;
    if (!(c.effect >= 0 && c.effect <= 1)) return `campaign ${c.id}: effect must be in [0, 1], got ${c.effect}`;
  }
  return undefined;
}

const DAY = 86_400_000;

/**
 * The demo's campaigns, days after the history's start: an email campaign that brings its
 * first-time buyers back (effect 0.3) and a social one with no effect at all, so the
 * dashboard shows both kinds of report.
 */
export function demoCampaigns(startTs: number): ShopCampaign[] {
  return [
    {
      id: 'spring-email',
      channel: 'email',
      coupon: 'SPRING10',
      startTs: startTs + 3 * DAY,
      endTs: startTs + 17 * DAY,
      reach: 0.25,
      effect: 0.3,
    },
    {
      id: 'summer-social',
      channel: 'social',
      startTs: startTs + 10 * DAY,
      endTs: startTs + 24 * DAY,
      reach: 0.2,
      effect: 0,
    },
  ];
}
