import * as z from 'zod';
import { changed, label, notAChange, rfmScore } from '../alert-fields.js';
import { defineAlertType } from '../alert-type.js';

export const segmentChanged = defineAlertType({
  type: 'segment.changed',
  data: z.strictObject({ from: label, to: label, r: rfmScore, f: rfmScore, m: rfmScore }).refine(changed, notAChange),
  // A journey trigger in a marketing tool ("moved to at_risk"): a reason to contact someone.
  audience: 'marketing',
  subject: 'customer',
  occasion: (d) => [d.from, d.to],
  policyKey: 'segmentChanged',
  severities: ['info'],
  dashboard: { label: 'segment', colour: '#b388eb' },
  status: 'seg',
  docs: {
    data: '`from`, `to`, `r`, `f`, `m`',
    score: '(r + f + m − 3) / 12',
    occasion: 'from/to',
  },
});
