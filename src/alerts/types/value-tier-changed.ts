import * as z from 'zod';
import { changed, label, moneyTotal, notAChange } from '../alert-fields.js';
import { defineAlertType } from '../alert-type.js';

export const valueTierChanged = defineAlertType({
  type: 'value.tier_changed',
  data: z.strictObject({ from: label, to: label, clv: moneyTotal }).refine(changed, notAChange),
  // Audience membership in a marketing tool ("became VIP"): a reason to contact someone.
  audience: 'marketing',
  subject: 'customer',
  occasion: (d) => [d.from, d.to],
  policyKey: 'valueTierChanged',
  severities: ['info'],
  dashboard: { label: 'value tier', colour: 'var(--accent)' },
  status: 'tier',
  docs: {
    data: '`from`, `to` (`standard` / `top`), `clv`',
    score: 'clv / (clv + threshold): 0.5 at the threshold',
    occasion: 'from/to',
  },
});
