import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import type { VigilConfig } from './config/schema.js';
import { VigilError } from '../core/errors.js';
import type { Alert } from '../alerts/alert.js';
import { AlertEmitter } from '../alerts/alert-emitter.js';
import { policiesByType } from '../alerts/config.js';
import { AlertCooldowns } from '../alerts/cooldown.js';
import { createCustomerAnalytics } from './analytics-wiring.js';
import type { CustomerAnalytics, CustomerAnalyticsSnapshot } from '../analytics/customer-analytics.js';
import { SuppressedCustomers } from '../state/suppressed-customers.js';
import { CustomerStore, type CustomerStoreSnapshot } from '../state/customer-store.js';
import { OutcomeCounters, type OutcomeCountsJson } from '../state/outcome-counters.js';
import { SeenEventIds, type SeenEventIdsSnapshot } from '../state/seen-event-ids.js';
import { freshCopy, type CopyBytes } from '../state/copy-bytes.js';
import { WatermarkTracker, type WatermarkSnapshot } from '../state/watermark.js';
import { CampaignProcess } from '../analytics/campaigns/campaign-process.js';
import type { CampaignCohortsSnapshot } from '../analytics/campaigns/cohorts.js';
import { ClusterProcess, type ClustersSnapshot } from '../analytics/clusters/cluster-process.js';
import { DemandAlerts } from '../analytics/demand/demand-alerts.js';
import { DemandProcess, type DemandSnapshot } from '../analytics/demand/demand-process.js';
import type { GlobalProcess } from '../state/operators/global-process.js';
import { keyedProcesses } from '../state/operators/keyed-processes.js';
import type { KeyedProcess } from '../state/operators/keyed-state.js';
import { FirstPurchaseMarks } from '../analytics/campaigns/first-purchases.js';
import type { PartitionQueries } from '../server/engine-view.js';

export interface EngineStateOptions {
  /**
   * The state of one partition whose demand series and campaign cohorts run after the
   * shuffle, once for all partitions (src/app/partitions/global-stage.ts): it runs neither,
   * and marks first purchases (`firstPurchases`) for the stage instead.
   */
  readonly globalStageElsewhere?: boolean;
}

/**
 * Everything the operator graph remembers between batches. Durability builds on
 * `snapshot()` / `restore()`: a msgpack document holding keyed state, remembered event ids,
 * the watermark and the outcome counters, so a restored engine continues exactly where the
 * original stood.
 */
export class EngineState {
  readonly store: CustomerStore;
  readonly seen: SeenEventIds;
  readonly watermark: WatermarkTracker;
  readonly counters = new OutcomeCounters();
  /** Erased customers, whose later events are rejected (src/app/erasure/). */
  readonly suppressed = new SuppressedCustomers();
  /** The per-customer models and their alerts; undefined when analytics.enabled is false. */
  readonly analytics: CustomerAnalytics | undefined;
  readonly alerts: AlertEmitter | undefined;
  /** Demand series and forecasts; undefined when demand.enabled is false. */
  readonly demand: DemandProcess | undefined;
  /** Behavioural clusters; undefined when clusters.enabled is false. */
  readonly clusters: ClusterProcess | undefined;
  /** Campaign cohorts; undefined when analytics.enabled is false. */
  readonly campaigns: CampaignProcess | undefined;
  /** The keyed processes (customer analytics, clusters, campaigns) as the keyed-state stage runs them. */
  readonly keyedProcess: KeyedProcess<Alert> | undefined;
  /** Processes over the whole stream, run after keyed state in this order. */
  readonly globalProcesses: readonly GlobalProcess<Alert>[];
  /** With partition workers, on the main thread's state: per-customer answers from the workers (the ops server). */
  partitions: PartitionQueries | undefined;
  /** With `globalStageElsewhere` and analytics on: which applied purchases were first ones. */
  readonly firstPurchases: FirstPurchaseMarks | undefined;

