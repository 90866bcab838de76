import { freshCopy, type CopyBytes } from '../state/copy-bytes.js';
import type { Alert } from '../alerts/alert.js';
import type { AlertEmitter, AlertOutput } from '../alerts/alert-emitter.js';
import type { KeyedProcess } from '../state/operators/keyed-state.js';
import type { CanonicalEvent } from '../core/event.js';
import type { CustomerStore, SlotListener } from '../state/customer-store.js';
import type { StateSignal } from '../state/signals.js';
import type { QuantileSketch, QuantileSketchSnapshot } from './quantile-sketch.js';
import type { ItemNeighbours, ItemNeighboursSnapshot } from './recs/item-neighbours.js';
import type { RfmPopulation, RfmScores, RfmSnapshot } from './rfm.js';
import { ReturnHazard, type ReturnHazardSnapshot } from './return-hazard.js';
import type { ChurnEvidence } from './churn-score.js';
import { probabilityAlive, type BgNbdParams } from './bgnbd.js';
import type { PooledGaps, RefitJobSnapshot, RefitPhase } from './refit-job.js';
import { customerLifetimeValue } from './clv.js';
import type { AnalyticsConfig } from './config.js';
import type { GammaGammaParams } from './gamma-gamma.js';
import { meanRepeatSpend, repeatStats } from './repeat-stats.js';
import { ModelHealth, type AnalyticsProcess, type ProcessContext } from './processes/analytics-process.js';
import { CartProcess } from './processes/cart-process.js';
import { ChurnProcess } from './processes/churn-process.js';
import { CustomerFields } from './processes/customer-fields.js';
import { RecommendationProcess } from './processes/recommendation-process.js';
import { RefitProcess } from './processes/refit-process.js';
import { RfmProcess } from './processes/rfm-process.js';
import { ValueProcess } from './processes/value-process.js';
import {
  GlobalShare,
  othersOf,
  type GlobalPartial,
  type GlobalShareSnapshot,
  type ScalarPart,
  type SketchPart,
} from './processes/global-share.js';
import { mergeReturnHazards, mergeRfm, mergeSketches } from './processes/merges.js';

export { CART_TIMER } from './processes/cart-process.js';
export { ALIVE_TIMER, CHURN_TIMER } from './processes/churn-process.js';

/** What the analytics conclude about one customer, for dumps and the HTTP API. */
export interface CustomerInsight {
  /** BG/NBD statistics in `unit`s from the first purchase; null before the first purchase. */
  bgnbd: { x: number; tx: number; T: number; unit: string } | null;
  pAlive: number | null;
  /** Purchases BG/NBD expects over the value horizon. */
  expectedPurchases: number | null;
  /** Discounted value over the horizon, in the events' currency units. */
  clv: number | null;
  topTier: boolean;
  rfm: RfmScores | null;
}

export interface CustomerAnalyticsParts {
  readonly alerts: AlertEmitter;
  readonly recommender: ItemNeighbours;
  readonly rfm: RfmPopulation;
  /** Buyers' CLV, for the top-tier threshold: a quantile sketch that follows inserts and removals. */
  readonly clvQuantile: QuantileSketch;
  /** The population's hazard of a return purchase by frequency and silence: the churn score of a purchase-only feed. */
  readonly returns: ReturnHazard;
}

/**
 * The per-customer fields in the order of the record layout snapshots and checkpoints were
 * written with before the concerns became processes (the layout signature is checked on
 * restore): kept, so that state bytes stay as they were.
 */
const RECORD_ORDER = [
  'clv',
  'lastCartTs',
  'rfmLast',
  'rfmMonetary',
  'firstSession',
  'lastSession',
  'lastIntent',
  'firstCartless',
  'rfmTransactions',
  'sessions',
  'sessionsToIntent',
  'intentSessions',
  'cartless',
  'tier',
  'segment',
] as const;

