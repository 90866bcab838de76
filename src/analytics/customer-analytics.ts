import { freshCopy, type CopyBytes } from '../state/copy-bytes.js';
import type { Alert } from '../alerts/alert.js';
import type { AlertEmitter, AlertOutput } from '../alerts/alert-emitter.js';
import type { KeyedProcess } from '../state/operators/keyed-state.js';
import type { CanonicalEvent } from '../core/event.js';
import { RecentAction, type CustomerStore, type SlotListener, type TransactionStats } from '../state/customer-store.js';
import type { StateSignal } from '../state/signals.js';
import { RecordLayout, SlotRecords } from '../state/slot-records.js';
import type { QuantileSketch, QuantileSketchSnapshot } from './quantile-sketch.js';
import type { ItemNeighbours, ItemNeighboursSnapshot } from './recs/item-neighbours.js';
import type { RfmPopulation, RfmScores, RfmSnapshot, RfmValues } from './rfm.js';
import type { ReturnHazard, ReturnHazardSnapshot } from './return-hazard.js';
import { churnScoreBasis, type ChurnEvidence } from './churn-score.js';
import {
  expectedPurchases,
  probabilityAlive,
  probabilityNoPurchase,
  timeWhenAliveFallsTo,
  type BgNbdParams,
  type RepeatStats,
} from './bgnbd.js';
import { usualGap } from './purchase-gap.js';
import {
  emptyGaps,
  REFIT_WORK_PER_EVENT,
  RefitJob,
  type PooledGaps,
  type RefitHost,
  type RefitJobSnapshot,
  type RefitPhase,
  type RefitResult,
} from './refit-job.js';
import { RunningGap } from './running-gap.js';
import { customerLifetimeValue } from './clv.js';
import type { AnalyticsConfig } from './config.js';
import type { GammaGammaParams } from './gamma-gamma.js';
import { meanRepeatSpend, repeatStats, repeatStatsInto, TIME_UNITS } from './repeat-stats.js';
import type { ClvOptions } from './clv.js';
import {
  prepareVisitChurn,
  preparedEvidence,
  preparedLogOdds,
  preparedPStopped,
  preparedTimeBeforeCrossing,
  preparedTimeWhenStoppedReachesFrom,
  stoppedProbability,
  visitChurn,
  type VisitChurnEvidence,
  type VisitChurnPrior,
  type VisitStats,
} from './visit-churn.js';

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
/** Each step costs a ₂F₁; see clv.ts for why two are enough. */
const CLV_STEPS = 2;
/** Quintiles of a handful of buyers are noise: segments are assigned from this many on. */
const MIN_RFM_POPULATION = 50;
/** Churn checks look this far ahead (days); a customer quiet for longer is checked again at their next visit. */
const CHURN_HORIZON_DAYS = 3 * 365;
/** Churn crossing times are found to this resolution (days): an hour. */
const CHURN_RESOLUTION_DAYS = 1 / 24;
/** A refit is skipped unless purchases since the last one reach this share of the buyers. */
const REFIT_MIN_CHANGE = 0.05;
export const CHURN_TIMER = 'churn_check';
/** Armed at the closed-form age at which BG/NBD P(alive) falls to `churn.pAliveFloor`. */
export const ALIVE_TIMER = 'bgnbd_alive';
export const CART_TIMER = 'cart_abandon';

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
 * The per-customer models, run inside the keyed-state stage (a `KeyedProcess`): churn
 * (the visit posterior, its bar lowered once BG/NBD P(alive) crosses a floor), value
 * (Gamma-Gamma CLV and the top tier), RFM segments, cart abandonment and cross-sell. Everything is computed from the customer's record and a few
 * numbers kept here per slot; nothing rescans history. Time is event time throughout, so a
 * replay reaches the same conclusions at the same points.
 */
export class CustomerAnalytics implements KeyedProcess<Alert>, SlotListener {
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams;
  private readonly unitMs: number;
  private readonly horizon: number;
  private readonly discountPerUnit: number;
  private readonly records: SlotRecords;
  /**
   * Element offsets of the fields, one object per type, read by constant name (`this.F.clv`):
   * a property read with a varying key (`o[name]` inside a shared accessor) is megamorphic
   * and cost ≈ 13 ns a field access against ≈ 1 ns (measured), on every event's path.
   */
  private readonly F: Record<F64Field, number>;
  private readonly U: Record<U32Field, number>;
  private readonly B: Record<U8Field, number>;
  /** Record strides in elements of each type (fixed by the sealed layout). */
  private readonly s64: number;
  private readonly s32: number;
  private readonly s8: number;
  /** Time between one session's end and the next one's start, over all customers. */
  private readonly populationSessionGap = new RunningGap();
  /** Sessions closed and those with intent (a cart or a purchase), over all customers. */
  private populationSessions = 0;
  private populationIntentSessions = 0;
  /** Gaps between purchases, pooled over the buyers the last refit walked: the usual gap of customers with few of their own. */
  private populationPurchaseGap: PooledGaps = emptyGaps();
  private readonly churnTimer: number;
  private readonly aliveTimer: number;
  private readonly cartTimer: number;
  private nextRefitAt = NaN;
  refits = 0;
  /** BG/NBD refits whose parameters were implausible and were not taken (see `RefitJob`). */
  refitsRejected = 0;
  /** The refit under way, advanced a little at each applied event; undefined between refits. */
  private refitJob: RefitJob | undefined;
  private readonly refitHost: RefitHost;
  /** Work units refits have done (see `REFIT_WORK_PER_EVENT`), for progress and tests. */
  refitWork = 0;
  private purchasesSinceRefit = 0;
  /** CLV at a first purchase, for the parameter objects in force when computed (see `clvAt`). */
  private firstPurchaseClv: { bgnbd: BgNbdParams | null; gammaGamma: GammaGammaParams | null; clv: number } = {
    bgnbd: null,
    gammaGamma: null,
    clv: NaN,
  };
  /** Model evaluations that failed (a numeric corner the models could not handle); the event still counts as applied. */
  modelErrors = 0;
  private readonly recent = new Uint32Array(32);
  private readonly recentActions = new Uint8Array(32);
  private readonly sessionBefore = new Uint32Array(32);
  /**
   * Scratch filled in place on the hot paths (a purchase, a session, a check), so that they
   * allocate none of these: GC is 6–14% of a run with analytics at 100k customers (profiles).
   * Calls are synchronous and each use reads its scratch before the next fill of it.
   */
  private readonly txScratch: TransactionStats = { first: 0, last: 0, repeat: 0, firstValue: 0, repeatValue: 0 };
  private readonly repeatScratch: RepeatStats = { x: 0, tx: 0, T: 0 };
  private readonly priorScratch: { -readonly [K in keyof VisitChurnPrior]: number };
  private readonly visitScratch: VisitStats = {
    firstSession: 0,
    lastIntent: 0,
    lastSession: 0,
    firstCartless: 0,
    sessionsToIntent: 0,
    intentSessions: 0,
    cartless: 0,
  };
  private readonly rfmBefore: RfmValues = { lastPurchase: 0, transactions: 0, monetary: 0 };
  private readonly rfmAfter: RfmValues = { lastPurchase: 0, transactions: 0, monetary: 0 };
  private readonly bought: number[] = [];
  private readonly clvOptions: ClvOptions;

