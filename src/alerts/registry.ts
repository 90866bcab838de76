import { campaignReport } from './types/campaign-report.js';
import { cartAbandoned } from './types/cart-abandoned.js';
import { churnRisk } from './types/churn-risk.js';
import { demandDrop } from './types/demand-drop.js';
import { demandSpike } from './types/demand-spike.js';
import { recommendationCrossSell } from './types/recommendation-cross-sell.js';
import { segmentChanged } from './types/segment-changed.js';
import { valueTierChanged } from './types/value-tier-changed.js';

/**
 * Every alert type, one file each under `types/`. Adding a type is its file, its line here
 * and its detection in analytics; `npx tsx scripts/alert-docs.ts` then regenerates the
 * dashboard's module and the docs' tables (a test checks they agree).
 */
export const alertTypeSpecs = [
  churnRisk,
  valueTierChanged,
  segmentChanged,
  cartAbandoned,
  recommendationCrossSell,
  demandSpike,
  demandDrop,
  campaignReport,
] as const;
