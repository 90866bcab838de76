import { defineAlertType } from '../alert-type.js';
import { demandData, demandDocs } from './demand-data.js';

export const demandDrop = defineAlertType({
  type: 'demand.drop',
  data: demandData,
  // About a category's demand, not a customer: never a reason to contact anyone.
  audience: 'ops',
  subject: 'aggregate',
  occasion: (d) => [d.category, d.granularity, d.measure],
  policyKey: 'demandDrop',
  severities: ['warning', 'critical'],
  dashboard: { label: 'demand drop', colour: 'var(--muted)' },
  status: 'drop',
  docs: { ...demandDocs, score: `below the interval: ${demandDocs.score}` },
});
