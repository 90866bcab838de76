import type { AlertEmitter } from '../alerts/alert-emitter.js';
import type { Batch } from '../operators/batch.js';
import type { KeyedProcess } from '../operators/keyed-state.js';
import type { CanonicalEvent } from '../schema/event.js';
import { RecentAction, type CustomerStore, type SlotListener, type TransactionStats } from '../state/customer-store.js';
import type { StateSignal } from '../state/signals.js';
import { RecordLayout, SlotRecords } from '../state/slot-records.js';
import type { QuantileSketch, QuantileSketchSnapshot } from './quantile-sketch.js';
import type { ItemNeighbours, ItemNeighboursSnapshot } from './recs/item-neighbours.js';
import type { RfmPopulation, RfmScores, RfmSnapshot, RfmValues } from './rfm.js';
import { expectedPurchases, fitBgNbd, probabilityAlive, timeWhenAliveFallsTo, type BgNbdParams, type RepeatStats } from './bgnbd.js';
import { activityDropped, overdueAfterMs, RunningGap } from './churn-rules.js';
import { customerLifetimeValue } from './clv.js';
import type { AnalyticsConfig } from './config.js';
import { fitGammaGamma, type GammaGammaParams } from './gamma-gamma.js';
import { repeatStats, spendStats, TIME_UNITS } from './repeat-stats.js';

const YEAR_MS = 365 * 86_400_000;
/** Each step costs a ₂F₁; see clv.ts for why two are enough. */
const CLV_STEPS = 2;
/** Quintiles of a handful of buyers are noise: segments are assigned from this many on. */
const MIN_RFM_POPULATION = 50;
/**
 * A live refit starts from the parameters in force, so a small simplex and loose tolerances
 * (1e-5 in log-parameters is far finer than what alerts can tell apart) find the moved
 * optimum in a fraction of a full fit's iterations; `vigil fit` keeps the strict defaults.
 */
const LIVE_REFIT = { initialStep: 0.1, pointTolerance: 1e-5, valueTolerance: 1e-10, restarts: 1, maxIterations: 500 } as const;
/** A refit is skipped unless purchases since the last one reach this share of the buyers. */
const REFIT_MIN_CHANGE = 0.05;
export const CHURN_TIMER = 'churn_check';
export const CART_TIMER = 'cart_abandon';
export const ACTIVITY_TIMER = 'activity_check';

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
}

/**
 * The per-customer models, run inside the keyed-state stage (a `KeyedProcess`): churn
 * (rules and BG/NBD), value (Gamma-Gamma CLV and the top tier), RFM segments, cart
 * abandonment and cross-sell. Everything is computed from the customer's record and a few
 * numbers kept here per slot; nothing rescans history. Time is event time throughout, so a
 * replay reaches the same conclusions at the same points.
 */