/**
 * The analytics as the one `KeyedProcess` the keyed-state stage runs: a thin composition of
 * one process per concern (src/analytics/processes/): RFM segments, value (CLV and tier),
 * carts, churn, recommendations and refits. Each process keeps its own per-customer fields
 * and timers and declares its state across customers; this class lays the fields out in one
 * record per slot, wires the processes to what they read of each other, and calls them in a
 * fixed order at each applied event and each signal, so what they conclude, and the order of
 * their alerts, is the same at every run. Time is event time throughout.
 *
 * The order: at an event, RFM, value, carts, churn, recommendations, then refits (a purchase
 * rescores RFM before the value and cross-sell alerts carry the segment; the refit step
 * comes last, as one event's share of the work); at a closed session, carts then churn; a
 * timer goes to the process that owns it.
 */
export class CustomerAnalytics implements KeyedProcess<Alert>, SlotListener {
  readonly rfm: RfmProcess;
  readonly value: ValueProcess;
  readonly carts: CartProcess;
  readonly churn: ChurnProcess;
  readonly recommendations: RecommendationProcess;
  readonly refitter: RefitProcess;
  /** The processes in the order they are called. */
  readonly processes: readonly AnalyticsProcess[];
  private readonly fields: CustomerFields;
  private readonly health = new ModelHealth();
  private readonly timerOwners = new Map<string, AnalyticsProcess>();
  /** This partition's side of the state across customers; undefined in the single-threaded engine. */
  private share: GlobalShare | undefined;

  constructor(
    private readonly cfg: AnalyticsConfig,
    private readonly store: CustomerStore,
    private readonly parts: CustomerAnalyticsParts,
  ) {
    const declared = [RfmProcess.FIELDS, ValueProcess.FIELDS, CartProcess.FIELDS, ChurnProcess.FIELDS].flat();
    this.fields = new CustomerFields(declared, RECORD_ORDER, store.capacity);
    const ctx: ProcessContext = { cfg, store, fields: this.fields, alerts: parts.alerts, health: this.health };
    // Construction order defines the timer kinds (churn's two, then the cart's), which timer
    // entries in snapshots carry.
    this.rfm = new RfmProcess(ctx, parts.rfm, parts.returns);
    const segmentLabel = (slot: number): string | null => this.rfm.segmentLabel(slot);
    this.refitter = new RefitProcess(ctx, {
      buyers: () => this.rfm.buyers,
      rearm: (slot, watermark) => this.churn.rearmAliveCrossing(slot, watermark),
    });
    this.value = new ValueProcess(ctx, this.refitter.models, parts.clvQuantile, segmentLabel);
    this.recommendations = new RecommendationProcess(ctx, parts.recommender, segmentLabel);
    this.churn = new ChurnProcess(ctx, {
      models: this.refitter.models,
      refits: this.refitter,
      rfm: this.rfm,
      value: this.value,
      lastCartTs: (slot) => this.carts.lastCartTs(slot),
    });
    this.carts = new CartProcess(ctx, this.recommendations, segmentLabel);
    this.processes = [this.rfm, this.value, this.carts, this.churn, this.recommendations, this.refitter];
    for (const p of this.processes) for (const timer of p.timers) this.timerOwners.set(timer, p);
    store.addSlotListener(this);
  }

  get bytesPerCustomer(): number {
    return this.fields.bytesPerCustomer;
  }

  get bgnbd(): BgNbdParams {
    return this.refitter.models.bgnbd;
  }

  get gammaGamma(): GammaGammaParams {
    return this.refitter.models.gammaGamma;
  }

  get refits(): number {
    return this.refitter.refits;
  }

  /** BG/NBD refits whose parameters were implausible and were not taken (see `RefitJob`). */
  get refitsRejected(): number {
    return this.refitter.refitsRejected;
  }

  /** Work units refits have done (see `REFIT_WORK_PER_EVENT`), for progress and tests. */
  get refitWork(): number {
    return this.refitter.refitWork;
  }

  /** Model evaluations that failed (a numeric corner the models could not handle); the event still counts as applied. */
  get modelErrors(): number {
    return this.health.errors;
  }

