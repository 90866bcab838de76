/**
 * Which evidence a customer's churn score rests on. The visit posterior (visit-churn.ts)
 * learns from sessions without intent: visits that did not end in a cart or a purchase. A
 * purchase-only feed (a purchase log such as CDNOW's) has none: every session is a
 * purchase, so the posterior sees nothing the purchases do not, and with its fixed prior
 * hazard it ranks customers worse than BG/NBD does. There the score is the purchases'
 * P(no purchase over the value horizon), which also ranks one-time buyers (whose BG/NBD
 * P(alive) is 1 by construction).
 */

/** Above this share of sessions with intent, the feed is taken to carry no visits worth the name. */
export const PURCHASE_ONLY_INTENT_SHARE = 0.95;

export type ChurnScoreBasis = 'visits' | 'purchases';

export function churnScoreBasis(populationIntentShare: number): ChurnScoreBasis {
  return populationIntentShare > PURCHASE_ONLY_INTENT_SHARE ? 'purchases' : 'visits';
}

export interface ChurnEvidence {
  /** P(stopped buying) of the visit posterior. */
  pStopped: number;
  /** BG/NBD P(alive) under the parameters in force. */
  pAlive: number;
  /** BG/NBD P(no purchase over `value.horizonMs`). */
  pSilent: number;
  /** What P(stopped buying) must reach for a warning now. */
  bar: number;
  basis: ChurnScoreBasis;
  /** The churn score on that basis: `pStopped` or `pSilent`. */
  score: number;
}