  constructor(
    private readonly cfg: AnalyticsConfig,
    private readonly store: CustomerStore,
    private readonly parts: CustomerAnalyticsParts,
  ) {
    this.bgnbd = { ...cfg.bgnbd };
    this.gammaGamma = { ...cfg.gammaGamma };
    this.unitMs = TIME_UNITS[cfg.timeUnit];
    this.horizon = cfg.value.horizonMs / this.unitMs;
    this.discountPerUnit = Math.pow(1 + cfg.value.yearlyDiscountRate, this.unitMs / YEAR_MS) - 1;
    this.clvOptions = { horizon: this.horizon, discountPerUnit: this.discountPerUnit, steps: CLV_STEPS };
    const c = cfg.churn;
    this.priorScratch = {
      hazardPerDay: c.hazardPerYear / 365,
      lapsedShare: c.lapsedShare,
      lapsedVisitRatio: c.lapsedVisitRatio,
      priorVisits: c.priorVisits,
      meanGapDays: 0,
      intentShare: 0,
    };
    const layout = new RecordLayout()
      .add('clv', 'f64', 1, NaN)
      .add('lastCartTs', 'f64', 1, NaN)
      .add('rfmLast', 'f64', 1, NaN)
      .add('rfmMonetary', 'f64')
      .add('firstSession', 'f64', 1, NaN)
      .add('lastSession', 'f64', 1, NaN)
      .add('lastIntent', 'f64', 1, NaN)
      .add('firstCartless', 'f64', 1, NaN)
      .add('rfmTransactions', 'u32')
      .add('sessions', 'u32')
      .add('sessionsToIntent', 'u32')
      .add('intentSessions', 'u32')
      .add('cartless', 'u32')
      .add('tier', 'u8')
      .add('segment', 'u8')
      .seal();
    this.records = new SlotRecords(layout, store.capacity);
    this.F = offsets(layout, F64_FIELDS);
    this.U = offsets(layout, U32_FIELDS);
    this.B = offsets(layout, U8_FIELDS);
    this.s64 = layout.stride('f64');
    this.s32 = layout.stride('u32');
    this.s8 = layout.stride('u8');
    this.churnTimer = store.defineSignalTimer(CHURN_TIMER);
    this.aliveTimer = store.defineSignalTimer(ALIVE_TIMER);
    this.cartTimer = store.defineSignalTimer(CART_TIMER);
    store.addSlotListener(this);
    this.refitHost = {
      gathered: (gaps) => (this.populationPurchaseGap = gaps),
      apply: (result) => this.applyRefit(result),
      rearm: (slot, watermark) => this.rearmAliveCrossing(slot, watermark),
    };
  }

  get bytesPerCustomer(): number {
    return this.records.layout.bytesPerRecord;
  }

  // ---- slots ------------------------------------------------------------------------

  admitted(slot: number): void {
    if (slot >= this.records.capacity) this.records.grow(this.store.capacity);
    this.records.reset(slot);
    this.parts.alerts.clearSlot(slot);
  }

  evicting(slot: number): void {
    const f64 = this.records.f64;
    const clv = f64[slot * this.s64 + this.F.clv]!;
    if (!Number.isNaN(clv)) this.parts.clvQuantile.remove(clv);
    const before = this.rfmValuesInto(slot, this.rfmBefore);
    this.parts.rfm.update(before, undefined);
    this.parts.returns.update(before, undefined);
  }

  // ---- the keyed process ----------------------------------------------------------------

  begin(batch: AlertOutput): void {
    this.parts.alerts.begin(batch);
  }

  /**
   * Runs at every applied event, so it holds no closure: one capturing `slot`, `e` or
   * `watermark` makes V8 allocate a context (and box the watermark) at every call, whether
   * the closure is created or not (≈ 66 bytes an event, the analytics' largest allocation
   * site in a heap profile). A model that fails on one customer's numbers must not stop the
   * stream: each model call sits in a try/catch that counts the failure (`modelErrors`), the
   * event staying applied to keyed state.
   */
  onApplied(slot: number, e: CanonicalEvent, watermark: number): void {
    switch (e.type) {
      case 'purchase':
        try {
          this.onPurchase(slot, e, watermark);
        } catch {
          this.modelErrors++;
        }
        break;
      case 'product_view':
        this.observeView(slot, e.productId, e.ts);
        break;
      case 'add_to_cart':
        this.setF64(slot, this.F.lastCartTs, Math.max(e.ts, this.f64(slot, this.F.lastCartTs) || 0));
        break;
      case 'feedback':
        if (e.complaint === true || (e.rating !== undefined && e.rating <= this.cfg.churn.lowRating)) {
          try {
            this.onUnhappy(slot, e);
          } catch {
            this.modelErrors++;
          }
        }
        break;
      default:
        break;
    }
    if (this.refitJob !== undefined) this.advanceRefit(watermark);
    else if (watermark >= this.nextRefitAt) {
      try {
        this.startRefit(watermark);
      } catch {
        this.modelErrors++;
      }
    } else if (Number.isNaN(this.nextRefitAt) && this.cfg.refit.everyMs > 0 && Number.isFinite(watermark))
      this.nextRefitAt = watermark + this.cfg.refit.everyMs;
  }