  /** Whether a refit is under way (its parameters not yet in force). */
  get refitPending(): boolean {
    return this.refitter.pending;
  }

  /** The phase of the refit under way, null between refits. */
  get refitPhase(): RefitPhase | null {
    return this.refitter.phase;
  }

  // ---- slots ------------------------------------------------------------------------

  admitted(slot: number): void {
    this.fields.admit(slot, this.store.capacity);
    this.parts.alerts.clearSlot(slot);
  }

  evicting(slot: number): void {
    this.value.evicting(slot);
    this.rfm.evicting(slot);
  }

  // ---- the keyed process ----------------------------------------------------------------

  begin(batch: AlertOutput): void {
    this.parts.alerts.begin(batch);
  }

  /**
   * Runs at every applied event, so it holds no closure: one capturing `slot`, `e` or
   * `watermark` makes V8 allocate a context (and box the watermark) at every call.
   */
  onApplied(slot: number, e: CanonicalEvent, watermark: number): void {
    this.rfm.onApplied(slot, e);
    this.value.onApplied(slot, e);
    this.carts.onApplied(slot, e);
    this.churn.onApplied(slot, e);
    this.recommendations.onApplied(slot, e);
    this.refitter.onApplied(slot, e, watermark);
  }

  onSignals(signals: readonly StateSignal[], from: number, _watermark: number): void {
    for (let i = from; i < signals.length; i++) {
      const s = signals[i]!;
      if (s.kind === 'session_closed') {
        const slot = this.store.slotHolding(s.customerId, s.slot);
        if (slot === undefined) continue;
        this.carts.onSessionClosed(slot, s.customerId, s.start, s.end);
        this.churn.onSessionClosed(slot, s.customerId, s.start, s.end);
      } else if (s.kind === 'timer') {
        const slot = this.store.slotHolding(s.customerId, s.slot);
        if (slot === undefined) continue;
        this.timerOwners.get(s.timer)?.onTimer?.(s.timer, slot, s.customerId, s.due);
      }
    }
  }

  // ---- state across partitions -------------------------------------------------------------

  /**
   * Makes this the analytics of one partition among several (call before the first event):
   * the RFM and CLV sketches become views (the others' part at the last sync point plus this
   * partition's own changes since) and own twins keep this partition's exact share. Without
   * it nothing changes: the single-threaded engine's population is all its own.
   */
  shareGlobals(): void {
    if (this.share !== undefined) return;
    const share = new GlobalShare(this.parts.clvQuantile, this.parts.returns);
    share.ownRfm.restore(this.parts.rfm.snapshot());
    share.ownClv.restore(this.parts.clvQuantile.snapshot());
    share.ownReturns.restore(this.parts.returns.snapshot());
    this.share = share;
    this.rfm.own = share.ownRfm;
    this.rfm.ownReturns = share.ownReturns;
    this.value.own = share.ownClv;
  }

  /**
   * Sync point `marker` in this partition's stream: the broadcast of an earlier point is put
   * in force (when one is due: `totals` null means nobody held anything then), then this
   * partition's exact share is taken and returned, as data (see `GlobalShare`).
   */
  syncPoint(
    marker: number,
    broadcast: { marker: number; totals: SketchPart | null; scalars: ScalarPart | null } | undefined,
  ): GlobalPartial {
    const share = this.share;
    if (share === undefined) throw new Error('syncPoint: the analytics do not share their globals');
    // Installing changes the views, never the own twins: one snapshot of them serves both steps.
    const own: SketchPart = { rfm: share.ownRfm.snapshot(), clv: share.ownClv.snapshot() };
    if (broadcast !== undefined) {
      const { totals, scalars } = broadcast;
      const handed = share.handed.find(([m]) => m === broadcast.marker)?.[1];
      if (totals !== null && handed === undefined)
        throw new Error(`syncPoint: nothing was handed at ${broadcast.marker}`);
      const { unitMs, cells } = this.parts.returns;
      const none = () => new ReturnHazard(unitMs, cells).snapshot();
      const others = totals === null ? null : othersOf(totals, handed!, scalars, none());
      this.installOthers(others, own);
      share.handed = share.handed.filter(([m]) => m > broadcast.marker);
    }
    share.handed.push([marker, own]);
    return {
      ...own,
      sessionGap: this.churn.populationSessionGap.snapshot(),
      sessions: this.churn.populationSessions,
      intentSessions: this.churn.populationIntentSessions,
      pooledGaps: { ...this.refitter.pooledGaps },
      returns: share.ownReturns.snapshot(),
    };
  }

