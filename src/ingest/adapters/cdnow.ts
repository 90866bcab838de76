import { readFileSync } from 'node:fs';
import { VigilError } from '../../core/errors.js';

/**
 * Turns the CDNOW purchase logs (Fader, Hardie & Lee 2005; ../shared/datasets/cdnow) into
 * canonical purchase events, so the published BG/NBD and Gamma-Gamma studies can be
 * reproduced by replaying them through the engine.
 *
 * Two layouts, told apart by the number of fields: `CDNOW_sample.txt` (master id, sample id,
 * yyyymmdd, CDs, dollars; the customer is the sample id, as in the paper's summaries) and
 * `CDNOW_master.txt` (a header, then customer id, yyyymmdd, CDs, dollars). Each line is one
 * order of one item priced at the line's dollar value (the CD count is not a price factor:
 * dollars / CDs would not stay exact in cents). The event time is midnight UTC of the date.
 * The logs are sorted by customer; events come out sorted by time (stable), as a live
 * stream would deliver them.
 */
export interface CdnowPurchase {
  id: string;
  type: 'purchase';
  customerId: string;
  ts: number;
  orderId: string;
  items: { productId: string; price: number; quantity: number }[];
  currency: 'USD';
}

export function readCdnowPurchases(path: string): CdnowPurchase[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new VigilError('VIGIL_ERR_INPUT_FILE', `cannot read ${path}`, [(e as Error).message]);
  }
  const out: CdnowPurchase[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const fields = lines[n]!.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue;
    if (n === 0 && fields[0] === 'customer_id') continue; // the master file's header
    if (fields.length !== 4 && fields.length !== 5) throw badLine(path, n, 'expected 4 or 5 fields');
    const [customer, date, , dollars] = fields.length === 5 ? fields.slice(1) : fields;
    const ts = utcMidnight(date!);
    const price = Number(dollars);
    if (Number.isNaN(ts)) throw badLine(path, n, 'date is not yyyymmdd');
    if (!(price >= 0)) throw badLine(path, n, 'dollar value is not a non-negative number');
    const customerId = String(Number(customer));
    out.push({
      id: `cdnow-${n + 1}`,
      type: 'purchase',
      customerId,
      ts,
      orderId: `cdnow-${n + 1}`,
      items: [{ productId: 'cd', price, quantity: 1 }],
      currency: 'USD',
    });
  }
  return out.sort((u, v) => u.ts - v.ts);
}

function utcMidnight(yyyymmdd: string): number {
  if (!/^\d{8}$/.test(yyyymmdd)) return NaN;
  return Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)));
}

function badLine(path: string, index: number, why: string): VigilError {
  return new VigilError('VIGIL_ERR_INPUT_FILE', `${path}:${index + 1}: ${why}`);
}