  onSignals(signals: readonly StateSignal[], from: number, _watermark: number): void {
    for (let i = from; i < signals.length; i++) {
      const s = signals[i]!;
      if (s.kind === 'session_closed') this.onSessionClosed(s.customerId, s.slot, s.start, s.end);
      else if (s.kind === 'timer') {
        const slot = this.store.slotHolding(s.customerId, s.slot);
        if (slot === undefined) continue;
        if (s.timer === CART_TIMER) {
          this.onCartCheck(slot, s.customerId, s.due);
          continue;
        }
        // The models' checks, each failure counted as in `onApplied`.
        try {
          if (s.timer === CHURN_TIMER) this.onChurnCheck(slot, s.customerId, s.due);
          else if (s.timer === ALIVE_TIMER) this.onAliveCrossing(slot, s.customerId, s.due);
        } catch {
          this.modelErrors++;
        }
      }
    }
  }

  /**
   * Co-views are learned within a session: the products this session touched before this
   * view, from the customer's recent-items ring (at most one entry per event of the session).
   */
  private observeView(slot: number, productId: string, ts: number): void {
    const inSession = Math.min(this.store.sessionEvents(slot), this.recent.length + 1) - 1;
    // The recommender pairs a view with the last `sessionSteps` before it only: read no more.
    const wanted = Math.min(inSession + 1, this.parts.recommender.config.sessionSteps + 1);
    const n = this.store.recentInto(slot, this.recent, this.recentActions, wanted);
    // The store has just put this view's interned product first (0 when the dictionary is full).
    const product = n > 0 ? this.recent[0]! : (this.store.products.lookup(productId) ?? 0);
    // recent[0] is this view itself; the rest, most recent first, is reversed into `before`.
    const before = this.sessionBefore;
    let m = 0;
    for (let i = n - 1; i >= 1; i--) before[m++] = this.recent[i]!;
    this.parts.recommender.observeView(before, product, ts, m);
  }

  // ---- purchases: value, RFM, churn schedule, cross-sell --------------------------------

  private onPurchase(slot: number, e: Extract<CanonicalEvent, { type: 'purchase' }>, watermark: number): void {
    const t = this.txScratch;
    this.store.transactionStatsInto(slot, t); // a purchase was just applied: it has transactions
    this.purchasesSinceRefit++;
    const customerId = e.customerId;
    const now = Math.max(e.ts, t.last);
    this.parts.alerts.rearm(slot, 'churn.risk');
    this.updateRfm(slot, customerId, now, t);
    const stats = repeatStatsInto(t, now, this.cfg.timeUnit, this.repeatScratch);
    this.updateValue(slot, customerId, now, t, stats);
    this.armAliveCrossing(slot, now, t, stats);
    this.crossSell(slot, e, watermark);
  }

  /**
   * Arms the P(alive) timer at the closed-form age when BG/NBD P(alive) falls to
   * `churn.pAliveFloor` if no purchase comes (bgnbd.ts `timeWhenAliveFallsTo`): no search,
   * no polling. Called at each purchase and, for pending timers, after each refit; never
   * armed for x = 0 (P(alive) stays 1). A timer already pending at or before the crossing
   * stays and re-arms at the crossing when it fires, so a customer keeps about one heap
   * entry instead of a stale one per purchase and refit.
   */
  private armAliveCrossing(slot: number, now: number, t: TransactionStats, stats: RepeatStats): void {
    const age = timeWhenAliveFallsTo(this.bgnbd, stats, this.cfg.churn.pAliveFloor);
    if (!Number.isFinite(age)) {
      this.store.timers.cancel(slot, this.aliveTimer);
      return;
    }
    // Whole milliseconds, and later than now: the due time becomes an alert's event time.
    const due = Math.max(Math.ceil(t.first + age * this.unitMs), now + 1);
    const armed = this.store.timers.dueTime(slot, this.aliveTimer);
    if (armed > now && armed <= due) return;
    this.store.timers.arm(slot, this.aliveTimer, due);
  }

  private updateValue(slot: number, customerId: string, now: number, t: TransactionStats, stats: RepeatStats): void {
    const clv = this.clvAt(t, stats);
    const q = this.parts.clvQuantile;
    const old = this.f64(slot, this.F.clv);
    if (!Number.isNaN(old)) q.remove(old);
    q.insert(clv);
    this.setF64(slot, this.F.clv, clv);
    const threshold = q.quantile(1 - this.cfg.value.topTierShare);
    const top = q.count >= 20 && clv >= threshold ? 1 : 0;
    const was = this.u8(slot, this.B.tier);
    if (top !== was) {
      this.setU8(slot, this.B.tier, top);
      this.parts.alerts.emit(slot, {
        type: 'value.tier_changed',
        customerId,
        ts: now,
        severity: 'info',
        // 0.5 at the threshold, towards 1 far above it, towards 0 far below.
        score: clv / (clv + threshold || 1),
        reasons: [
          top
            ? `CLV ${clv.toFixed(2)} entered the top ${pct(this.cfg.value.topTierShare)} of buyers (threshold ${threshold.toFixed(2)})`
            : `CLV ${clv.toFixed(2)} fell below the top-tier threshold ${threshold.toFixed(2)}`,
        ],
        segment: this.segmentLabel(slot),
        data: { from: was ? 'top' : 'standard', to: top ? 'top' : 'standard', clv },
      });
    }
  }

  /**
   * CLV under the parameters in force. At a first purchase (x = 0, t_x = T = 0) it depends
   * on the parameters alone, so it is computed once per fit (the same ₂F₁s would give the
   * same number at every first purchase: most purchases, in a young shop).
   */
  private clvAt(t: TransactionStats, stats: RepeatStats): number {
    const first = stats.x === 0 && stats.T === 0 && stats.tx === 0;
    const memo = this.firstPurchaseClv;
    if (first && memo.bgnbd === this.bgnbd && memo.gammaGamma === this.gammaGamma) return memo.clv;
    const { clv } = customerLifetimeValue(this.bgnbd, this.gammaGamma, stats, meanRepeatSpend(t), this.clvOptions);
    if (first) this.firstPurchaseClv = { bgnbd: this.bgnbd, gammaGamma: this.gammaGamma, clv };
    return clv;
  }

