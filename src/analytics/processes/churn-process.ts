import type { CanonicalEvent } from '../../core/event.js';
import type { TransactionStats } from '../../state/customer-store.js';
import {
  expectedPurchases,
  probabilityAlive,
  probabilityNoPurchase,
  timeWhenAliveFallsTo,
  type RepeatStats,
} from '../bgnbd.js';
import { churnScoreBasis, type ChurnEvidence } from '../churn-score.js';
import { usualGap } from '../purchase-gap.js';
import { repeatStats, repeatStatsInto } from '../repeat-stats.js';
import { RunningGap } from '../running-gap.js';
import {
  stoppedProbability,
  VisitChurnEvaluator,
  type VisitChurnEvidence,
  type VisitChurnPrior,
  type VisitStats,
} from '../visit-churn.js';
import type { AnalyticsProcess, GlobalState, ProcessContext } from './analytics-process.js';
import type { FieldSpec } from './customer-fields.js';
import type { GlobalPartial } from './global-share.js';
import { mergeRunningMoments, sumCounts } from './merges.js';
import type { PopulationModels, RefitProcess } from './refit-process.js';
import type { RfmProcess } from './rfm-process.js';
import type { ValueProcess } from './value-process.js';
import { pct } from './value-process.js';

const DAY_MS = 86_400_000;
/** Churn checks look this far ahead (days); a customer quiet for longer is checked again at their next visit. */
const CHURN_HORIZON_DAYS = 3 * 365;
/** Churn crossing times are found to this resolution (days): an hour. */
const CHURN_RESOLUTION_DAYS = 1 / 24;
export const CHURN_TIMER = 'churn_check';
/** Armed at the closed-form age at which BG/NBD P(alive) falls to `churn.pAliveFloor`. */
export const ALIVE_TIMER = 'bgnbd_alive';

/**
 * `stopped_visiting` and `browsing_not_buying`: the visit posterior reached `warnAt` on its
 * own (named by its stronger term); `bgnbd_p_alive`: it reached only `corroborateAt`, and
 * P(alive) below the floor made up the rest.
 */
type ChurnRule = 'stopped_visiting' | 'browsing_not_buying' | 'bgnbd_p_alive' | 'unhappy_top_customer';
/** The unhappy rule's score is not a probability: past the default hysteresis `enter` (0.7). */
const UNHAPPY_SCORE = 0.8;

const FIELD_NAMES = {
  f64: ['firstSession', 'lastSession', 'lastIntent', 'firstCartless'],
  u32: ['sessions', 'sessionsToIntent', 'intentSessions', 'cartless'],
} as const;

/** What churn reads of the other processes. */
export interface ChurnNeeds {
  readonly models: PopulationModels;
  readonly refits: RefitProcess;
  readonly rfm: RfmProcess;
  readonly value: ValueProcess;
  /** When the customer in `slot` last added to their cart (NaN: never). */
  lastCartTs(slot: number): number;
}

/**
 * Churn: the visit posterior (visit-churn.ts), its bar lowered once BG/NBD P(alive) crosses
 * a floor, and the unhappy top customer. Sessions fold into the customer's visit statistics
 * and the population's; a buyer is judged as each session closes, and a timer is armed for
 * when silence alone would tip them over. Only sessions cost work, never events.
 */