  /**
   * Puts the others' part of a sync point in force: the views become it merged with this
   * partition's own state now (`own`), and the session and gap statistics read it beside
   * their own. Null (nobody else holds anything) leaves the views as this partition's own.
   */
  private installOthers(others: GlobalPartial | null, own: SketchPart): void {
    const share = this.share!;
    if (others === null && share.others === null) return;
    share.others = others;
    this.churn.others = others;
    this.refitter.othersPooledGaps = others?.pooledGaps ?? null;
    this.parts.rfm.restore(others === null ? own.rfm : mergeRfm(others.rfm, own.rfm));
    this.parts.clvQuantile.restore(others === null ? own.clv : mergeSketches(others.clv, own.clv));
    const ownReturns = share.ownReturns.snapshot();
    this.parts.returns.restore(others === null ? ownReturns : mergeReturnHazards(others.returns, ownReturns));
  }

  /** The share's own twins and the others' part in force, for a partition's capture; null when not shared. */
  shareSnapshot(): GlobalShareSnapshot | null {
    return this.share?.snapshot() ?? null;
  }

  restoreShare(s: GlobalShareSnapshot): void {
    this.shareGlobals();
    const share = this.share!;
    share.restore(s);
    // A capture from before the return hazard was shared: its view was the partition's own.
    if (s.ownReturns === undefined) share.ownReturns.restore(this.parts.returns.snapshot());
    this.churn.others = s.others;
    this.refitter.othersPooledGaps = s.others?.pooledGaps ?? null;
  }

  // ---- views ----------------------------------------------------------------------------

  insight(customerId: string, asOf: number): CustomerInsight | undefined {
    const slot = this.store.slotOf(customerId);
    if (slot === undefined) return undefined;
    const t = this.store.transactionStats(slot);
    const rfm = this.rfm.scoresOf(slot);
    if (t === null) return { bgnbd: null, pAlive: null, expectedPurchases: null, clv: null, topTier: false, rfm };
    const timeUnit = this.cfg.timeUnit;
    const stats = repeatStats(t, Math.max(asOf, t.last), timeUnit);
    const value = customerLifetimeValue(this.bgnbd, this.gammaGamma, stats, meanRepeatSpend(t), this.value.clvOptions);
    return {
      bgnbd: { ...stats, unit: timeUnit },
      pAlive: probabilityAlive(this.bgnbd, stats),
      expectedPurchases: value.expectedPurchases,
      clv: value.clv,
      topTier: this.value.isTopTier(slot),
      rfm,
    };
  }

  /** See `ChurnProcess.churnEvidence`; undefined for a customer not in state. */
  churnEvidence(customerId: string, asOf: number): ChurnEvidence | undefined {
    const slot = this.store.slotOf(customerId);
    return slot === undefined ? undefined : this.churn.churnEvidence(slot, asOf);
  }

  /** The population's share of sessions with intent so far (NaN before any session). */
  intentShare(): number {
    return this.churn.intentShare();
  }

  /** This state's own sessions and sessions with intent (a partition's, without the others' part). */
  ownSessions(): { sessions: number; intentSessions: number } {
    return { sessions: this.churn.populationSessions, intentSessions: this.churn.populationIntentSessions };
  }

  /** The RFM segment assigned to the customer (what alerts carry), or null before one is. */
  segmentOf(customerId: string): string | null {
    const slot = this.store.slotOf(customerId);
    return slot === undefined ? null : this.rfm.segmentLabel(slot);
  }

