/**
 * The golden digests of the core bench's input, for checking that a refactor changed no
 * behaviour: SHA-256 over every alert (JSON, in emission order) and over the final state
 * snapshot, plus the outcome counters.
 *   npx tsx test/tools/digests.ts [customers=20000] [days=7]
 * Same input as `npm run bench -- core --quick` (bench/support/shop-input.ts, seed 7,
 * msgpack), default config, clocks pinned so that nothing depends on when it runs.
 */
import { createHash } from 'node:crypto';
import { shopInput } from '../../bench/support/shop-input.js';
import { loadConfig } from '../../src/app/config/load.js';
import { Engine } from '../../src/app/engine.js';
import { InProcessSource } from '../../src/edges/in-process.js';

const [customers = 20_000, days = 7] = process.argv.slice(2).map(Number);
const config = loadConfig({ env: {} });
const { messages } = shopInput({ customers, days, format: 'msgpack' });
const engine = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
const alerts = createHash('sha256');
let count = 0;
const source = new InProcessSource(messages, { name: 'digest', batchSize: config.pipeline.batchSize, finite: true });
await engine.run(source, {
  sinks: [
    {
      handle: (batch) => {
        for (const alert of batch.alerts) alerts.update(JSON.stringify(alert) + '\n');
        count += batch.alerts.length;
      },
    },
  ],
});
const state = createHash('sha256').update(engine.state.snapshot()).digest('hex');
const row = {
  messages: messages.length,
  alerts: count,
  alertDigest: alerts.digest('hex'),
  stateDigest: state,
  counters: engine.state.counters.toJSON(),
};
process.stdout.write(JSON.stringify(row) + '\n');
