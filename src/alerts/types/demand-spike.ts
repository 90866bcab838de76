import { defineAlertType } from '../alert-type.js';
import { demandData, demandDocs } from './demand-data.js';

export const demandSpike = defineAlertType({
  type: 'demand.spike',
  data: demandData,
  // About a category's demand, not a customer: never a reason to contact anyone.
  audience: 'ops',
  subject: 'aggregate',
  occasion: (d) => [d.category, d.granularity, d.measure],
  policyKey: 'demandSpike',
  severities: ['warning', 'critical'],
  dashboard: { label: 'demand spike', colour: 'var(--info)' },
  status: 'spike',
  docs: { ...demandDocs, score: `above the interval: ${demandDocs.score}` },
});