export class ChurnProcess implements AnalyticsProcess {
  static readonly FIELDS: readonly FieldSpec[] = [
    { name: 'firstSession', type: 'f64', initial: NaN },
    { name: 'lastSession', type: 'f64', initial: NaN },
    { name: 'lastIntent', type: 'f64', initial: NaN },
    { name: 'firstCartless', type: 'f64', initial: NaN },
    { name: 'sessions', type: 'u32' },
    { name: 'sessionsToIntent', type: 'u32' },
    { name: 'intentSessions', type: 'u32' },
    { name: 'cartless', type: 'u32' },
  ];
  readonly name = 'churn';
  readonly fields = ChurnProcess.FIELDS;
  readonly timers = [CHURN_TIMER, ALIVE_TIMER] as const;
  readonly globals: readonly GlobalState[] = [
    { name: 'populationSessionGap', home: 'mergeable', merge: mergeRunningMoments },
    { name: 'populationSessions', home: 'mergeable', merge: sumCounts },
    { name: 'populationIntentSessions', home: 'mergeable', merge: sumCounts },
  ];
  /** Time between one session's end and the next one's start, over all customers. */
  readonly populationSessionGap = new RunningGap();
  /** Sessions closed and those with intent (a cart or a purchase), over all customers. */
  populationSessions = 0;
  populationIntentSessions = 0;
  /**
   * With customers in partitions: the other partitions' session gaps and counts as of the
   * last sync point, added to this partition's own when read (see `GlobalShare`); null in the
   * single-threaded engine, where the population is this process's alone.
   */
  others: Pick<GlobalPartial, 'sessionGap' | 'sessions' | 'intentSessions'> | null = null;
  /** This process's own evaluator of the visit posterior: its scratch and caches are not shared. */
  private readonly evaluator = new VisitChurnEvaluator();
  private readonly churnTimer: number;
  private readonly aliveTimer: number;
  private readonly F: Record<(typeof FIELD_NAMES.f64)[number], number>;
  private readonly U: Record<(typeof FIELD_NAMES.u32)[number], number>;
  private readonly unitMs: number;
  /**
   * Scratch filled in place on the hot paths (a purchase, a session, a check), so that they
   * allocate none of these. Calls are synchronous and each use reads its scratch before the
   * next fill of it.
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

  constructor(
    private readonly ctx: ProcessContext,
    private readonly needs: ChurnNeeds,
  ) {
    const c = ctx.cfg.churn;
    this.priorScratch = {
      hazardPerDay: c.hazardPerYear / 365,
      lapsedShare: c.lapsedShare,
      lapsedVisitRatio: c.lapsedVisitRatio,
      priorVisits: c.priorVisits,
      meanGapDays: 0,
      intentShare: 0,
    };
    this.F = ctx.fields.offsets(FIELD_NAMES.f64);
    this.U = ctx.fields.offsets(FIELD_NAMES.u32);
    this.unitMs = needs.value.unitMs;
    this.churnTimer = ctx.store.defineSignalTimer(CHURN_TIMER);
    this.aliveTimer = ctx.store.defineSignalTimer(ALIVE_TIMER);
  }

  onApplied(slot: number, e: CanonicalEvent): void {
    if (e.type === 'purchase') {
      try {
        this.onPurchase(slot, e);
      } catch {
        this.ctx.health.errors++;
      }
    } else if (
      e.type === 'feedback' &&
      (e.complaint === true || (e.rating !== undefined && e.rating <= this.ctx.cfg.churn.lowRating))
    ) {
      try {
        this.onUnhappy(slot, e);
      } catch {
        this.ctx.health.errors++;
      }
    }
  }

  onSessionClosed(slot: number, customerId: string, start: number, end: number): void {
    try {
      this.observeSession(slot, customerId, start, end);
    } catch {
      this.ctx.health.errors++;
    }
  }

  onTimer(timer: string, slot: number, customerId: string, due: number): void {
    try {
      if (timer === CHURN_TIMER) this.onChurnCheck(slot, customerId, due);
      else if (timer === ALIVE_TIMER) this.onAliveCrossing(slot, customerId, due);
    } catch {
      this.ctx.health.errors++;
    }
  }

  /** A purchase: they are back, so a later lapse may warn again; the P(alive) crossing moves. */
  private onPurchase(slot: number, e: Extract<CanonicalEvent, { type: 'purchase' }>): void {
    const t = this.txScratch;
    this.ctx.store.transactionStatsInto(slot, t); // a purchase was just applied: it has transactions
    this.ctx.alerts.rearm(slot, 'churn.risk');
    const now = Math.max(e.ts, t.last);
    this.armAliveCrossing(slot, now, t, repeatStatsInto(t, now, this.ctx.cfg.timeUnit, this.repeatScratch));
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
    const timers = this.ctx.store.timers;
    const age = timeWhenAliveFallsTo(this.needs.models.bgnbd, stats, this.ctx.cfg.churn.pAliveFloor);
    if (!Number.isFinite(age)) {
      timers.cancel(slot, this.aliveTimer);
      return;
    }
    // Whole milliseconds, and later than now: the due time becomes an alert's event time.
    const due = Math.max(Math.ceil(t.first + age * this.unitMs), now + 1);
    const armed = timers.dueTime(slot, this.aliveTimer);
    if (armed > now && armed <= due) return;
    timers.arm(slot, this.aliveTimer, due);
  }