  private rfmValues(slot: number): RfmValues | undefined {
    return this.rfmValuesInto(slot, { lastPurchase: 0, transactions: 0, monetary: 0 });
  }

  /** `rfmValues` written into `out` (returned), undefined before the first purchase. */
  private rfmValuesInto(slot: number, out: RfmValues): RfmValues | undefined {
    const last = this.f64(slot, this.F.rfmLast);
    if (Number.isNaN(last)) return undefined;
    out.lastPurchase = last;
    out.transactions = this.u32(slot, this.U.rfmTransactions);
    out.monetary = this.f64(slot, this.F.rfmMonetary);
    return out;
  }

  private updateRfm(slot: number, customerId: string, now: number, t: TransactionStats): void {
    const rfm = this.parts.rfm;
    const next = this.rfmAfter;
    next.lastPurchase = t.last;
    next.transactions = t.repeat + 1;
    next.monetary = t.firstValue + t.repeatValue;
    const before = this.rfmValuesInto(slot, this.rfmBefore);
    rfm.update(before, next);
    this.parts.returns.update(before, next);
    this.setF64(slot, this.F.rfmLast, next.lastPurchase);
    this.setU32(slot, this.U.rfmTransactions, next.transactions);
    this.setF64(slot, this.F.rfmMonetary, next.monetary);
    this.rescoreSegment(slot, customerId, now);
  }

  /**
   * Scores the customer against the population as it is now. Called at their purchases and
   * at their churn checks: a customer slides from champion to at risk while
   * *others* buy, so waiting for their own next purchase would miss exactly that.
   */
  private rescoreSegment(slot: number, customerId: string, now: number): void {
    const rfm = this.parts.rfm;
    const values = this.rfmValuesInto(slot, this.rfmBefore);
    if (values === undefined || rfm.size < MIN_RFM_POPULATION) return;
    const scores = rfm.scores(values);
    const before = this.u8(slot, this.B.segment);
    const index = rfm.segmentIndex(scores.segment) + 1;
    if (before === index) return;
    this.setU8(slot, this.B.segment, index);
    if (before === 0 || !rfm.transitionMattersAt(before - 1, index - 1)) return;
    const from = rfm.segmentName(before - 1);
    this.parts.alerts.emit(slot, {
      type: 'segment.changed',
      customerId,
      ts: now,
      severity: 'info',
      score: (scores.r + scores.f + scores.m - 3) / 12,
      reasons: [`RFM ${scores.r}${scores.f}${scores.m}: ${from} → ${scores.segment}`],
      segment: scores.segment,
      data: { from, to: scores.segment, r: scores.r, f: scores.f, m: scores.m },
    });
  }

  private crossSell(slot: number, e: Extract<CanonicalEvent, { type: 'purchase' }>, _watermark: number): void {
    const recommender = this.parts.recommender;
    const bought = this.bought; // the recommender reads it during the calls and keeps nothing
    bought.length = 0;
    for (const item of e.items) {
      const p = this.store.products.lookup(item.productId);
      if (p !== undefined && p !== 0) bought.push(p);
    }
    recommender.observeOrder(bought, e.ts);
    const recs = recommender.crossSell(bought, this.cfg.recommendations.count, e.ts);
    if (recs.length === 0 || bought.length === 0) return;
    this.parts.alerts.emit(slot, {
      type: 'recommendation.cross_sell',
      customerId: e.customerId,
      ts: e.ts,
      severity: 'info',
      score: Math.min(1, recs[0]!.score),
      reasons: [`bought ${bought.length} product(s); frequently bought or viewed together with them`],
      segment: this.segmentLabel(slot),
      data: {
        orderId: e.orderId,
        basedOn: bought.map((p) => this.store.products.name(p)),
        recommendations: recs.map((r) => ({ productId: this.store.products.name(r.item), score: r.score })),
      },
    });
  }

  // ---- churn ----------------------------------------------------------------------------

  /**
   * A session closed: fold it into the visit statistics and the population's, then judge a
   * buyer as of its end (a cartless visit can be what tips a lapsed browser over) and arm
   * the churn check for when silence alone would. Only sessions cost work, never events.
   */
  private observeSession(slot: number, customerId: string, start: number, end: number): void {
    const intent = this.f64(slot, this.F.lastCartTs) >= start || this.store.lastPurchase(slot) >= start;
    const last = this.f64(slot, this.F.lastSession);
    if (start > last) this.populationSessionGap.add(start - last);
    if (Number.isNaN(this.f64(slot, this.F.firstSession))) this.setF64(slot, this.F.firstSession, start);
    if (!(end <= last)) this.setF64(slot, this.F.lastSession, end);
    const sessions = this.u32(slot, this.U.sessions) + 1;
    this.setU32(slot, this.U.sessions, sessions);
    this.populationSessions++;
    if (intent) {
      this.populationIntentSessions++;
      this.setU32(slot, this.U.sessionsToIntent, sessions);
      this.setU32(slot, this.U.intentSessions, this.u32(slot, this.U.intentSessions) + 1);
      this.setU32(slot, this.U.cartless, 0);
      this.setF64(slot, this.F.firstCartless, NaN);
      if (!(end <= this.f64(slot, this.F.lastIntent))) this.setF64(slot, this.F.lastIntent, end);
      // Buying intent again: they are back, so a later lapse may warn again.
      this.parts.alerts.rearm(slot, 'churn.risk');
    } else {
      const cartless = this.u32(slot, this.U.cartless);
      if (cartless === 0) this.setF64(slot, this.F.firstCartless, start);
      this.setU32(slot, this.U.cartless, cartless + 1);
    }
    if (this.store.hasTransactions(slot))
      this.checkChurn(slot, customerId, Math.max(end, this.f64(slot, this.F.lastSession)), true);
  }

  /**
   * The churn timer fired at `due`: judge as of then with the population as it is now. When
   * the check was a session's provisional one (see `checkChurn`), this is where the search
   * it put off happens: a check that fires always searches.
   */
  private onChurnCheck(slot: number, customerId: string, due: number): void {
    if (!this.store.hasTransactions(slot)) return;
    this.rescoreSegment(slot, customerId, due);
    this.checkChurn(slot, customerId, due, false);
  }

