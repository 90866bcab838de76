import { loadConfig } from '../src/app/config/load.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import { shopInput } from './support/shop-input.js';

/**
 * The cost of merging the state across customers over partitions: the partitioned replay of
 * the core bench's input (msgpack, 7 days) with 2 workers, for each sync period E given
 * (`engine.globalSyncMs`; 0 merges nothing), in the order given.
 *
 *   npm run -s build && node dist/bench/global-sync-cost.js [customers] [E,E,...]
 *
 * Defaults: 20,000 customers; E = 0, 1 hour, 6 hours, 1 day, 0.
 */
async function main(): Promise<void> {
  const customers = Number(process.argv[2] ?? 20_000);
  const periods = (process.argv[3] ?? '0,3600000,21600000,86400000,0').split(',').map(Number);
  const { messages } = shopInput({ customers, days: 7, format: 'msgpack' });
  for (const globalSyncMs of periods) {
    const config = loadConfig({ env: {}, overrides: { engine: { workers: 1, globalSyncMs } } });
    const engine = await PartitionedEngine.start(config, { workers: 2 });
    try {
      const t0 = performance.now();
      await engine.feed(messages);
      await engine.finish();
      const ms = performance.now() - t0;
      await engine.results(false);
      const s = engine.stats;
      process.stdout.write(
        `${customers} customers, ${messages.length} messages, E = ${globalSyncMs} ms: ${Math.round((messages.length / ms) * 1000)} ev/s; ` +
          `${s.syncPoints} sync points, main-thread merge ${Math.round(s.mergeMs)} ms, graph ms per worker ${s.graphMs.map(Math.round).join(' / ')}\n`,
      );
    } finally {
      await engine.close();
    }
  }
}

await main();
