import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { encodePayload } from '../../edges/encode.js';
import { loadConfig } from '../config/load.js';
import { VigilError } from '../../core/errors.js';
import { SEASONAL_SHOP } from '../../edges/demo/demand-cycle.js';
import { demoCampaigns } from '../../edges/demo/shop-campaigns.js';
import { SyntheticShop } from '../../edges/demo/shop.js';
import { bar, ProgressLine } from './progress.js';

export interface GenerateOptions {
  readonly out?: string | undefined;
  readonly events?: string | undefined;
  readonly format?: string | undefined;
  readonly seed?: string | undefined;
  readonly customers?: string | undefined;
  readonly configFile?: string | undefined;
  /** Give the shop's demand a known daily and weekly cycle and a trend (`SEASONAL_SHOP`). */
  readonly seasonal?: boolean | undefined;
  /** The demo's campaigns (src/edges/demo/shop-campaigns.ts). */
  readonly campaigns?: boolean | undefined;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new VigilError('VIGIL_ERR_USAGE', `--${name} must be a whole number, got '${value}'`);
  return n;
}

/** Writes the synthetic shop's events as JSON Lines or a msgpack stream (for replay, publish, tests). */
export async function generate(opts: GenerateOptions): Promise<void> {
  if (opts.out === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'generate needs --out FILE (or - for stdout)');
  const format = opts.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'msgpack')
    throw new VigilError('VIGIL_ERR_USAGE', `--format must be jsonl or msgpack, got '${format}'`);
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const events = positiveInt('events', opts.events, 100_000);
  const startTs = Date.UTC(2026, 0, 1);
  const shop = new SyntheticShop({
    seed: positiveInt('seed', opts.seed, config.demo.seed),
    customers: positiveInt('customers', opts.customers, config.demo.customers),
    products: config.demo.products,
    startTs,
    ...(opts.seasonal === true && { demandCycle: SEASONAL_SHOP }),
    ...(opts.campaigns === true && { campaigns: demoCampaigns(startTs) }),
  });
  const out = opts.out === '-' ? process.stdout : createWriteStream(opts.out);
  let written = 0;
  const progress = new ProgressLine(() => `${bar(written / events)} ${written} / ${events} events`).start();
  try {
    for (; written < events; written++) {
      const e = shop.next();
      if (e === undefined) break;
      const chunk = format === 'jsonl' ? JSON.stringify(e) + '\n' : encodePayload(e, 'msgpack');
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    progress.stop();
  }
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
}