  /** Customers in state per assigned RFM segment, for the once-a-second kpi. */
  segmentCounts(): Record<string, number> {
    return this.rfm.segmentCounts();
  }

  /** Up to `k` products for the customer from their recent items (those left out), as of event time `asOf`. */
  recommendFor(customerId: string, k: number, asOf: number): { productId: string; score: number }[] {
    const slot = this.store.slotOf(customerId);
    return slot === undefined ? [] : this.recommendations.recommendFor(slot, k, asOf);
  }

  /** Products viewed together with `productId`, best first; undefined for a product never seen. */
  similarItems(productId: string, k: number, asOf: number): { productId: string; score: number }[] | undefined {
    return this.recommendations.similarItems(productId, k, asOf);
  }

  // ---- snapshots ------------------------------------------------------------------------

  /** Everything the analytics remember, for EngineState's snapshot; `slots` as the store's. */
  snapshot(slots: number, copy: CopyBytes = freshCopy): CustomerAnalyticsSnapshot {
    const refits = this.refitter;
    const churn = this.churn;
    // The document's shape and key order predate the processes: snapshot and checkpoint bytes stay as they were.
    return {
      layout: this.fields.signature(),
      records: this.fields.snapshot(slots, copy),
      bgnbd: { ...refits.models.bgnbd },
      gammaGamma: { ...refits.models.gammaGamma },
      nextRefitAt: refits.nextRefitAt,
      refits: refits.refits,
      refitsRejected: refits.refitsRejected,
      refitJob: refits.jobSnapshot(),
      refitWork: refits.refitWork,
      purchasesSinceRefit: refits.purchasesSinceRefit,
      modelErrors: this.health.errors,
      populationSessionGap: churn.populationSessionGap.snapshot(),
      populationSessions: churn.populationSessions,
      populationIntentSessions: churn.populationIntentSessions,
      populationPurchaseGap: { ...refits.pooledGaps },
      rfm: this.parts.rfm.snapshot(),
      returns: this.parts.returns.snapshot(),
      clv: this.parts.clvQuantile.snapshot(),
      recommender: this.parts.recommender.snapshot(),
    };
  }

  restore(s: CustomerAnalyticsSnapshot): void {
    if (s.layout !== this.fields.signature()) throw new Error('analytics snapshot has another record layout');
    this.fields.restore(s.records, this.store.capacity);
    const refits = this.refitter;
    const churn = this.churn;
    refits.models.bgnbd = { ...s.bgnbd };
    refits.models.gammaGamma = { ...s.gammaGamma };
    refits.nextRefitAt = s.nextRefitAt;
    refits.refits = s.refits;
    refits.refitsRejected = s.refitsRejected;
    refits.restoreJob(s.refitJob);
    refits.refitWork = s.refitWork;
    refits.purchasesSinceRefit = s.purchasesSinceRefit;
    this.health.errors = s.modelErrors;
    churn.populationSessionGap.restore(s.populationSessionGap);
    churn.populationSessions = s.populationSessions;
    churn.populationIntentSessions = s.populationIntentSessions;
    refits.pooledGaps = { ...s.populationPurchaseGap };
    this.parts.rfm.restore(s.rfm);
    this.parts.returns.restore(s.returns);
    this.parts.clvQuantile.restore(s.clv);
    this.parts.recommender.restore(s.recommender);
  }
}

export interface CustomerAnalyticsSnapshot {
  layout: string;
  records: Uint8Array;
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams;
  nextRefitAt: number;
  refits: number;
  refitsRejected: number;
  /** The refit under way, null between refits. */
  refitJob: RefitJobSnapshot | null;
  refitWork: number;
  purchasesSinceRefit: number;
  modelErrors: number;
  populationSessionGap: [number, number, number];
  populationSessions: number;
  populationIntentSessions: number;
  populationPurchaseGap: PooledGaps;
  rfm: RfmSnapshot;
  returns: ReturnHazardSnapshot;
  clv: QuantileSketchSnapshot;
  recommender: ItemNeighboursSnapshot;
}
