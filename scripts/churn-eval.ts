/**
 * Churn warnings on the synthetic shop against its ground truth, for quoting figures:
 *   npx tsx scripts/churn-eval.ts [seed=11] [customers=1000] [days=200] [warnAt...]
 * One JSON line per warnAt (default: the configured one). Slow on purpose: it runs the
 * whole engine; test/analytics-truth.test.ts holds the floors.
 */
import { quantile, scoreChurn, shopRun } from '../test/support/churn-truth.js';
import { runMessages, testConfig } from '../test/support/engine-harness.js';

const [seed = 11, customers = 1000, days = 200, ...warnAts] = process.argv.slice(2).map(Number);
const { shop, messages, end } = shopRun(seed, customers, days);
for (const warnAt of warnAts.length > 0 ? warnAts : [undefined]) {
  const config = testConfig(warnAt === undefined ? {} : { analytics: { churn: { warnAt } } });
  const { engine, batches } = await runMessages(config, messages);
  const s = scoreChurn(
    batches.flatMap((b) => b.alerts),
    shop.truth.churnedCustomers,
    engine,
    end,
  );
  const row = {
    seed,
    customers,
    days,
    warnAt: config.analytics.churn.warnAt,
    warned: s.warned,
    precision: +s.precision.toFixed(3),
    recall: +s.recall.toFixed(3),
    eligible: s.eligible,
    medianDelayDays: +quantile(s.delays, 0.5).toFixed(1),
    p90DelayDays: +quantile(s.delays, 0.9).toFixed(1),
    rules: s.rules,
  };
  process.stdout.write(JSON.stringify(row) + '\n');
}
