import type { AlertEmitter } from '../alerts/alert-emitter.js';
import type { CustomerAnalytics } from '../analytics/customer-analytics.js';
import type { CampaignProcess } from '../analytics/campaigns/campaign-process.js';
import type { ClusterProcess } from '../analytics/clusters/cluster-process.js';
import type { DemandProcess } from '../analytics/demand/demand-process.js';
import type { CustomerStore } from '../state/customer-store.js';
import type { OutcomeCounters } from '../state/outcome-counters.js';
import type { SuppressedCustomers } from '../state/suppressed-customers.js';
import type { WatermarkTracker } from '../state/watermark.js';
import type { CustomerAnswer } from './customer-answer.js';

/**
 * What the ops server reads of the engine's state. The app's `EngineState` has this shape;
 * the server names only what it reads, so it depends on the layers before it, not on the app.
 */
export interface EngineView {
  readonly store: CustomerStore;
  readonly watermark: WatermarkTracker;
  readonly counters: OutcomeCounters;
  /** Erased customers: their alerts still in flight are not streamed. */
  readonly suppressed: SuppressedCustomers;
  /** Undefined when analytics.enabled is false. */
  readonly analytics: CustomerAnalytics | undefined;
  readonly alerts: AlertEmitter | undefined;
  /** Demand series and forecasts; undefined when demand.enabled is false. */
  readonly demand: DemandProcess | undefined;
  /** Behavioural clusters; undefined when clusters.enabled is false. */
  readonly clusters: ClusterProcess | undefined;
  /** Campaign cohorts; undefined when analytics.enabled is false. */
  readonly campaigns: CampaignProcess | undefined;
  /**
   * With partition workers (engine.workers > 1): `store` and `analytics` above hold no
   * customer, and per-customer answers come from the worker owning the customer instead.
   */
  readonly partitions?: PartitionQueries | undefined;
}

/** Questions to the partition workers (src/app/partitions/partitioned-live.ts). */
export interface PartitionQueries {
  /** The customer's answer from its partition, undefined when not held; rejects with VIGIL_ERR_WORKER_QUERY. */
  customer(customerId: string): Promise<CustomerAnswer | undefined>;
  /** Customers held and customers per segment, summed over the workers, as last counted (every heartbeat). */
  population(): { customers: number; segments: Record<string, number> };
}

/** Erasure of a customer as the server uses it (the app's `Erasure`, src/app/erasure/). */
export interface CustomerEraser {
  erase(customerId: string, via: 'http'): Promise<{ readonly existed: boolean }>;
  /** `listener` drops what the server holds about the customer and returns how many alerts it dropped. */
  onErase(listener: (customerId: string) => number): void;
}
