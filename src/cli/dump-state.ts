import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { CustomerStore } from '../state/customer-store.js';

/**
 * Writes one JSON line per customer, sorted by customer id, with windows evaluated as of
 * `asOf` (the final watermark). Sorted output makes two dumps comparable with `diff`.
 */
export async function dumpState(store: CustomerStore, asOf: number, path: string): Promise<number> {
  const out = path === '-' ? process.stdout : createWriteStream(path);
  const ids = [...store.customerIds()].sort();
  for (const id of ids) {
    if (!out.write(JSON.stringify(store.view(id, asOf)) + '\n')) await once(out, 'drain');
  }
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
  return ids.length;
}