  /**
   * After a refit: P(alive) crossings computed under the old parameters may lie far from the
   * new ones: each pending timer the new parameters bring earlier moves there (to now, when
   * they put the customer below the floor already); one pushed later re-arms when it fires.
   * A timer that fired stays fired: the bar stays lowered while P(alive) is below the floor,
   * read at each check.
   */
  rearmAliveCrossing(slot: number, watermark: number): boolean {
    if (!(this.ctx.store.timers.dueTime(slot, this.aliveTimer) > watermark)) return false;
    const t = this.txScratch;
    if (!this.ctx.store.transactionStatsInto(slot, t)) return false;
    const now = Math.max(watermark, t.last);
    this.armAliveCrossing(slot, now, t, repeatStatsInto(t, now, this.ctx.cfg.timeUnit, this.repeatScratch));
    return true;
  }

  /**
   * A session closed: fold it into the visit statistics and the population's, then judge a
   * buyer as of its end (a cartless visit can be what tips a lapsed browser over) and arm
   * the churn check for when silence alone would.
   */
  private observeSession(slot: number, customerId: string, start: number, end: number): void {
    const { fields, store } = this.ctx;
    const { F, U } = this;
    const intent = this.needs.lastCartTs(slot) >= start || store.lastPurchase(slot) >= start;
    const last = fields.f64(slot, F.lastSession);
    if (start > last) this.populationSessionGap.add(start - last);
    if (Number.isNaN(fields.f64(slot, F.firstSession))) fields.setF64(slot, F.firstSession, start);
    if (!(end <= last)) fields.setF64(slot, F.lastSession, end);
    const sessions = fields.u32(slot, U.sessions) + 1;
    fields.setU32(slot, U.sessions, sessions);
    this.populationSessions++;
    if (intent) {
      this.populationIntentSessions++;
      fields.setU32(slot, U.sessionsToIntent, sessions);
      fields.setU32(slot, U.intentSessions, fields.u32(slot, U.intentSessions) + 1);
      fields.setU32(slot, U.cartless, 0);
      fields.setF64(slot, F.firstCartless, NaN);
      if (!(end <= fields.f64(slot, F.lastIntent))) fields.setF64(slot, F.lastIntent, end);
      // Buying intent again: they are back, so a later lapse may warn again.
      this.ctx.alerts.rearm(slot, 'churn.risk');
    } else {
      const cartless = fields.u32(slot, U.cartless);
      if (cartless === 0) fields.setF64(slot, F.firstCartless, start);
      fields.setU32(slot, U.cartless, cartless + 1);
    }
    if (store.hasTransactions(slot))
      this.checkChurn(slot, customerId, Math.max(end, fields.f64(slot, F.lastSession)), true);
  }

  /**
   * The churn timer fired at `due`: judge as of then with the population as it is now. When
   * the check was a session's provisional one (see `checkChurn`), this is where the search
   * it put off happens: a check that fires always searches.
   */
  private onChurnCheck(slot: number, customerId: string, due: number): void {
    if (!this.ctx.store.hasTransactions(slot)) return;
    this.needs.rfm.rescore(slot, customerId, due);
    this.checkChurn(slot, customerId, due, false);
  }