  /**
   * The P(alive) timer fired at `due`. Below the floor under the parameters in force, the
   * visit posterior is judged against the lower bar `corroborateAt` (and the churn check
   * re-armed for it); above it (a refit moved the crossing later), the timer is re-armed.
   */
  private onAliveCrossing(slot: number, customerId: string, due: number): void {
    const t = this.txScratch;
    if (!this.store.transactionStatsInto(slot, t)) return;
    const now = Math.max(due, t.last);
    const stats = repeatStatsInto(t, now, this.cfg.timeUnit, this.repeatScratch);
    if (probabilityAlive(this.bgnbd, stats) >= this.cfg.churn.pAliveFloor) {
      this.armAliveCrossing(slot, now, t, stats);
      return;
    }
    this.rescoreSegment(slot, customerId, now);
    this.checkChurn(slot, customerId, now, false);
  }

  /**
   * Warns when P(stopped buying) from the visits has reached `churn.warnAt` as of `now`, or
   * `churn.corroborateAt` while BG/NBD P(alive) from the purchases is below `pAliveFloor`;
   * else arms the check for when it will under the bar in force. Crossing the floor later
   * is the P(alive) timer's business: it lowers the bar then.
   *
   * With `provisional` (a session closed) the search for the crossing is put off: the check
   * is armed at a time one evaluation proves to lie before it, and searches when it fires.
   * The customer's next session nearly always comes first and asks again, so the search
   * (≈ 10 evaluations) would mostly be thrown away. The warning still comes at the crossing,
   * to the hour, as found with the population as of the provisional check.
   */
  private checkChurn(slot: number, customerId: string, now: number, provisional: boolean): void {
    const prior = this.visitPrior();
    const v = this.visitStats(slot);
    if (prior === undefined || v === undefined) return;
    const c = this.cfg.churn;
    const pAlive = this.pAlive(slot, now);
    const bar = pAlive < c.pAliveFloor ? Math.min(c.warnAt, c.corroborateAt) : c.warnAt;
    const nowDays = now / DAY_MS;
    prepareVisitChurn(v, prior); // once for the questions below
    const logOdds = preparedLogOdds(nowDays);
    if (stoppedProbability(logOdds) >= bar) {
      this.store.timers.cancel(slot, this.churnTimer);
      this.emitVisitChurn(slot, customerId, now, v, preparedEvidence(), pAlive);
      return;
    }
    // A check already armed before the crossing stays: it re-arms when it fires. Re-arming at
    // every session would leave a stale heap entry per session and search for a crossing
    // each time; this costs one evaluation and keeps about one entry per customer.
    const armed = this.store.timers.dueTime(slot, this.churnTimer);
    if (armed > now && preparedPStopped(armed / DAY_MS) < bar) return;
    let when = provisional
      ? preparedTimeBeforeCrossing(bar, nowDays, logOdds, CHURN_HORIZON_DAYS, CHURN_RESOLUTION_DAYS)
      : NaN;
    if (Number.isNaN(when))
      when = preparedTimeWhenStoppedReachesFrom(bar, nowDays, logOdds, CHURN_HORIZON_DAYS, CHURN_RESOLUTION_DAYS);
    // Whole milliseconds, and always later than now: the due time becomes an alert's event time.
    if (Number.isFinite(when))
      this.store.timers.arm(slot, this.churnTimer, Math.max(Math.ceil(when * DAY_MS), now + 1));
    else this.store.timers.cancel(slot, this.churnTimer);
  }

  /** BG/NBD P(alive) as of `now` under the parameters in force; 1 before the first purchase. */
  private pAlive(slot: number, now: number): number {
    const t = this.txScratch;
    if (!this.store.transactionStatsInto(slot, t)) return 1;
    return probabilityAlive(
      this.bgnbd,
      repeatStatsInto(t, Math.max(now, t.last), this.cfg.timeUnit, this.repeatScratch),
    );
  }

  /** Population priors for the visit model; undefined until some customer came back once. */
  private visitPrior(): VisitChurnPrior | undefined {
    const gap = this.populationSessionGap;
    if (gap.count === 0 || this.populationSessions === 0) return undefined;
    // The configured parts were set once in the constructor; the population's change with every session.
    const prior = this.priorScratch;
    prior.meanGapDays = Math.max(gap.meanMs, 60_000) / DAY_MS;
    prior.intentShare = Math.min(0.99, Math.max(0.01, this.populationIntentSessions / this.populationSessions));
    return prior;
  }

  /** The customer's visit statistics in days; undefined before their first session with intent. */
  private visitStats(slot: number): VisitStats | undefined {
    const lastIntent = this.f64(slot, this.F.lastIntent);
    if (Number.isNaN(lastIntent)) return undefined;
    const v = this.visitScratch;
    v.firstSession = this.f64(slot, this.F.firstSession) / DAY_MS;
    v.lastIntent = lastIntent / DAY_MS;
    v.lastSession = this.f64(slot, this.F.lastSession) / DAY_MS;
    v.firstCartless = this.f64(slot, this.F.firstCartless) / DAY_MS;
    v.sessionsToIntent = this.u32(slot, this.U.sessionsToIntent);
    v.intentSessions = this.u32(slot, this.U.intentSessions);
    v.cartless = this.u32(slot, this.U.cartless);
    return v;
  }