  constructor(config: VigilConfig, opts: EngineStateOptions = {}) {
    this.store = new CustomerStore({
      windows: config.state.windows,
      sessionGapMs: config.state.sessionGapMs,
      ttlMs: config.state.ttlMs,
      buyerTtlMs: config.state.buyerTtlMs,
      recentItems: config.state.recentItems,
      maxProducts: config.state.maxProducts,
      maxCustomers: config.limits.maxCustomers,
    });
    this.seen = new SeenEventIds(config.dedupe.retentionMs, config.dedupe.maxIds);
    this.watermark = new WatermarkTracker(config.eventTime.maxOutOfOrdernessMs, config.eventTime.idleTimeoutMs);
    if (config.analytics.enabled) {
      this.alerts = new AlertEmitter(new AlertCooldowns(policiesByType(config.alerts.policies), this.store.capacity));
      this.analytics = createCustomerAnalytics(config, this.store, this.alerts);
    }
    const here = opts.globalStageElsewhere !== true;
    if (config.demand.enabled && here) {
      const alerts =
        this.alerts && new DemandAlerts(this.alerts, policiesByType(config.alerts.policies), config.demand.alerts);
      this.demand = new DemandProcess(config.demand, config.eventTime.allowedLatenessMs, alerts);
    }
    if (config.clusters.enabled) this.clusters = new ClusterProcess(config.clusters, this.store);
    if (config.analytics.enabled && !here) this.firstPurchases = new FirstPurchaseMarks(this.store);
    if (config.analytics.enabled && here)
      this.campaigns = new CampaignProcess(
        this.store,
        {
          ...config.campaigns,
          maxCustomers: config.limits.maxCustomers,
          latenessMs: config.eventTime.allowedLatenessMs,
        },
        this.alerts,
      );
    this.keyedProcess = keyedProcesses([this.analytics, this.clusters, this.campaigns, this.firstPurchases]);
    this.globalProcesses = this.demand ? [this.demand] : [];
  }

  snapshot(): Uint8Array {
    return msgpackEncode(this.capture());
  }

  /**
   * The state as a document whose buffers are copies made with `copy`: a consistent cut,
   * safe to encode and write out while the engine goes on. Checkpoints pass a `CaptureArena`.
   */
  capture(copy: CopyBytes = freshCopy): StateSnapshot {
    return {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      store: this.store.snapshot(copy),
      seen: this.seen.snapshot(copy),
      watermark: this.watermark.snapshot(),
      counters: this.counters.toJSON(),
      analytics: this.analytics?.snapshot(this.store.slotsInUse, copy) ?? null,
      alerts: this.alerts?.snapshot(this.store.slotsInUse, copy) ?? null,
      demand: this.demand?.snapshot() ?? null,
      clusters: this.clusters?.snapshot() ?? null,
      campaigns: this.campaigns?.snapshot() ?? null,
    };
  }

  restore(bytes: Uint8Array, now = performance.now()): void {
    let doc: StateSnapshot;
    try {
      doc = msgpackDecode(bytes) as StateSnapshot;
    } catch (e) {
      throw new VigilError('VIGIL_ERR_SNAPSHOT', 'state snapshot does not decode', [(e as Error).message]);
    }
    this.restoreCapture(doc, now);
  }

  /** Restores a document made by `capture` (or decoded from `snapshot`'s bytes). */
  restoreCapture(doc: StateSnapshot, now = performance.now()): void {
    if (doc?.format !== SNAPSHOT_FORMAT || doc.version !== SNAPSHOT_VERSION) {
      throw new VigilError('VIGIL_ERR_SNAPSHOT', `not a version ${SNAPSHOT_VERSION} Vigil state snapshot`);
    }
    try {
      this.store.restore(doc.store);
      this.seen.restore(doc.seen);
      this.watermark.restore(doc.watermark, now);
      this.counters.restore(doc.counters);
      if ((doc.analytics === null) !== (this.analytics === undefined))
        throw new Error('analytics.enabled differs from the snapshot');
      if (doc.analytics !== null) this.analytics!.restore(doc.analytics);
      if (doc.alerts !== null) this.alerts!.restore(doc.alerts);
      if ((doc.demand === null) !== (this.demand === undefined))
        throw new Error('demand.enabled differs from the snapshot');
      if (doc.demand !== null) this.demand!.restore(doc.demand);
      if ((doc.clusters === null) !== (this.clusters === undefined))
        throw new Error('clusters.enabled differs from the snapshot');
      if (doc.clusters !== null) this.clusters!.restore(doc.clusters);
      if ((doc.campaigns === null) !== (this.campaigns === undefined))
        throw new Error('analytics.enabled differs from the snapshot');
      if (doc.campaigns !== null) this.campaigns!.restore(doc.campaigns);
    } catch (e) {
      throw new VigilError('VIGIL_ERR_SNAPSHOT', 'state snapshot does not fit this engine', [(e as Error).message]);
    }
  }
}

const SNAPSHOT_FORMAT = 'vigil-state';
/**
 * 4: demand series, behavioural clusters, campaign cohorts. 5: campaigns' live set and final
 * reports. 6: customer ids as one UTF-8 table.
 */
const SNAPSHOT_VERSION = 6;

export interface StateSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  store: CustomerStoreSnapshot;
  seen: SeenEventIdsSnapshot;
  watermark: WatermarkSnapshot;
  counters: OutcomeCountsJson;
  analytics: CustomerAnalyticsSnapshot | null;
  alerts: ReturnType<AlertEmitter['snapshot']> | null;
  demand: DemandSnapshot | null;
  clusters: ClustersSnapshot | null;
  campaigns: CampaignCohortsSnapshot | null;
}
