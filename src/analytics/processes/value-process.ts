import type { CanonicalEvent } from '../../core/event.js';
import type { TransactionStats } from '../../state/customer-store.js';
import type { RepeatStats } from '../bgnbd.js';
import { customerLifetimeValue, type ClvOptions } from '../clv.js';
import type { GammaGammaParams } from '../gamma-gamma.js';
import type { BgNbdParams } from '../bgnbd.js';
import type { QuantileSketch } from '../quantile-sketch.js';
import { meanRepeatSpend, repeatStatsInto, TIME_UNITS } from '../repeat-stats.js';
import type { AnalyticsProcess, GlobalState, ProcessContext } from './analytics-process.js';
import type { FieldSpec } from './customer-fields.js';
import { mergeSketches } from './merges.js';
import type { PopulationModels } from './refit-process.js';

const YEAR_MS = 365 * 86_400_000;
/** Each step costs a ₂F₁; see clv.ts for why two are enough. */
const CLV_STEPS = 2;
/** The top tier needs this many buyers' CLV before it means anything. */
const MIN_TIER_POPULATION = 20;

const FIELD_NAMES = { f64: ['clv'], u8: ['tier'] } as const;

/**
 * Value: each buyer's Gamma-Gamma CLV under the parameters in force, computed at their
 * purchases, and the top tier (CLV in the top `value.topTierShare` of buyers, from a
 * quantile sketch of all buyers' CLV), with `value.tier_changed` when a customer enters or
 * leaves it.
 */
export class ValueProcess implements AnalyticsProcess {
  static readonly FIELDS: readonly FieldSpec[] = [
    { name: 'clv', type: 'f64', initial: NaN },
    /** 1 in the top tier. */
    { name: 'tier', type: 'u8' },
  ];
  readonly name = 'value';
  readonly fields = ValueProcess.FIELDS;
  readonly timers = [] as const;
  readonly globals: readonly GlobalState[] = [
    { name: 'clv', home: 'mergeable', merge: mergeSketches },
    // The tier cut-off is a quantile of the merged sketch.
    { name: 'topTierThreshold', home: 'broadcast' },
  ];
  readonly unitMs: number;
  /** Value horizon in `unitMs`. */
  readonly horizon: number;
  readonly clvOptions: ClvOptions;
  private readonly F: Record<(typeof FIELD_NAMES.f64)[number], number>;
  private readonly B: Record<(typeof FIELD_NAMES.u8)[number], number>;
  /** CLV at a first purchase, for the parameter objects in force when computed (see `clvAt`). */
  private firstPurchaseClv: { bgnbd: BgNbdParams | null; gammaGamma: GammaGammaParams | null; clv: number } = {
    bgnbd: null,
    gammaGamma: null,
    clv: NaN,
  };
  private readonly txScratch: TransactionStats = { first: 0, last: 0, repeat: 0, firstValue: 0, repeatValue: 0 };
  private readonly repeatScratch: RepeatStats = { x: 0, tx: 0, T: 0 };
  /**
   * With customers in partitions: this partition's own buyers' CLV alone (a twin of
   * `clvQuantile`, which is then the view). Undefined in the single-threaded engine. See `GlobalShare`.
   */
  own: QuantileSketch | undefined;

  constructor(
    private readonly ctx: ProcessContext,
    private readonly models: PopulationModels,
    /** Buyers' CLV, for the top-tier threshold: a quantile sketch that follows inserts and removals. */
    readonly clvQuantile: QuantileSketch,
    private readonly segmentLabel: (slot: number) => string | null,
  ) {
    const cfg = ctx.cfg;
    this.unitMs = TIME_UNITS[cfg.timeUnit];
    this.horizon = cfg.value.horizonMs / this.unitMs;
    const discountPerUnit = Math.pow(1 + cfg.value.yearlyDiscountRate, this.unitMs / YEAR_MS) - 1;
    this.clvOptions = { horizon: this.horizon, discountPerUnit, steps: CLV_STEPS };
    this.F = ctx.fields.offsets(FIELD_NAMES.f64);
    this.B = ctx.fields.offsets(FIELD_NAMES.u8);
  }

  onApplied(slot: number, e: CanonicalEvent): void {
    if (e.type !== 'purchase') return;
    try {
      const t = this.txScratch;
      this.ctx.store.transactionStatsInto(slot, t); // a purchase was just applied: it has transactions
      const now = Math.max(e.ts, t.last);
      this.update(slot, e.customerId, now, t, repeatStatsInto(t, now, this.ctx.cfg.timeUnit, this.repeatScratch));
    } catch {
      this.ctx.health.errors++;
    }
  }

  evicting(slot: number): void {
    const clv = this.clv(slot);
    if (!Number.isNaN(clv)) {
      this.clvQuantile.remove(clv);
      this.own?.remove(clv);
    }
  }

  /** The CLV last computed for the customer in `slot`; NaN before their first purchase. */
  clv(slot: number): number {
    return this.ctx.fields.f64(slot, this.F.clv);
  }

  isTopTier(slot: number): boolean {
    return this.ctx.fields.u8(slot, this.B.tier) === 1;
  }

  private update(slot: number, customerId: string, now: number, t: TransactionStats, stats: RepeatStats): void {
    const { fields, cfg } = this.ctx;
    const clv = this.clvAt(t, stats);
    const q = this.clvQuantile;
    const old = fields.f64(slot, this.F.clv);
    if (!Number.isNaN(old)) q.remove(old);
    q.insert(clv);
    const own = this.own;
    if (own !== undefined) {
      if (!Number.isNaN(old)) own.remove(old);
      own.insert(clv);
    }
    fields.setF64(slot, this.F.clv, clv);
    const threshold = q.quantile(1 - cfg.value.topTierShare);
    const top = q.count >= MIN_TIER_POPULATION && clv >= threshold ? 1 : 0;
    const was = fields.u8(slot, this.B.tier);
    if (top !== was) {
      fields.setU8(slot, this.B.tier, top);
      this.ctx.alerts.emit(slot, {
        type: 'value.tier_changed',
        customerId,
        ts: now,
        severity: 'info',
        // 0.5 at the threshold, towards 1 far above it, towards 0 far below.
        score: clv / (clv + threshold || 1),
        reasons: [
          top
            ? `CLV ${clv.toFixed(2)} entered the top ${pct(cfg.value.topTierShare)} of buyers (threshold ${threshold.toFixed(2)})`
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
    const { bgnbd, gammaGamma } = this.models;
    const first = stats.x === 0 && stats.T === 0 && stats.tx === 0;
    const memo = this.firstPurchaseClv;
    if (first && memo.bgnbd === bgnbd && memo.gammaGamma === gammaGamma) return memo.clv;
    const { clv } = customerLifetimeValue(bgnbd, gammaGamma, stats, meanRepeatSpend(t), this.clvOptions);
    if (first) this.firstPurchaseClv = { bgnbd, gammaGamma, clv };
    return clv;
  }
}

export function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}
