/**
 * Which evidence a customer's churn score rests on. The visit posterior (visit-churn.ts)
 * learns from sessions without intent: visits that did not end in a cart or a purchase. A
 * purchase-only feed (a purchase log such as CDNOW's) has none: every session is a
 * purchase, so the posterior sees nothing the purchases do not, and with its fixed prior
 * hazard it ranks customers worse than BG/NBD does. There the score is P(no purchase in the
 * next time unit) under the population's return hazard for the customer's frequency and
 * silence (return-hazard.ts): learned from what buyers of each frequency did after each
 * length of silence, it ranks one-time buyers against repeat buyers, where BG/NBD cannot
 * (its P(alive) is 1 for every one-time buyer, its P(no purchase) depends on their age only).
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
  /** P(no purchase in the next time unit) of the population's return hazard (return-hazard.ts) for the customer's frequency and silence. */
  pNoReturn: number;
  /** What P(stopped buying) must reach for a warning now. */
  bar: number;
  basis: ChurnScoreBasis;
  /** The churn score on that basis: `pStopped` or `pNoReturn`. */
  score: number;
}