  /**
   * The warning names the evidence that decided it (`data.rule`) and says in `reasons` each
   * piece that holds: the visit posterior (always), BG/NBD P(alive) against its floor, and the
   * purchase gap against the customer's usual one (or the population's, for few purchases).
   */
  private emitVisitChurn(
    slot: number,
    customerId: string,
    now: number,
    v: VisitStats,
    e: VisitChurnEvidence,
    pAlive: number,
  ): void {
    const c = this.cfg.churn;
    const nowDays = now / DAY_MS;
    const gone = e.logOddsGone >= e.logOddsLapsed;
    const visitRule = gone ? 'stopped_visiting' : 'browsing_not_buying';
    const rule: ChurnRule = e.pStopped >= c.warnAt ? visitRule : 'bgnbd_p_alive';
    const below = pAlive < c.pAliveFloor;
    const reasons = [
      `P(stopped buying) ${e.pStopped.toFixed(2)} from visits (warns at ${c.warnAt}${below ? `, at ${c.corroborateAt} with P(alive) below ${c.pAliveFloor}` : ''})`,
      `BG/NBD P(alive) ${pAlive.toFixed(2)} from purchases${below ? `, fell below ${c.pAliveFloor}` : ''}`,
    ];
    if (gone) {
      reasons.push(
        `visits dropped: none for ${days((nowDays - v.lastSession) * DAY_MS)} days against one about every ${e.meanGapDays.toFixed(1)} days while buying (own baseline)`,
      );
    } else {
      reasons.push(
        `${v.cartless} visit(s) without a cart in the ${days((nowDays - v.lastIntent) * DAY_MS)} days since the last cart, against carts in ${pct(e.intentShare)} of visits while buying (own baseline)`,
      );
    }
    const overdue = this.overdueReason(slot, now);
    if (overdue !== undefined) reasons.push(overdue);
    this.emitChurn(slot, customerId, now, pAlive, e.pStopped, rule, reasons);
  }

  /** "N days since the last purchase, beyond the usual gap" when it is; undefined otherwise. */
  private overdueReason(slot: number, now: number): string | undefined {
    const last = this.store.lastPurchase(slot);
    const usual = usualGap(this.store.gapStats(slot), this.populationPurchaseGap, this.cfg.churn);
    if (usual === undefined || !(now - last > usual.ms)) return undefined;
    const whose =
      usual.basis === 'own'
        ? 'their usual gap'
        : `the population's usual gap (they have fewer than ${this.cfg.churn.minOwnGaps} gaps of their own)`;
    return `${days(now - last)} days since the last purchase, beyond ${whose} of ${days(usual.ms)} days`;
  }

  private onUnhappy(slot: number, e: Extract<CanonicalEvent, { type: 'feedback' }>): void {
    if (this.u8(slot, this.B.tier) !== 1) return;
    const pAlive = this.pAlive(slot, e.ts);
    const what = e.complaint === true ? 'complained' : `rated ${e.rating}/5`;
    this.emitChurn(slot, e.customerId, e.ts, pAlive, Math.max(1 - pAlive, UNHAPPY_SCORE), 'unhappy_top_customer', [
      `a top-tier customer ${what}`,
    ]);
  }

  private emitChurn(
    slot: number,
    customerId: string,
    ts: number,
    pAlive: number,
    score: number,
    rule: ChurnRule,
    reasons: string[],
  ): void {
    const clv = this.f64(slot, this.F.clv);
    const t = this.store.transactionStats(slot); // rare (an alert): a fresh object, not the scratch
    const expected =
      t === null
        ? 0
        : expectedPurchases(this.bgnbd, repeatStats(t, Math.max(ts, t.last), this.cfg.timeUnit), this.horizon);
    this.parts.alerts.emit(slot, {
      type: 'churn.risk',
      customerId,
      ts,
      severity: this.u8(slot, this.B.tier) === 1 ? 'critical' : 'warning',
      score,
      reasons,
      segment: this.segmentLabel(slot),
      data: {
        pAlive,
        expectedPurchases: expected,
        horizonMs: this.cfg.value.horizonMs,
        clv: Number.isNaN(clv) ? 0 : clv,
        lastPurchaseTs: t?.last ?? null,
        rule,
      },
    });
  }

  // ---- carts ----------------------------------------------------------------------------

  private onSessionClosed(customerId: string, signalSlot: number, start: number, end: number): void {
    const slot = this.store.slotHolding(customerId, signalSlot);
    if (slot === undefined) return;
    if (this.store.cartQuantity(slot) > 0 && this.f64(slot, this.F.lastCartTs) >= start) {
      this.store.timers.arm(slot, this.cartTimer, end + this.cfg.cart.abandonAfterMs);
    }
    try {
      this.observeSession(slot, customerId, start, end); // a failure is counted, as in `onApplied`
    } catch {
      this.modelErrors++;
    }
  }

