import { createHash, type Hash } from 'node:crypto';
import { CheckpointWriter } from '../src/app/checkpoint/checkpoint-codec.js';
import { loadConfig } from '../src/app/config/load.js';
import { Engine } from '../src/app/engine.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { shopInput } from './support/shop-input.js';

/**
 * Golden digests of the core bench's input through the engine with analytics: SHA-256 of
 * every alert in stream order, of the state snapshot and of a checkpoint's bytes (with a
 * fixed header) halfway through and at the end, and of what the analytics' views answer per
 * customer at the end. A refactoring that must not change behaviour leaves all of them
 * unchanged; compare the output before and after.
 *
 *   npm run -s build && node --max-old-space-size=8192 dist/bench/golden-digest.js [customers] [batchSize] [refitEveryMs]
 *
 * Defaults: the full core bench input (100,000 customers, 7 days, msgpack), batch size 512,
 * the configured refit period (weekly: no refit within the input; a day's period exercises them).
 */
async function main(): Promise<void> {
  const customers = Number(process.argv[2] ?? 100_000);
  const batchSize = Number(process.argv[3] ?? 512);
  const refitEveryMs = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
  const { messages } = shopInput({ customers, days: 7, format: 'msgpack' });
  const config = loadConfig({
    env: {},
    ...(refitEveryMs !== undefined && { overrides: { analytics: { refit: { everyMs: refitEveryMs } } } }),
  });
  const engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
  const alerts = createHash('sha256');
  let alertCount = 0;
  let middle: Record<string, string> = {};
  const half = Math.floor(messages.length / batchSize / 2);
  let batches = 0;
  const source = new InProcessSource(messages, { name: 'bench', batchSize, finite: true });
  await engine.run(source, {
    sinks: [
      {
        handle: (b) => {
          for (const a of b.alerts) alerts.update(JSON.stringify(a) + '\n');
          alertCount += b.alerts.length;
          if (++batches === half) middle = stateDigests(engine);
        },
      },
    ],
  });
  const end = stateDigests(engine);
  const analytics = engine.state.analytics!;
  const asOf = engine.state.watermark.watermark;
  const views = createHash('sha256');
  const ids = [...engine.state.store.customerIds()].sort();
  for (const id of ids) {
    update(views, [
      id,
      analytics.insight(id, asOf),
      analytics.churnEvidence(id, asOf) ?? null,
      analytics.segmentOf(id),
      analytics.recommendFor(id, 5, asOf),
    ]);
  }
  update(views, [
    analytics.segmentCounts(),
    analytics.intentShare(),
    analytics.refits,
    analytics.refitsRejected,
    analytics.refitWork,
    analytics.modelErrors,
  ]);
  for (let p = 0; p < 50; p++) update(views, analytics.similarItems(`p${String(p).padStart(5, '0')}`, 5, asOf) ?? null);
  const out = {
    customers,
    batchSize,
    refits: analytics.refits,
    messages: messages.length,
    counters: engine.state.counters.toJSON(),
    alerts: alertCount,
    alertsSha256: alerts.digest('hex'),
    middle,
    end,
    viewsSha256: views.digest('hex'),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

function stateDigests(engine: Engine): Record<string, string> {
  const snapshot = createHash('sha256').update(engine.state.snapshot()).digest('hex');
  const writer = new CheckpointWriter({ format: 'vigil-checkpoint', version: 1 }, engine.state.capture(), 1 << 20);
  const checkpoint = createHash('sha256');
  for (const chunk of writer.chunks()) checkpoint.update(chunk);
  return { snapshotSha256: snapshot, checkpointSha256: checkpoint.digest('hex') };
}

function update(hash: Hash, value: unknown): void {
  hash.update(JSON.stringify(value) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
  process.exit(1);
});
