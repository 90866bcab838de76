import type { Alert } from '../../src/alerts/alert.js';
import type { VigilConfig } from '../../src/app/config/schema.js';
import { Engine, type EngineSink as BatchSink } from '../../src/app/engine.js';
import { InProcessSource } from '../../src/edges/in-process.js';
import type { RawMessage } from '../../src/core/source.js';
import { SyntheticShop } from '../../src/edges/demo/shop.js';
import { message } from './engine-harness.js';

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);

/** A small synthetic shop's events: about 19k events and 1k alerts of every type (300 customers, 60 days). */
export function shopMessages(customers = 300, days = 60, seed = 7): RawMessage[] {
  const shop = new SyntheticShop({ seed, customers, products: 200, startTs: START, endTs: START + days * DAY });
  const out: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) out.push(message(e));
  return out;
}

/** Runs a fresh engine over the messages with `sinks`; returns the alerts it emitted, in order (the oracle). */
export async function runWithSinks(
  config: VigilConfig,
  messages: readonly RawMessage[],
  sinks: readonly BatchSink[],
): Promise<{ engine: Engine; alerts: Alert[] }> {
  const engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
  const alerts: Alert[] = [];
  const source = new InProcessSource(messages, { name: 'test', batchSize: config.pipeline.batchSize, finite: true });
  await engine.run(source, { sinks: [{ handle: (b) => void alerts.push(...b.alerts) }, ...sinks] });
  return { engine, alerts };
}
