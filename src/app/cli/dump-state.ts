import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { CustomerAnalytics } from '../../analytics/customer-analytics.js';
import type { CustomerStore } from '../../state/customer-store.js';

/**
 * Writes one JSON line per customer, sorted by customer id, with windows evaluated as of
 * `asOf` (the final watermark), and, when analytics run, what they conclude about the
 * customer (`analytics`: BG/NBD statistics, P(alive), expected purchases, CLV, tier, RFM).
 * Sorted output makes two dumps comparable with `diff`.
 */
export async function dumpState(
  store: CustomerStore,
  asOf: number,
  path: string,
  analytics?: CustomerAnalytics,
): Promise<number> {
  const out = path === '-' ? process.stdout : createWriteStream(path);
  const ids = [...store.customerIds()].sort();
  for (const id of ids) {
    const line = analytics ? { ...store.view(id, asOf), analytics: analytics.insight(id, asOf) } : store.view(id, asOf);
    if (!out.write(JSON.stringify(line) + '\n')) await once(out, 'drain');
  }
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
  return ids.length;
}
