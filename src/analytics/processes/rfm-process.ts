import type { CanonicalEvent } from '../../core/event.js';
import type { TransactionStats } from '../../state/customer-store.js';
import type { RfmPopulation, RfmScores, RfmValues } from '../rfm.js';
import type { ReturnHazard } from '../return-hazard.js';
import type { AnalyticsProcess, GlobalState, ProcessContext } from './analytics-process.js';
import type { FieldSpec } from './customer-fields.js';
import { mergeReturnHazards, mergeRfm } from './merges.js';

/** Quintiles of a handful of buyers are noise: segments are assigned from this many on. */
const MIN_RFM_POPULATION = 50;

const FIELD_NAMES = { f64: ['rfmLast', 'rfmMonetary'], u32: ['rfmTransactions'], u8: ['segment'] } as const;

/**
 * RFM segments: each buyer's recency, frequency and monetary value scored against the
 * population of buyers in state (three quantile sketches), the segment kept per customer,
 * `segment.changed` when a move between segments matters. Scored at each purchase and, for
 * the churn process, at its checks: a customer slides from champion to at risk while
 * *others* buy.
 */
export class RfmProcess implements AnalyticsProcess {
  static readonly FIELDS: readonly FieldSpec[] = [
    { name: 'rfmLast', type: 'f64', initial: NaN },
    { name: 'rfmMonetary', type: 'f64' },
    { name: 'rfmTransactions', type: 'u32' },
    /** The segment's position in `RFM_SEGMENTS` + 1; 0 before one is assigned. */
    { name: 'segment', type: 'u8' },
  ];
  readonly name = 'rfm';
  readonly fields = RfmProcess.FIELDS;
  readonly timers = [] as const;
  readonly globals: readonly GlobalState[] = [
    { name: 'rfm', home: 'mergeable', merge: mergeRfm },
    { name: 'returns', home: 'mergeable', merge: mergeReturnHazards },
  ];
  private readonly F: Record<(typeof FIELD_NAMES.f64)[number], number>;
  private readonly U: Record<(typeof FIELD_NAMES.u32)[number], number>;
  private readonly B: Record<(typeof FIELD_NAMES.u8)[number], number>;
  private readonly txScratch: TransactionStats = { first: 0, last: 0, repeat: 0, firstValue: 0, repeatValue: 0 };
  private readonly before: RfmValues = { lastPurchase: 0, transactions: 0, monetary: 0 };
  private readonly after: RfmValues = { lastPurchase: 0, transactions: 0, monetary: 0 };
  /**
   * With customers in partitions: this partition's own buyers alone (a twin of `population`,
   * which is then the view: the others' part at the last sync point plus this twin's changes
   * since). Undefined in the single-threaded engine. See `GlobalShare`.
   */
  own: RfmPopulation | undefined;
  /** Likewise, this partition's own return hazard, a twin of `returns` (then the view). */
  ownReturns: ReturnHazard | undefined;

  constructor(
    private readonly ctx: ProcessContext,
    /** The buyers in state: three quantile sketches that follow inserts and removals. */
    readonly population: RfmPopulation,
    /** The population's hazard of a return purchase by frequency and silence (the churn score of a purchase-only feed). */
    readonly returns: ReturnHazard,
  ) {
    this.F = ctx.fields.offsets(FIELD_NAMES.f64);
    this.U = ctx.fields.offsets(FIELD_NAMES.u32);
    this.B = ctx.fields.offsets(FIELD_NAMES.u8);
  }

  /** Buyers in the population. */
  get buyers(): number {
    return this.population.size;
  }

  onApplied(slot: number, e: CanonicalEvent): void {
    if (e.type !== 'purchase') return;
    try {
      const t = this.txScratch;
      this.ctx.store.transactionStatsInto(slot, t); // a purchase was just applied: it has transactions
      this.update(slot, e.customerId, Math.max(e.ts, t.last), t);
    } catch {
      this.ctx.health.errors++;
    }
  }

