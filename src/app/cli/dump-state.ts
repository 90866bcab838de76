import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { CustomerAnalytics } from '../../analytics/customer-analytics.js';
import type { CustomerStore } from '../../state/customer-store.js';
import { customerDumpLine } from '../customer-dump.js';

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
  const ids = [...store.customerIds()].sort();
  await writeLines(
    ids.map((id) => () => customerDumpLine(store, id, asOf, analytics)),
    path,
  );
  return ids.length;
}

/** Writes dump lines (`[id, line]`, sorted by id, e.g. gathered from partition workers) to `path`, or stdout for `-`. */
export async function writeDumpLines(lines: readonly [string, unknown][], path: string): Promise<number> {
  await writeLines(
    lines.map(
      ([, line]) =>
        () =>
          line,
    ),
    path,
  );
  return lines.length;
}

/** One JSON line per entry, each built only when written (a large store is not held twice). */
async function writeLines(lines: readonly (() => unknown)[], path: string): Promise<void> {
  const out = path === '-' ? process.stdout : createWriteStream(path);
  for (const line of lines) if (!out.write(JSON.stringify(line()) + '\n')) await once(out, 'drain');
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
}
