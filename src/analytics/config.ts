import * as z from 'zod';

const ms = z.number().int().min(0);
const positive = z.number().positive();

/** The analytics section of the configuration (defaults in config/default.json). */
export const analyticsConfig = z.strictObject({
  /** Off: keyed state only, no models and no alerts. */
  enabled: z.boolean(),
  /** The unit BG/NBD times are measured in; fitted parameters only make sense in their unit. */
  timeUnit: z.enum(['day', 'week']),
  /** Population parameters until the first refit (defaults: CDNOW, weekly, Fader, Hardie & Lee 2005). */
  bgnbd: z.strictObject({ r: positive, alpha: positive, a: positive, b: positive }),
  gammaGamma: z.strictObject({ p: positive, q: positive, gamma: positive }),
  refit: z.strictObject({
    /** Refit both models on the live state every this much event time; 0 never. */
    everyMs: ms,
    /** Buyers the fit samples (evenly over the state, so a replay refits identically). */
    sampleSize: z.number().int().min(50),
    /** Buyers needed before a refit replaces the parameters. */
    minBuyers: z.number().int().min(10),
  }),
  churn: z.strictObject({
    /** `churn.risk` when P(stopped buying) from the visit posterior reaches this (at or above the churn hysteresis `enter`). */
    warnAt: z.number().gt(0).lt(1),
    /** BG/NBD P(alive) below this lowers the visit posterior's bar to `corroborateAt`; a timer is armed at the closed-form crossing. */
    pAliveFloor: z.number().gt(0).lt(1),
    /** `churn.risk` (rule `bgnbd_p_alive`) when P(alive) is below `pAliveFloor` and P(stopped buying) reaches this (at most `warnAt`). */
    corroborateAt: z.number().gt(0).lt(1),
    /** A purchase gap is beyond the usual one after the mean plus this many standard deviations (for the reasons). */
    gapDeviations: z.number().min(0),
    /** Purchase gaps a customer needs before their own statistics are used (else the population's). */
    minOwnGaps: z.number().int().min(1),
    /** Prior hazard of stopping buying, per year of event time (0.5: about 39% of buyers stop within a year). */
    hazardPerYear: positive,
    /** Prior share of those who stop buying that keep browsing now and then. */
    lapsedShare: z.number().min(0).lt(1),
    /** A lapsed browser's visit rate as a share of their rate while buying. */
    lapsedVisitRatio: z.number().gt(0).lt(1),
    /** Weight of the population's visit rate and intent share in each customer's, in sessions (> 1, so the rate's posterior has a mean gap). */
    priorVisits: z.number().gt(1),
    /** Feedback with a rating at or below this (or a complaint) from a top-tier customer warns. */
    lowRating: z.number().int().min(1).max(5),
  }),
  value: z.strictObject({
    /** CLV horizon. */
    horizonMs: z.number().int().min(86_400_000),
    /** Yearly discount rate for CLV. */
    yearlyDiscountRate: z.number().min(0).max(1),
    /** Customers whose CLV is in this top share of buyers are the top tier. */
    topTierShare: z.number().gt(0).lt(1),
  }),
  cart: z.strictObject({
    /** `cart.abandoned` when a session ends with a cart and no purchase follows within this. */
    abandonAfterMs: ms,
  }),
  recommendations: z.strictObject({
    /** How many products an alert or a profile recommends. */
    count: z.number().int().min(1).max(50),
  }),
});
export type AnalyticsConfig = z.infer<typeof analyticsConfig>;
