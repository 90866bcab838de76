/**
 * CDNOW_master.txt (all 23,570 customers of the Fader, Hardie & Lee 2005 data), read in place
 * from ../shared/datasets/cdnow: a header line, then customer id, date yyyymmdd, number of
 * CDs, dollar value per purchase. Rows come grouped by customer; `loadCdnowMasterPurchases`
 * puts them in time order, the order a live stream would have delivered them.
 */
import { readFileSync } from 'node:fs';
import { datasetPath } from './datasets.js';

const MASTER = datasetPath('cdnow/CDNOW_master.txt');
const DAY_MS = 86_400_000;

export interface CdnowPurchase {
  customer: number;
  /** Midnight UTC of the purchase day, in ms (the data has no time of day). */
  day: number;
  /** Dollar value in integer cents, so sums stay exact. */
  cents: number;
}

/** Every purchase row, ordered by day; rows of one day keep the file's order. */
export function loadCdnowMasterPurchases(): CdnowPurchase[] {
  const lines = readFileSync(MASTER, 'utf8').split('\n');
  const purchases: CdnowPurchase[] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const [id, date, , dollars] = fields as [string, string, string, string];
    purchases.push({
      customer: Number(id),
      day: Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8))),
      cents: Math.round(Number(dollars) * 100),
    });
  }
  // Array.prototype.sort is stable, so same-day rows keep the file's order.
  return purchases.sort((a, b) => a.day - b.day);
}

export { DAY_MS };