  /** No purchase since the session with the cart ended: the cart was abandoned. */
  private onCartCheck(slot: number, customerId: string, due: number): void {
    const sessionEnd = due - this.cfg.cart.abandonAfterMs;
    if (this.store.cartQuantity(slot) === 0 || this.store.lastPurchase(slot) > sessionEnd) return;
    const n = this.store.recentInto(slot, this.recent, this.recentActions);
    const cart: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.recent[i]!;
      // Only a product's latest action counts: an earlier cart of one removed or bought since does not.
      if (this.recentActions[i] === RecentAction.carted && !this.recentHas(p, i)) cart.push(p);
    }
    if (cart.length === 0) return;
    // Recommend from what was left in the cart: the strongest signal of what they wanted.
    const recs = this.parts.recommender.recommend(cart, cart, this.cfg.recommendations.count, due);
    this.parts.alerts.emit(slot, {
      type: 'cart.abandoned',
      customerId,
      ts: due,
      severity: 'warning',
      score: Math.min(1, 0.5 + 0.05 * cart.length),
      reasons: [
        `${cart.length} product(s) left in the cart; no purchase ${Math.round(this.cfg.cart.abandonAfterMs / 60_000)} min after the session ended`,
      ],
      segment: this.segmentLabel(slot),
      data: {
        items: cart.map((p) => ({ productId: this.store.products.name(p) })),
        quantity: this.store.cartQuantity(slot),
        sessionEnd,
        recommendations: recs.map((r) => this.store.products.name(r.item)),
      },
    });
  }

  /** Whether `product` is among the first `n` of `this.recent` (a loop: a subarray per item would allocate). */
  private recentHas(product: number, n: number): boolean {
    for (let j = 0; j < n; j++) if (this.recent[j] === product) return true;
    return false;
  }

  // ---- refits ---------------------------------------------------------------------------

  /** Whether a refit is under way (its parameters not yet in force). */
  get refitPending(): boolean {
    return this.refitJob !== undefined;
  }

  /** The phase of the refit under way, null between refits. */
  get refitPhase(): RefitPhase | null {
    return this.refitJob?.currentPhase ?? null;
  }

  /**
   * Starts a refit of BG/NBD and Gamma-Gamma on an even sample of the buyers in state, as of
   * the watermark (see `RefitJob`). The sample walks the slots in order and the job advances
   * by events, so a replay refits on the same customers and applies the fit at the same event.
   */
  private startRefit(watermark: number): void {
    this.nextRefitAt = watermark + this.cfg.refit.everyMs;
    // Nothing much changed since the last fit (a quiet period, the tail of a replay): keep it.
    if (this.refits > 0 && this.purchasesSinceRefit < REFIT_MIN_CHANGE * this.parts.rfm.size) return;
    this.purchasesSinceRefit = 0;
    const { sampleSize, minBuyers } = this.cfg.refit;
    this.refitJob = new RefitJob(this.store, this.refitHost, {
      asOf: watermark,
      buyers: this.parts.rfm.size,
      sampleSize,
      minBuyers,
      timeUnit: this.cfg.timeUnit,
      bgnbd: this.bgnbd,
      gammaGamma: this.gammaGamma,
    });
    this.advanceRefit(watermark);
  }

  /** One event's share of the refit under way; a refit that fails is dropped and counted. */
  private advanceRefit(watermark: number): void {
    const job = this.refitJob!;
    try {
      this.refitWork += job.step(REFIT_WORK_PER_EVENT, watermark);
      if (job.done) this.refitJob = undefined;
    } catch {
      this.modelErrors++;
      this.refitJob = undefined;
    }
  }

  private applyRefit(result: RefitResult): boolean {
    if (result.bgnbd !== undefined) this.bgnbd = result.bgnbd;
    if (result.bgnbdRejected) this.refitsRejected++;
    if (result.gammaGamma !== undefined) this.gammaGamma = result.gammaGamma;
    this.refits++;
    // Crossings under unchanged BG/NBD parameters are where the timers already are.
    return result.bgnbd !== undefined;
  }

  /**
   * P(alive) crossings computed under the old parameters may lie far from the new ones: each
   * pending timer the new parameters bring earlier moves there (to now, when they put the
   * customer below the floor already); one pushed later re-arms when it fires. A timer that
   * fired stays fired: the bar stays lowered while P(alive) is below the floor, read at each check.
   */
  private rearmAliveCrossing(slot: number, watermark: number): boolean {
    if (!(this.store.timers.dueTime(slot, this.aliveTimer) > watermark)) return false;
    const t = this.txScratch;
    if (!this.store.transactionStatsInto(slot, t)) return false;
    const now = Math.max(watermark, t.last);
    this.armAliveCrossing(slot, now, t, repeatStatsInto(t, now, this.cfg.timeUnit, this.repeatScratch));
    return true;
  }

  // ---- views ----------------------------------------------------------------------------

  insight(customerId: string, asOf: number): CustomerInsight | undefined {
    const slot = this.store.slotOf(customerId);
    if (slot === undefined) return undefined;
    const t = this.store.transactionStats(slot);
    const rfmValues = this.rfmValues(slot);
    const rfm = rfmValues ? this.parts.rfm.scores(rfmValues) : null;
    if (t === null) return { bgnbd: null, pAlive: null, expectedPurchases: null, clv: null, topTier: false, rfm };
    const stats = repeatStats(t, Math.max(asOf, t.last), this.cfg.timeUnit);
    const value = customerLifetimeValue(this.bgnbd, this.gammaGamma, stats, meanRepeatSpend(t), this.clvOptions);
    return {
      bgnbd: { ...stats, unit: this.cfg.timeUnit },
      pAlive: probabilityAlive(this.bgnbd, stats),
      expectedPurchases: value.expectedPurchases,
      clv: value.clv,
      topTier: this.u8(slot, this.B.tier) === 1,
      rfm,
    };
  }

  /**
   * The churn evidence as of `asOf` (event time, at or after the customer's last session),
   * for evaluation: P(stopped buying) from the visits, BG/NBD P(alive) and P(no purchase
   * over `value.horizonMs`) under the parameters in force, the bar a warning needs, and the
   * churn score: the visit posterior, or on a purchase-only feed (see `churnScoreBasis`) the
   * purchases' P(no purchase). Undefined for a non-buyer or before the visit prior exists.
   */
  churnEvidence(customerId: string, asOf: number): ChurnEvidence | undefined {
    const slot = this.store.slotOf(customerId);
    if (slot === undefined || !this.store.hasTransactions(slot)) return undefined;
    const prior = this.visitPrior();
    const v = this.visitStats(slot);
    const t = this.store.transactionStats(slot);
    if (prior === undefined || v === undefined || t === null) return undefined;
    const c = this.cfg.churn;
    const stats = repeatStats(t, Math.max(asOf, t.last), this.cfg.timeUnit);
    const pAlive = probabilityAlive(this.bgnbd, stats);
    const pSilent = probabilityNoPurchase(this.bgnbd, stats, this.horizon);
    const pStopped = visitChurn(v, prior, Math.max(asOf, this.f64(slot, this.F.lastSession)) / DAY_MS).pStopped;
    const pNoReturn = this.parts.returns.pNoReturn(this.rfmValues(slot)!, asOf);
    const basis = churnScoreBasis(this.intentShare());
    const bar = pAlive < c.pAliveFloor ? Math.min(c.warnAt, c.corroborateAt) : c.warnAt;
    return { pStopped, pAlive, pSilent, pNoReturn, bar, basis, score: basis === 'visits' ? pStopped : pNoReturn };
  }

  /** The population's share of sessions with intent so far (NaN before any session). */
  intentShare(): number {
    return this.populationIntentSessions / this.populationSessions;
  }

  /** The RFM segment assigned to the customer (what alerts carry), or null before one is. */
  segmentOf(customerId: string): string | null {
    const slot = this.store.slotOf(customerId);
    return slot === undefined ? null : this.segmentLabel(slot);
  }

  /** Customers in state per assigned RFM segment: a scan of one byte per slot, for the once-a-second kpi. */
  segmentCounts(): Record<string, number> {
    const counts = new Uint32Array(256);
    for (let slot = 0, n = this.store.slotsInUse; slot < n; slot++) {
      const index = this.u8(slot, this.B.segment);
      if (index !== 0 && this.store.customerAt(slot) !== undefined) counts[index]!++;
    }
    const out: Record<string, number> = {};
    for (let index = 1; index < counts.length; index++)
      if (counts[index]! > 0) out[this.parts.rfm.segmentName(index - 1)] = counts[index]!;
    return out;
  }

  /** Up to `k` products for the customer from their recent items (those left out), as of event time `asOf`. */
  recommendFor(customerId: string, k: number, asOf: number): { productId: string; score: number }[] {
    const slot = this.store.slotOf(customerId);
    if (slot === undefined) return [];
    const n = this.store.recentInto(slot, this.recent, this.recentActions);
    const recent = Array.from(this.recent.subarray(0, n)).reverse(); // the recommender wants the most recent last
    return this.parts.recommender
      .recommend(recent, recent, k, Number.isFinite(asOf) ? asOf : undefined)
      .map((r) => ({ productId: this.store.products.name(r.item), score: r.score }));
  }

  /** Products viewed together with `productId`, best first; undefined for a product never seen. */
  similarItems(productId: string, k: number, asOf: number): { productId: string; score: number }[] | undefined {
    const item = this.store.products.lookup(productId);
    if (item === undefined) return undefined;
    return this.parts.recommender
      .similar(item, k, Number.isFinite(asOf) ? asOf : undefined)
      .map((r) => ({ productId: this.store.products.name(r.item), score: r.score }));
  }

  // ---- snapshots ------------------------------------------------------------------------

  /** Everything the analytics remember, for EngineState's snapshot; `slots` as the store's. */
  snapshot(slots: number, copy: CopyBytes = freshCopy): CustomerAnalyticsSnapshot {
    return {
      layout: this.records.layout.signature(),
      records: this.records.snapshot(slots, copy),
      bgnbd: { ...this.bgnbd },
      gammaGamma: { ...this.gammaGamma },
      nextRefitAt: this.nextRefitAt,
      refits: this.refits,
      refitsRejected: this.refitsRejected,
      refitJob: this.refitJob?.snapshot() ?? null,
      refitWork: this.refitWork,
      purchasesSinceRefit: this.purchasesSinceRefit,
      modelErrors: this.modelErrors,
      populationSessionGap: this.populationSessionGap.snapshot(),
      populationSessions: this.populationSessions,
      populationIntentSessions: this.populationIntentSessions,
      populationPurchaseGap: { ...this.populationPurchaseGap },
      rfm: this.parts.rfm.snapshot(),
      returns: this.parts.returns.snapshot(),
      clv: this.parts.clvQuantile.snapshot(),
      recommender: this.parts.recommender.snapshot(),
    };
  }

  restore(s: CustomerAnalyticsSnapshot): void {
    if (s.layout !== this.records.layout.signature()) throw new Error('analytics snapshot has another record layout');
    this.records.restore(
      s.records,
      Math.max(this.store.capacity, s.records.byteLength / this.records.layout.bytesPerRecord),
    );
    this.bgnbd = { ...s.bgnbd };
    this.gammaGamma = { ...s.gammaGamma };
    this.nextRefitAt = s.nextRefitAt;
    this.refits = s.refits;
    this.refitsRejected = s.refitsRejected;
    this.refitJob = s.refitJob === null ? undefined : RefitJob.restore(this.store, this.refitHost, s.refitJob);
    this.refitWork = s.refitWork;
    this.purchasesSinceRefit = s.purchasesSinceRefit;
    this.modelErrors = s.modelErrors;
    this.populationSessionGap.restore(s.populationSessionGap);
    this.populationSessions = s.populationSessions;
    this.populationIntentSessions = s.populationIntentSessions;
    this.populationPurchaseGap = { ...s.populationPurchaseGap };
    this.parts.rfm.restore(s.rfm);
    this.parts.returns.restore(s.returns);
    this.parts.clvQuantile.restore(s.clv);
    this.parts.recommender.restore(s.recommender);
  }

  // ---- per-slot fields ------------------------------------------------------------------

  private segmentLabel(slot: number): string | null {
    const index = this.u8(slot, this.B.segment);
    return index === 0 ? null : this.parts.rfm.segmentName(index - 1);
  }

  private f64(slot: number, offset: number): number {
    return this.records.f64[slot * this.s64 + offset]!;
  }
  private setF64(slot: number, offset: number, v: number): void {
    this.records.f64[slot * this.s64 + offset] = v;
  }
  private u32(slot: number, offset: number): number {
    return this.records.u32[slot * this.s32 + offset]!;
  }
  private setU32(slot: number, offset: number, v: number): void {
    this.records.u32[slot * this.s32 + offset] = v;
  }
  private u8(slot: number, offset: number): number {
    return this.records.u8[slot * this.s8 + offset]!;
  }
  private setU8(slot: number, offset: number, v: number): void {
    this.records.u8[slot * this.s8 + offset] = v;
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

/**
 * `stopped_visiting` and `browsing_not_buying`: the visit posterior reached `warnAt` on its
 * own (named by its stronger term); `bgnbd_p_alive`: it reached only `corroborateAt`, and
 * P(alive) below the floor made up the rest.
 */
type ChurnRule = 'stopped_visiting' | 'browsing_not_buying' | 'bgnbd_p_alive' | 'unhappy_top_customer';
/** The unhappy rule's score is not a probability: past the default hysteresis `enter` (0.7). */
const UNHAPPY_SCORE = 0.8;

/** Per-slot fields kept here, beside the store's record. */
const F64_FIELDS = [
  'clv',
  'lastCartTs',
  'rfmLast',
  'rfmMonetary',
  'firstSession',
  'lastSession',
  'lastIntent',
  'firstCartless',
] as const;
const U32_FIELDS = ['rfmTransactions', 'sessions', 'sessionsToIntent', 'intentSessions', 'cartless'] as const;
const U8_FIELDS = ['tier', 'segment'] as const;
type F64Field = (typeof F64_FIELDS)[number];
type U32Field = (typeof U32_FIELDS)[number];
type U8Field = (typeof U8_FIELDS)[number];

function offsets<N extends string>(layout: RecordLayout, names: readonly N[]): Record<N, number> {
  return Object.fromEntries(names.map((n) => [n, layout.offset(n)])) as Record<N, number>;
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function days(ms: number): number {
  return Math.round(ms / 86_400_000);
}
