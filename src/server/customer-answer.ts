import type { CustomerAnalytics } from '../analytics/customer-analytics.js';
import type { ClusterProcess } from '../analytics/clusters/cluster-process.js';
import type { CustomerStore } from '../state/customer-store.js';

const RECOMMENDATIONS = 5;

/** The body of `GET /v1/customers/:id` (src/server/api-schemas.ts). */
export interface CustomerAnswer {
  asOf: number | null;
  profile: unknown;
  segment: string | null;
  analytics: unknown;
  recommendations: { productId: string; score: number }[];
  cluster: unknown;
}

/** What a customer's answer reads (the `EngineView` of either thread has these). */
export interface CustomerState {
  readonly store: CustomerStore;
  readonly analytics: CustomerAnalytics | undefined;
  readonly clusters: ClusterProcess | undefined;
}

/**
 * A customer's API answer from the state holding it, as of `asOf` (its watermark); undefined
 * when the state does not hold the customer. The single-threaded engine's state answers on
 * the main thread; with workers, the partition owning the customer answers in its worker.
 */
export function customerAnswer(state: CustomerState, id: string, asOf: number): CustomerAnswer | undefined {
  const profile = state.store.view(id, asOf);
  if (profile === undefined) return undefined;
  const analytics = state.analytics;
  return {
    asOf: Number.isFinite(asOf) ? asOf : null,
    profile,
    segment: analytics?.segmentOf(id) ?? null,
    analytics: analytics?.insight(id, asOf) ?? null,
    recommendations: analytics?.recommendFor(id, RECOMMENDATIONS, asOf) ?? [],
    cluster: state.clusters?.clusterOf(id, asOf) ?? null,
  };
}
