import type { Alert, AlertOf } from '../../src/alerts/alert.js';
import { encodePayload } from '../../src/edges/encode.js';
import type { Engine } from '../../src/app/engine.js';
import type { RawMessage } from '../../src/core/source.js';
import { SyntheticShop, type ShopBehaviour } from '../../src/edges/demo/shop.js';

const DAY = 86_400_000;
export const SHOP_START = Date.UTC(2025, 0, 1);

/** The synthetic shop's whole timeline as engine input, with its ground truth. */
export function shopRun(seed: number, customers: number, days: number, behaviour?: ShopBehaviour) {
  const end = SHOP_START + days * DAY;
  const shop = new SyntheticShop({
    seed,
    customers,
    products: 1500,
    startTs: SHOP_START,
    endTs: end,
    ...(behaviour !== undefined && { behaviour }),
  });
  const messages: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next())
    messages.push({ bytes: encodePayload(e, 'msgpack'), subject: 'shop', receivedAt: 0 });
  return { shop, messages, end };
}

export interface ChurnScore {
  warned: number;
  precision: number;
  recall: number;
  eligible: number;
  /** Days from the stop to the first warning after it, ascending, one per caught customer. */
  delays: number[];
  /** First warnings by rule. */
  rules: Record<string, number>;
}

/**
 * Churn warnings against the customers who stopped buying. Precision: warned customers who
 * had stopped when first warned (a warning before the stop is wrong, however close: they
 * were still buying). Recall: buyers who stopped at least 60 days before the end, caught by
 * a warning after they stopped. The unhappy-top-customer rule is about complaints, not
 * lapses, and is left out.
 */
export function scoreChurn(
  alerts: readonly Alert[],
  churned: ReadonlyMap<string, number>,
  engine: Engine,
  end: number,
): ChurnScore {
  const churn = alerts.filter(
    (a): a is AlertOf<'churn.risk'> => a.type === 'churn.risk' && a.data.rule !== 'unhappy_top_customer',
  );
  const first = new Map<string, AlertOf<'churn.risk'>>();
  for (const a of churn) if (!first.has(a.customerId)) first.set(a.customerId, a);
  let right = 0;
  const rules: Record<string, number> = {};
  for (const [id, a] of first) {
    if ((churned.get(id) ?? Infinity) <= a.ts) right++;
    rules[a.data.rule] = (rules[a.data.rule] ?? 0) + 1;
  }
  const store = engine.state.store;
  let eligible = 0;
  const delays: number[] = [];
  for (const [id, stoppedAt] of churned) {
    const slot = store.slotOf(id);
    if (slot === undefined || store.transactionStats(slot) === null || stoppedAt > end - 60 * DAY) continue;
    eligible++;
    const warning = churn.find((a) => a.customerId === id && a.ts >= stoppedAt);
    if (warning) delays.push((warning.ts - stoppedAt) / DAY);
  }
  delays.sort((a, b) => a - b);
  return {
    warned: first.size,
    precision: right / first.size,
    recall: delays.length / eligible,
    eligible,
    delays,
    rules,
  };
}

export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
