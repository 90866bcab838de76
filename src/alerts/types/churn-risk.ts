import * as z from 'zod';
import { eventTime, label, moneyTotal, unitScore } from '../alert-fields.js';
import { defineAlertType } from '../alert-type.js';

export const churnRisk = defineAlertType({
  type: 'churn.risk',
  data: z.strictObject({
    /** BG/NBD probability that the customer is still active. */
    pAlive: unitScore,
    /** Expected purchases within `horizonMs` from `ts`. */
    expectedPurchases: z.number().min(0),
    horizonMs: z.number().int().min(1),
    clv: moneyTotal,
    /** Event time of the latest purchase; null when a rule fired for a customer who never bought. */
    lastPurchaseTs: eventTime.nullable(),
    /** What decided: `stopped_visiting` or `browsing_not_buying` (the visit posterior alone), `bgnbd_p_alive` (the visits corroborating BG/NBD P(alive) below its floor), `unhappy_top_customer`. */
    rule: label,
  }),
  // Win-back offers.
  audience: 'marketing',
  subject: 'customer',
  occasion: (d) => [d.rule],
  policyKey: 'churnRisk',
  severities: ['warning', 'critical'],
  dashboard: { label: 'churn risk', colour: 'var(--bad)' },
  status: 'churn',
  docs: {
    data: '`pAlive`, `expectedPurchases` (over `horizonMs`), `horizonMs`, `clv`, `lastPurchaseTs`, `rule` (see analytics.md)',
    score:
      'P(stopped buying) from the visit posterior (rules `stopped_visiting`, `browsing_not_buying`, `bgnbd_p_alive`); unhappy top customer at least 0.8',
    occasion: 'the rule',
  },
});