  /**
   * The P(alive) timer fired at `due`. Below the floor under the parameters in force, the
   * visit posterior is judged against the lower bar `corroborateAt` (and the churn check
   * re-armed for it); above it (a refit moved the crossing later), the timer is re-armed.
   */
  private onAliveCrossing(slot: number, customerId: string, due: number): void {
    const t = this.txScratch;
    if (!this.ctx.store.transactionStatsInto(slot, t)) return;
    const now = Math.max(due, t.last);
    const stats = repeatStatsInto(t, now, this.ctx.cfg.timeUnit, this.repeatScratch);
    if (probabilityAlive(this.needs.models.bgnbd, stats) >= this.ctx.cfg.churn.pAliveFloor) {
      this.armAliveCrossing(slot, now, t, stats);
      return;
    }
    this.needs.rfm.rescore(slot, customerId, now);
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
   * (a bisection: one evaluation per halving) would mostly be thrown away. The warning still comes at the crossing,
   * to the hour, as found with the population as of the provisional check.
   */
  private checkChurn(slot: number, customerId: string, now: number, provisional: boolean): void {
    const prior = this.visitPrior();
    const v = this.visitStats(slot);
    if (prior === undefined || v === undefined) return;
    const c = this.ctx.cfg.churn;
    const timers = this.ctx.store.timers;
    const evaluator = this.evaluator;
    const pAlive = this.pAlive(slot, now);
    const bar = pAlive < c.pAliveFloor ? Math.min(c.warnAt, c.corroborateAt) : c.warnAt;
    const nowDays = now / DAY_MS;
    evaluator.prepare(v, prior); // once for the questions below
    const logOdds = evaluator.preparedLogOdds(nowDays);
    if (stoppedProbability(logOdds) >= bar) {
      timers.cancel(slot, this.churnTimer);
      this.emitVisitChurn(slot, customerId, now, v, evaluator.preparedEvidence(), pAlive);
      return;
    }
    // A check already armed before the crossing stays: it re-arms when it fires. Re-arming at
    // every session would leave a stale heap entry per session and search for a crossing
    // each time; this costs one evaluation and keeps about one entry per customer.
    const armed = timers.dueTime(slot, this.churnTimer);
    if (armed > now && evaluator.preparedPStopped(armed / DAY_MS) < bar) return;
    let when = provisional
      ? evaluator.preparedTimeBeforeCrossing(bar, nowDays, logOdds, CHURN_HORIZON_DAYS, CHURN_RESOLUTION_DAYS)
      : NaN;
    if (Number.isNaN(when))
      when = evaluator.preparedTimeWhenStoppedReachesFrom(
        bar,
        nowDays,
        logOdds,
        CHURN_HORIZON_DAYS,
        CHURN_RESOLUTION_DAYS,
      );
    // Whole milliseconds, and always later than now: the due time becomes an alert's event time.
    if (Number.isFinite(when)) timers.arm(slot, this.churnTimer, Math.max(Math.ceil(when * DAY_MS), now + 1));
    else timers.cancel(slot, this.churnTimer);
  }

  /** BG/NBD P(alive) as of `now` under the parameters in force; 1 before the first purchase. */
  private pAlive(slot: number, now: number): number {
    const t = this.txScratch;
    if (!this.ctx.store.transactionStatsInto(slot, t)) return 1;
    return probabilityAlive(
      this.needs.models.bgnbd,
      repeatStatsInto(t, Math.max(now, t.last), this.ctx.cfg.timeUnit, this.repeatScratch),
    );
  }

  /** Population priors for the visit model; undefined until some customer came back once. */
  private visitPrior(): VisitChurnPrior | undefined {
    const gap = this.populationSessionGap;
    let gapCount = gap.count;
    let gapMeanMs = gap.meanMs;
    let sessions = this.populationSessions;
    let intentSessions = this.populationIntentSessions;
    const others = this.others;
    if (others !== null) {
      [gapCount, gapMeanMs] = mergeRunningMoments(others.sessionGap, gap.snapshot());
      sessions += others.sessions;
      intentSessions += others.intentSessions;
    }
    if (gapCount === 0 || sessions === 0) return undefined;
    // The configured parts were set once in the constructor; the population's change with every session.
    const prior = this.priorScratch;
    prior.meanGapDays = Math.max(gapMeanMs, 60_000) / DAY_MS;
    prior.intentShare = Math.min(0.99, Math.max(0.01, intentSessions / sessions));
    return prior;
  }

  /** The customer's visit statistics in days; undefined before their first session with intent. */
  private visitStats(slot: number): VisitStats | undefined {
    const fields = this.ctx.fields;
    const { F, U } = this;
    const lastIntent = fields.f64(slot, F.lastIntent);
    if (Number.isNaN(lastIntent)) return undefined;
    const v = this.visitScratch;
    v.firstSession = fields.f64(slot, F.firstSession) / DAY_MS;
    v.lastIntent = lastIntent / DAY_MS;
    v.lastSession = fields.f64(slot, F.lastSession) / DAY_MS;
    v.firstCartless = fields.f64(slot, F.firstCartless) / DAY_MS;
    v.sessionsToIntent = fields.u32(slot, U.sessionsToIntent);
    v.intentSessions = fields.u32(slot, U.intentSessions);
    v.cartless = fields.u32(slot, U.cartless);
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
    const c = this.ctx.cfg.churn;
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
    const { store, cfg } = this.ctx;
    const last = store.lastPurchase(slot);
    const usual = usualGap(store.gapStats(slot), this.needs.refits.populationGaps(), cfg.churn);
    if (usual === undefined || !(now - last > usual.ms)) return undefined;
    const whose =
      usual.basis === 'own'
        ? 'their usual gap'
        : `the population's usual gap (they have fewer than ${cfg.churn.minOwnGaps} gaps of their own)`;
    return `${days(now - last)} days since the last purchase, beyond ${whose} of ${days(usual.ms)} days`;
  }

  private onUnhappy(slot: number, e: Extract<CanonicalEvent, { type: 'feedback' }>): void {
    if (!this.needs.value.isTopTier(slot)) return;
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
    const { cfg, store } = this.ctx;
    const value = this.needs.value;
    const clv = value.clv(slot);
    const t = store.transactionStats(slot); // rare (an alert): a fresh object, not the scratch
    const expected =
      t === null
        ? 0
        : expectedPurchases(this.needs.models.bgnbd, repeatStats(t, Math.max(ts, t.last), cfg.timeUnit), value.horizon);
    this.ctx.alerts.emit(slot, {
      type: 'churn.risk',
      customerId,
      ts,
      severity: value.isTopTier(slot) ? 'critical' : 'warning',
      score,
      reasons,
      segment: this.needs.rfm.segmentLabel(slot),
      data: {
        pAlive,
        expectedPurchases: expected,
        horizonMs: cfg.value.horizonMs,
        clv: Number.isNaN(clv) ? 0 : clv,
        lastPurchaseTs: t?.last ?? null,
        rule,
      },
    });
  }

  // ---- views ----------------------------------------------------------------------------

  /**
   * The churn evidence as of `asOf` (event time, at or after the customer's last session),
   * for evaluation: P(stopped buying) from the visits, BG/NBD P(alive) and P(no purchase
   * over `value.horizonMs`) under the parameters in force, the bar a warning needs, and the
   * churn score: the visit posterior, or on a purchase-only feed (see `churnScoreBasis`) the
   * purchases' P(no purchase). Undefined for a non-buyer or before the visit prior exists.
   */
  churnEvidence(slot: number, asOf: number): ChurnEvidence | undefined {
    const { store, cfg } = this.ctx;
    if (!store.hasTransactions(slot)) return undefined;
    const prior = this.visitPrior();
    const v = this.visitStats(slot);
    const t = store.transactionStats(slot);
    if (prior === undefined || v === undefined || t === null) return undefined;
    const c = cfg.churn;
    const bgnbd = this.needs.models.bgnbd;
    const stats = repeatStats(t, Math.max(asOf, t.last), cfg.timeUnit);
    const pAlive = probabilityAlive(bgnbd, stats);
    const pSilent = probabilityNoPurchase(bgnbd, stats, this.needs.value.horizon);
    const pStopped = this.evaluator.visitChurn(
      v,
      prior,
      Math.max(asOf, this.ctx.fields.f64(slot, this.F.lastSession)) / DAY_MS,
    ).pStopped;
    const pNoReturn = this.needs.rfm.pNoReturn(slot, asOf);
    const basis = churnScoreBasis(this.intentShare());
    const bar = pAlive < c.pAliveFloor ? Math.min(c.warnAt, c.corroborateAt) : c.warnAt;
    return { pStopped, pAlive, pSilent, pNoReturn, bar, basis, score: basis === 'visits' ? pStopped : pNoReturn };
  }

  /** The population's share of sessions with intent so far (NaN before any session). */
  intentShare(): number {
    const others = this.others;
    if (others === null) return this.populationIntentSessions / this.populationSessions;
    return (this.populationIntentSessions + others.intentSessions) / (this.populationSessions + others.sessions);
  }
}

function days(ms: number): number {
  return Math.round(ms / 86_400_000);
}
