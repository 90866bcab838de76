import type { CustomerAnalytics } from '../analytics/customer-analytics.js';
import type { CustomerStore } from '../state/customer-store.js';

/**
 * One customer's line of the state dump (`vigil replay --dump-state`): the keyed-state view
 * with windows evaluated as of `asOf`, and, when analytics run, what they conclude about the
 * customer (`analytics`). The one definition of the line, for the single-threaded engine
 * and for partition workers alike.
 */
export function customerDumpLine(
  store: CustomerStore,
  id: string,
  asOf: number,
  analytics?: CustomerAnalytics,
): unknown {
  return analytics ? { ...store.view(id, asOf), analytics: analytics.insight(id, asOf) } : store.view(id, asOf);
}

/** Every customer's dump line, sorted by id. */
export function customerDumpLines(
  store: CustomerStore,
  asOf: number,
  analytics?: CustomerAnalytics,
): [string, unknown][] {
  return [...store.customerIds()].sort().map((id) => [id, customerDumpLine(store, id, asOf, analytics)]);
}