  evicting(slot: number): void {
    const before = this.valuesInto(slot, this.before);
    this.population.update(before, undefined);
    this.own?.update(before, undefined);
    this.returns.update(before, undefined);
    this.ownReturns?.update(before, undefined);
  }

  private update(slot: number, customerId: string, now: number, t: TransactionStats): void {
    const next = this.after;
    next.lastPurchase = t.last;
    next.transactions = t.repeat + 1;
    next.monetary = t.firstValue + t.repeatValue;
    const before = this.valuesInto(slot, this.before);
    this.population.update(before, next);
    this.own?.update(before, next);
    this.returns.update(before, next);
    this.ownReturns?.update(before, next);
    const fields = this.ctx.fields;
    fields.setF64(slot, this.F.rfmLast, next.lastPurchase);
    fields.setU32(slot, this.U.rfmTransactions, next.transactions);
    fields.setF64(slot, this.F.rfmMonetary, next.monetary);
    this.rescore(slot, customerId, now);
  }

  /**
   * Scores the customer against the population as it is now. Called at their purchases and
   * at their churn checks: a customer slides from champion to at risk while
   * *others* buy, so waiting for their own next purchase would miss exactly that.
   */
  rescore(slot: number, customerId: string, now: number): void {
    const rfm = this.population;
    const values = this.valuesInto(slot, this.before);
    if (values === undefined || rfm.size < MIN_RFM_POPULATION) return;
    const scores = rfm.scores(values);
    const before = this.ctx.fields.u8(slot, this.B.segment);
    const index = rfm.segmentIndex(scores.segment) + 1;
    if (before === index) return;
    this.ctx.fields.setU8(slot, this.B.segment, index);
    if (before === 0 || !rfm.transitionMattersAt(before - 1, index - 1)) return;
    const from = rfm.segmentName(before - 1);
    this.ctx.alerts.emit(slot, {
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

  /** The segment assigned to the customer in `slot` (what alerts carry), null before one is. */
  segmentLabel(slot: number): string | null {
    const index = this.ctx.fields.u8(slot, this.B.segment);
    return index === 0 ? null : this.population.segmentName(index - 1);
  }

  /** P(no return purchase) of the customer in `slot` as of `asOf`, from the population's return hazard; NaN before their first purchase. */
  pNoReturn(slot: number, asOf: number): number {
    const values = this.valuesInto(slot, { lastPurchase: 0, transactions: 0, monetary: 0 });
    return values === undefined ? NaN : this.returns.pNoReturn(values, asOf);
  }

  /** The customer's scores against the population now; null before their first purchase. */
  scoresOf(slot: number): RfmScores | null {
    const values = this.valuesInto(slot, { lastPurchase: 0, transactions: 0, monetary: 0 });
    return values ? this.population.scores(values) : null;
  }

  /** Customers in state per assigned segment: a scan of one byte per slot, for the once-a-second kpi. */
  segmentCounts(): Record<string, number> {
    const { store, fields } = this.ctx;
    const counts = new Uint32Array(256);
    for (let slot = 0, n = store.slotsInUse; slot < n; slot++) {
      const index = fields.u8(slot, this.B.segment);
      if (index !== 0 && store.customerAt(slot) !== undefined) counts[index]!++;
    }
    const out: Record<string, number> = {};
    for (let index = 1; index < counts.length; index++)
      if (counts[index]! > 0) out[this.population.segmentName(index - 1)] = counts[index]!;
    return out;
  }

  /** The customer's RFM values written into `out` (returned), undefined before the first purchase. */
  private valuesInto(slot: number, out: RfmValues): RfmValues | undefined {
    const fields = this.ctx.fields;
    const last = fields.f64(slot, this.F.rfmLast);
    if (Number.isNaN(last)) return undefined;
    out.lastPurchase = last;
    out.transactions = fields.u32(slot, this.U.rfmTransactions);
    out.monetary = fields.f64(slot, this.F.rfmMonetary);
    return out;
  }
}