export class CustomerAnalytics implements KeyedProcess, SlotListener {
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams;
  private readonly unitMs: number;
  private readonly horizon: number;
  private readonly discountPerUnit: number;
  private readonly records: SlotRecords;
  private readonly o: Record<'clv' | 'lastPurchaseSeen' | 'lastCartTs' | 'rfmLast' | 'rfmMonetary' | 'rfmTransactions' | 'tier' | 'segment', number>;
  private readonly populationGap = new RunningGap();
  private readonly churnTimer: number;
  private readonly cartTimer: number;
  private readonly activityTimer: number;
  private readonly recentWindow: number;
  private readonly baselineWindow: number;
  private nextRefitAt = NaN;
  refits = 0;
  private purchasesSinceRefit = 0;
  /** Model evaluations that failed (a numeric corner the models could not handle); the event still counts as applied. */
  modelErrors = 0;
  private readonly recent = new Uint32Array(32);
  private readonly recentActions = new Uint8Array(32);
  private readonly sessionBefore = new Uint32Array(32);

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
    const layout = new RecordLayout()
      .add('clv', 'f64', 1, NaN)
      .add('lastPurchaseSeen', 'f64', 1, NaN)
      .add('lastCartTs', 'f64', 1, NaN)
      .add('rfmLast', 'f64', 1, NaN)
      .add('rfmMonetary', 'f64')
      .add('rfmTransactions', 'u32')
      .add('tier', 'u8')
      .add('segment', 'u8')
      .seal();
    this.records = new SlotRecords(layout, store.capacity);
    this.o = {
      clv: layout.offset('clv'),
      lastPurchaseSeen: layout.offset('lastPurchaseSeen'),
      lastCartTs: layout.offset('lastCartTs'),
      rfmLast: layout.offset('rfmLast'),
      rfmMonetary: layout.offset('rfmMonetary'),
      rfmTransactions: layout.offset('rfmTransactions'),
      tier: layout.offset('tier'),
      segment: layout.offset('segment'),
    };
    this.churnTimer = store.defineSignalTimer(CHURN_TIMER);
    this.cartTimer = store.defineSignalTimer(CART_TIMER);
    this.activityTimer = store.defineSignalTimer(ACTIVITY_TIMER);
    this.recentWindow = store.windows.ringIndex(cfg.churn.recentWindow);
    this.baselineWindow = store.windows.ringIndex(cfg.churn.baselineWindow);
    store.addSlotListener(this);
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
    const s = slot * this.records.layout.stride('f64');
    const clv = f64[s + this.o.clv]!;
    if (!Number.isNaN(clv)) this.parts.clvQuantile.remove(clv);
    this.parts.rfm.update(this.rfmValues(slot), undefined);
  }

  // ---- the keyed process ----------------------------------------------------------------

  begin(batch: Batch): void {
    this.parts.alerts.begin(batch);
  }

  onApplied(slot: number, e: CanonicalEvent, watermark: number): void {
    switch (e.type) {
      case 'purchase':
        this.guarded(() => this.onPurchase(slot, e, watermark));
        break;
      case 'product_view':
        this.observeView(slot, e.productId, e.ts);
        break;
      case 'add_to_cart':
        this.setF64(slot, 'lastCartTs', Math.max(e.ts, this.f64(slot, 'lastCartTs') || 0));
        break;
      case 'feedback':
        if (e.complaint === true || (e.rating !== undefined && e.rating <= this.cfg.churn.lowRating)) this.guarded(() => this.onUnhappy(slot, e));
        break;
      default:
        break;
    }
    if (watermark >= this.nextRefitAt) this.guarded(() => this.refit(watermark));
    else if (Number.isNaN(this.nextRefitAt) && this.cfg.refit.everyMs > 0 && Number.isFinite(watermark)) this.nextRefitAt = watermark + this.cfg.refit.everyMs;
  }

  onSignals(signals: readonly StateSignal[], from: number, _watermark: number): void {
    for (let i = from; i < signals.length; i++) {
      const s = signals[i]!;
      if (s.kind === 'session_closed') this.onSessionClosed(s.customerId, s.start, s.end);
      else if (s.kind === 'timer') {
        const slot = this.store.slotOf(s.customerId);
        if (slot === undefined) continue;
        if (s.timer === CHURN_TIMER) this.guarded(() => this.onChurnCheck(slot, s.customerId, s.due));
        else if (s.timer === CART_TIMER) this.onCartCheck(slot, s.customerId, s.due);
        else if (s.timer === ACTIVITY_TIMER) this.guarded(() => this.onActivityCheck(slot, s.customerId, s.due));
      }
    }
  }

  /**
   * Co-views are learned within a session: the products this session touched before this
   * view, from the customer's recent-items ring (at most one entry per event of the session).
   */
  private observeView(slot: number, productId: string, ts: number): void {
    const product = this.store.products.lookup(productId) ?? 0;
    const inSession = Math.min(this.store.sessionEvents(slot), this.recent.length + 1) - 1;
    const n = Math.min(this.store.recentInto(slot, this.recent, this.recentActions), inSession + 1);
    // recent[0] is this view itself; the rest, most recent first, is reversed into `before`.
    const before = this.sessionBefore;
    let m = 0;
    for (let i = n - 1; i >= 1; i--) before[m++] = this.recent[i]!;
    this.parts.recommender.observeView(before, product, ts, m);
  }

  /**
   * A model that fails on one customer's numbers must not stop the stream: the event stays
   * applied to keyed state, the conclusion is skipped and counted.
   */
  private guarded(run: () => void): void {
    try {
      run();
    } catch {
      this.modelErrors++;
    }
  }

  // ---- purchases: value, RFM, churn schedule, cross-sell --------------------------------

  private onPurchase(slot: number, e: Extract<CanonicalEvent, { type: 'purchase' }>, watermark: number): void {
    const t = this.store.transactionStats(slot)!;
    this.purchasesSinceRefit++;
    const previous = this.f64(slot, 'lastPurchaseSeen');
    if (!Number.isNaN(previous) && e.ts > previous) this.populationGap.add(e.ts - previous);
    if (!(e.ts <= previous)) this.setF64(slot, 'lastPurchaseSeen', e.ts);
    const customerId = e.customerId;
    const now = Math.max(e.ts, t.last);
    this.parts.alerts.rearm(slot, 'churn.risk');
    this.updateRfm(slot, customerId, now, t);
    const stats = repeatStats(t, now, this.cfg.timeUnit);
    this.updateValue(slot, customerId, now, t, stats);
    this.scheduleChurnCheck(slot, now, t, stats);
    this.crossSell(slot, e, watermark);
  }

  private updateValue(slot: number, customerId: string, now: number, t: TransactionStats, stats: RepeatStats): void {
    const { clv } = customerLifetimeValue(this.bgnbd, this.gammaGamma, stats, spendStats(t).meanSpend, {
      horizon: this.horizon,
      discountPerUnit: this.discountPerUnit,
      steps: CLV_STEPS,
    });
    const q = this.parts.clvQuantile;
    const old = this.f64(slot, 'clv');
    if (!Number.isNaN(old)) q.remove(old);
    q.insert(clv);
    this.setF64(slot, 'clv', clv);
    const threshold = q.quantile(1 - this.cfg.value.topTierShare);
    const top = q.count >= 20 && clv >= threshold ? 1 : 0;
    const was = this.u8(slot, 'tier');
    if (top !== was) {
      this.setU8(slot, 'tier', top);
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

  private rfmValues(slot: number): RfmValues | undefined {
    const last = this.f64(slot, 'rfmLast');
    if (Number.isNaN(last)) return undefined;
    return { lastPurchase: last, transactions: this.u32(slot, 'rfmTransactions'), monetary: this.f64(slot, 'rfmMonetary') };
  }

  private updateRfm(slot: number, customerId: string, now: number, t: TransactionStats): void {
    const rfm = this.parts.rfm;
    const next = { lastPurchase: t.last, transactions: t.repeat + 1, monetary: t.firstValue + t.repeatValue };
    rfm.update(this.rfmValues(slot), next);
    this.setF64(slot, 'rfmLast', next.lastPurchase);
    this.setU32(slot, 'rfmTransactions', next.transactions);
    this.setF64(slot, 'rfmMonetary', next.monetary);
    this.rescoreSegment(slot, customerId, now);
  }

  /**
   * Scores the customer against the population as it is now. Called at their purchases and
   * at their churn and activity checks: a customer slides from champion to at risk while
   * *others* buy, so waiting for their own next purchase would miss exactly that.
   */
  private rescoreSegment(slot: number, customerId: string, now: number): void {
    const rfm = this.parts.rfm;
    const values = this.rfmValues(slot);
    if (values === undefined || rfm.size < MIN_RFM_POPULATION) return;
    const scores = rfm.scores(values);
    const before = this.u8(slot, 'segment');
    const index = rfm.segmentIndex(scores.segment) + 1;
    if (before === index) return;
    this.setU8(slot, 'segment', index);
    if (before === 0) return;
    const from = rfm.segmentName(before - 1);
    if (!rfm.transitionMatters(from, scores.segment)) return;
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

  /**
   * Arms the churn check at the first moment one of the rules can hold if nothing else
   * happens: P(alive) crossing the threshold, or the customer being overdue while P(alive)
   * is below the corroborating level (an overdue gap alone is common among healthy buyers
   * with irregular habits).
   */
  private scheduleChurnCheck(slot: number, now: number, t: TransactionStats, stats: RepeatStats): void {
    const c = this.cfg.churn;
    const crossing = t.first + timeWhenAliveFallsTo(this.bgnbd, stats, c.pAliveThreshold) * this.unitMs;
    const corroborated = t.first + timeWhenAliveFallsTo(this.bgnbd, stats, c.corroboratingPAlive) * this.unitMs;
    const overdue = t.last + overdueAfterMs(this.store.gapStats(slot), this.populationGap, c);
    // Whole milliseconds: the due time becomes an alert's event time.
    const due = Math.ceil(Math.max(now, Math.min(crossing, Math.max(overdue, corroborated))));
    if (Number.isFinite(due)) this.store.timers.arm(slot, this.churnTimer, due);
    else this.store.timers.cancel(slot, this.churnTimer);
  }

  private crossSell(slot: number, e: Extract<CanonicalEvent, { type: 'purchase' }>, _watermark: number): void {
    const recommender = this.parts.recommender;
    const bought: number[] = [];
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

  /** The churn timer fired: re-evaluate with the parameters now in force, warn or re-arm. */
  /**
   * The churn timer fired at `due`: evaluate as of then with the parameters now in force;
   * warn, or re-arm when a refit moved the crossing later.
   */
  private onChurnCheck(slot: number, customerId: string, due: number): void {
    const t = this.store.transactionStats(slot);
    if (t === null) return;
    this.rescoreSegment(slot, customerId, due);
    const pAlive = probabilityAlive(this.bgnbd, repeatStats(t, due, this.cfg.timeUnit));
    const overdueAfter = overdueAfterMs(this.store.gapStats(slot), this.populationGap, this.cfg.churn);
    const reasons: string[] = [];
    let rule: ChurnRule | undefined;
    let score = 1 - pAlive;
    if (pAlive < this.cfg.churn.pAliveThreshold) {
      rule = 'bgnbd_p_alive';
      reasons.push(`P(alive) ${pAlive.toFixed(2)} is below ${this.cfg.churn.pAliveThreshold}`);
    }
    if (due - t.last >= overdueAfter && pAlive < this.cfg.churn.corroboratingPAlive) {
      rule ??= 'purchase_gap_overdue';
      score = Math.max(score, Math.min(1, 0.5 + (0.25 * (due - t.last)) / overdueAfter));
      reasons.push(`${days(due - t.last)} days since the last purchase; usually buys within ${days(overdueAfter)}`);
    }
    if (rule === undefined) {
      this.scheduleChurnCheck(slot, due, t, repeatStats(t, due, this.cfg.timeUnit)); // a refit moved the crossing since the timer was armed
      return;
    }
    if (this.dropped(slot, due)) reasons.push('activity dropped well below its usual level');
    this.emitChurn(slot, customerId, due, pAlive, score, rule, reasons);
  }

  private onActivityCheck(slot: number, customerId: string, due: number): void {
    this.rescoreSegment(slot, customerId, due);
    const t = this.store.transactionStats(slot);
    if (t === null || !this.dropped(slot, due)) return;
    const pAlive = probabilityAlive(this.bgnbd, repeatStats(t, due, this.cfg.timeUnit));
    if (pAlive >= this.cfg.churn.corroboratingPAlive) return;
    const reason = `activity in the last ${this.cfg.churn.recentWindow} fell below ${pct(this.cfg.churn.activityDropRatio)} of the ${this.cfg.churn.baselineWindow} rate`;
    this.emitChurn(slot, customerId, due, pAlive, Math.max(1 - pAlive, ACTIVITY_DROP_SCORE), 'activity_drop', [reason]);
  }

  private onUnhappy(slot: number, e: Extract<CanonicalEvent, { type: 'feedback' }>): void {
    if (this.u8(slot, 'tier') !== 1) return;
    const t = this.store.transactionStats(slot);
    const pAlive = t === null ? 1 : probabilityAlive(this.bgnbd, repeatStats(t, Math.max(e.ts, t.last), this.cfg.timeUnit));
    const what = e.complaint === true ? 'complained' : `rated ${e.rating}/5`;
    this.emitChurn(slot, e.customerId, e.ts, pAlive, Math.max(1 - pAlive, UNHAPPY_SCORE), 'unhappy_top_customer', [`a top-tier customer ${what}`]);
  }

  private dropped(slot: number, now: number): boolean {
    if (this.recentWindow < 0 || this.baselineWindow < 0) return false;
    const w = this.store.windows;
    const spec = (r: number) => w.specs[r]!.horizonMs;
    return activityDropped(
      w.eventCount(slot, this.recentWindow, now),
      spec(this.recentWindow),
      w.eventCount(slot, this.baselineWindow, now),
      spec(this.baselineWindow),
      { ratio: this.cfg.churn.activityDropRatio, minBaselineEvents: this.cfg.churn.minBaselineEvents },
    );
  }

  private emitChurn(slot: number, customerId: string, ts: number, pAlive: number, score: number, rule: ChurnRule, reasons: string[]): void {
    const clv = this.f64(slot, 'clv');
    const t = this.store.transactionStats(slot);
    const expected = t === null ? 0 : expectedPurchases(this.bgnbd, repeatStats(t, Math.max(ts, t.last), this.cfg.timeUnit), this.horizon);
    this.parts.alerts.emit(slot, {
      type: 'churn.risk',
      customerId,
      ts,
      severity: this.u8(slot, 'tier') === 1 ? 'critical' : 'warning',
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

  private onSessionClosed(customerId: string, start: number, end: number): void {
    const slot = this.store.slotOf(customerId);
    if (slot === undefined) return;
    if (this.store.cartQuantity(slot) > 0 && this.f64(slot, 'lastCartTs') >= start) {
      this.store.timers.arm(slot, this.cartTimer, end + this.cfg.cart.abandonAfterMs);
    }
    if (this.store.transactionStats(slot) !== null && this.baselineWindow >= 0) {
      this.store.timers.arm(slot, this.activityTimer, end + this.store.windows.specs[this.recentWindow]!.horizonMs);
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
      if (this.recentActions[i] === RecentAction.carted && this.recent.subarray(0, i).indexOf(p) < 0) cart.push(p);
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
      reasons: [`${cart.length} product(s) left in the cart; no purchase ${Math.round(this.cfg.cart.abandonAfterMs / 60_000)} min after the session ended`],
      segment: this.segmentLabel(slot),
      data: {
        items: cart.map((p) => ({ productId: this.store.products.name(p) })),
        quantity: this.store.cartQuantity(slot),
        sessionEnd,
        recommendations: recs.map((r) => this.store.products.name(r.item)),
      },
    });
  }

  // ---- refits ---------------------------------------------------------------------------

  /**
   * Refits BG/NBD and Gamma-Gamma on an even sample of the buyers in state, as of the
   * watermark. The sample walks the slots in order, so a replay refits on the same customers.
   */
  private refit(watermark: number): void {
    this.nextRefitAt = watermark + this.cfg.refit.everyMs;
    // Nothing much changed since the last fit (a quiet period, the tail of a replay): keep it.
    if (this.refits > 0 && this.purchasesSinceRefit < REFIT_MIN_CHANGE * this.parts.rfm.size) return;
    this.purchasesSinceRefit = 0;
    const buyers = [];
    for (let slot = 0, n = this.store.slotsInUse; slot < n; slot++) {
      if (this.store.customerAt(slot) === undefined) continue;
      const t = this.store.transactionStats(slot);
      if (t !== null) buyers.push(t);
    }
    if (buyers.length < this.cfg.refit.minBuyers) return;
    const step = Math.max(1, buyers.length / this.cfg.refit.sampleSize);
    const sample = [];
    for (let i = 0; i < buyers.length; i += step) sample.push(buyers[Math.floor(i)]!);
    const repeat = sample.map((t) => repeatStats(t, watermark, this.cfg.timeUnit));
    this.bgnbd = fitBgNbd(repeat, { start: this.bgnbd, nelderMead: LIVE_REFIT }).params;
    const spend = sample.map(spendStats).filter((s) => s.x > 0 && s.meanSpend > 0);
    if (spend.length >= 10) this.gammaGamma = fitGammaGamma(spend, { start: this.gammaGamma, nelderMead: LIVE_REFIT }).params;
    this.refits++;
    // Crossing times computed under the old parameters may lie far from the new ones: re-arm
    // every buyer's check (customers already warned stay gated by their hysteresis).
    for (let slot = 0, n = this.store.slotsInUse; slot < n; slot++) {
      if (this.store.customerAt(slot) === undefined) continue;
      const t = this.store.transactionStats(slot);
      if (t === null) continue;
      const now = Math.max(watermark, t.last);
      this.scheduleChurnCheck(slot, now, t, repeatStats(t, now, this.cfg.timeUnit));
    }
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
    const value = customerLifetimeValue(this.bgnbd, this.gammaGamma, stats, spendStats(t).meanSpend, {
      horizon: this.horizon,
      discountPerUnit: this.discountPerUnit,
      steps: CLV_STEPS,
    });
    return {
      bgnbd: { ...stats, unit: this.cfg.timeUnit },
      pAlive: probabilityAlive(this.bgnbd, stats),
      expectedPurchases: value.expectedPurchases,
      clv: value.clv,
      topTier: this.u8(slot, 'tier') === 1,
      rfm,
    };
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
      const index = this.u8(slot, 'segment');
      if (index !== 0 && this.store.customerAt(slot) !== undefined) counts[index]!++;
    }
    const out: Record<string, number> = {};
    for (let index = 1; index < counts.length; index++) if (counts[index]! > 0) out[this.parts.rfm.segmentName(index - 1)] = counts[index]!;
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
  snapshot(slots: number): CustomerAnalyticsSnapshot {
    return {
      layout: this.records.layout.signature(),
      records: this.records.snapshot(slots),
      bgnbd: { ...this.bgnbd },
      gammaGamma: { ...this.gammaGamma },
      nextRefitAt: this.nextRefitAt,
      refits: this.refits,
      purchasesSinceRefit: this.purchasesSinceRefit,
      modelErrors: this.modelErrors,
      populationGap: this.populationGap.snapshot(),
      rfm: this.parts.rfm.snapshot(),
      clv: this.parts.clvQuantile.snapshot(),
      recommender: this.parts.recommender.snapshot(),
    };
  }

  restore(s: CustomerAnalyticsSnapshot): void {
    if (s.layout !== this.records.layout.signature()) throw new Error('analytics snapshot has another record layout');
    this.records.restore(s.records, Math.max(this.store.capacity, s.records.byteLength / this.records.layout.bytesPerRecord));
    this.bgnbd = { ...s.bgnbd };
    this.gammaGamma = { ...s.gammaGamma };
    this.nextRefitAt = s.nextRefitAt;
    this.refits = s.refits;
    this.purchasesSinceRefit = s.purchasesSinceRefit;
    this.modelErrors = s.modelErrors;
    this.populationGap.restore(s.populationGap);
    this.parts.rfm.restore(s.rfm);
    this.parts.clvQuantile.restore(s.clv);
    this.parts.recommender.restore(s.recommender);
  }

  // ---- per-slot fields ------------------------------------------------------------------

  private segmentLabel(slot: number): string | null {
    const index = this.u8(slot, 'segment');
    return index === 0 ? null : this.parts.rfm.segmentName(index - 1);
  }

  private f64(slot: number, name: 'clv' | 'lastPurchaseSeen' | 'lastCartTs' | 'rfmLast' | 'rfmMonetary'): number {
    return this.records.f64[slot * this.records.layout.stride('f64') + this.o[name]]!;
  }
  private setF64(slot: number, name: 'clv' | 'lastPurchaseSeen' | 'lastCartTs' | 'rfmLast' | 'rfmMonetary', v: number): void {
    this.records.f64[slot * this.records.layout.stride('f64') + this.o[name]] = v;
  }
  private u32(slot: number, name: 'rfmTransactions'): number {
    return this.records.u32[slot * this.records.layout.stride('u32') + this.o[name]]!;
  }
  private setU32(slot: number, name: 'rfmTransactions', v: number): void {
    this.records.u32[slot * this.records.layout.stride('u32') + this.o[name]] = v;
  }
  private u8(slot: number, name: 'tier' | 'segment'): number {
    return this.records.u8[slot * this.records.layout.stride('u8') + this.o[name]]!;
  }
  private setU8(slot: number, name: 'tier' | 'segment', v: number): void {
    this.records.u8[slot * this.records.layout.stride('u8') + this.o[name]] = v;
  }
}

export interface CustomerAnalyticsSnapshot {
  layout: string;
  records: Uint8Array;
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams;
  nextRefitAt: number;
  refits: number;
  purchasesSinceRefit: number;
  modelErrors: number;
  populationGap: [number, number, number];
  rfm: RfmSnapshot;
  clv: QuantileSketchSnapshot;
  recommender: ItemNeighboursSnapshot;
}

type ChurnRule = 'bgnbd_p_alive' | 'purchase_gap_overdue' | 'activity_drop' | 'unhappy_top_customer';
/** Scores of the rules that are not a probability: past the default hysteresis `enter` (0.7). */
const ACTIVITY_DROP_SCORE = 0.7;
const UNHAPPY_SCORE = 0.8;

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function days(ms: number): number {
  return Math.round(ms / 86_400_000);
}
