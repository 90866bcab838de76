/**
 * Churn warnings on the synthetic shop against its ground truth, for quoting figures:
 *   npx tsx test/tools/churn-eval.ts [seed=11] [customers=1000] [days=200] [warnAt...] [key=value...]
 * One JSON line per warnAt (default: the configured one); `key=value` overrides another
 * `analytics.churn` key for every run (e.g. corroborateAt=0.8 pAliveFloor=0.3), and
 * `shop.key=value` a constant of the shop's behaviour (src/edges/demo/shop.ts `ShopBehaviour`:
 * shop.lapsedShare=0.6 shop.visitGapShape=3 shop.seasonality=0.5 ...). Slow on
 * purpose: it runs the whole engine; test/analytics-truth.test.ts holds the floors.
 */
import { quantile, scoreChurn, shopRun } from '../support/churn-truth.js';
import { runMessages, testConfig } from '../support/engine-harness.js';

const args = process.argv.slice(2);
const pairs = args
  .filter((a) => a.includes('='))
  .map((a) => [a.slice(0, a.indexOf('=')), Number(a.slice(a.indexOf('=') + 1))] as const);
const churn = Object.fromEntries(pairs.filter(([k]) => !k.startsWith('shop.')));
const behaviour = Object.fromEntries(
  pairs.filter(([k]) => k.startsWith('shop.')).map(([k, v]) => [k.slice('shop.'.length), v]),
);
const [seed = 11, customers = 1000, days = 200, ...warnAts] = args.filter((a) => !a.includes('=')).map(Number);
const { shop, messages, end } = shopRun(seed, customers, days, behaviour);
for (const warnAt of warnAts.length > 0 ? warnAts : [undefined]) {
  const config = testConfig({ analytics: { churn: { ...churn, ...(warnAt !== undefined && { warnAt }) } } });
  const { engine, batches, signals } = await runMessages(config, messages);
  const alerts = batches.flatMap((b) => b.alerts);
  const s = scoreChurn(alerts, shop.truth.churnedCustomers, engine, end);
  const row = {
    seed,
    customers,
    days,
    warnAt: config.analytics.churn.warnAt,
    ...churn,
    ...(Object.keys(behaviour).length > 0 && { shop: behaviour }),
    warned: s.warned,
    precision: +s.precision.toFixed(3),
    recall: +s.recall.toFixed(3),
    eligible: s.eligible,
    medianDelayDays: +quantile(s.delays, 0.5).toFixed(1),
    p90DelayDays: +quantile(s.delays, 0.9).toFixed(1),
    rules: s.rules,
    // Every churn.risk alert by rule (not only first warnings), and timer firings by kind.
    alertsByRule: count(alerts.flatMap((a) => (a.type === 'churn.risk' ? [a.data.rule] : []))),
    timersFired: count(signals.flatMap((x) => (x.kind === 'timer' ? [x.timer] : []))),
    timersPending: engine.state.store.timers.pending,
  };
  process.stdout.write(JSON.stringify(row) + '\n');
}

function count(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}
