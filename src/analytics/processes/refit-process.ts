import type { CanonicalEvent } from '../../core/event.js';
import type { BgNbdParams } from '../bgnbd.js';
import type { GammaGammaParams } from '../gamma-gamma.js';
import {
  emptyGaps,
  REFIT_WORK_PER_EVENT,
  RefitJob,
  type PooledGaps,
  type RefitHost,
  type RefitJobSnapshot,
  type RefitPhase,
  type RefitResult,
} from '../refit-job.js';
import type { AnalyticsProcess, GlobalState, ProcessContext } from './analytics-process.js';
import { mergePooledGaps } from './merges.js';

/** A refit is skipped unless purchases since the last one reach this share of the buyers. */
const REFIT_MIN_CHANGE = 0.05;

/**
 * The population parameters in force, read by the value and churn processes at each use.
 * A refit replaces the objects rather than changing them in place, so a memo keyed on the
 * objects (the value process's first-purchase CLV) sees every change.
 */
export interface PopulationModels {
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams;
}

/** What a refit needs from the other processes: the buyers in state and the re-arm of one slot's P(alive) timer. */
export interface RefitNeeds {
  buyers(): number;
  /** Moves the slot's pending P(alive) timer to its crossing under the parameters now in force; false when it has none. */
  rearm(slot: number, watermark: number): boolean;
}

/**
 * Refits of BG/NBD and Gamma-Gamma on an even sample of the buyers in state, every
 * `refit.everyMs` of event time, spread over the events that follow (see `RefitJob`): the
 * sample walks the slots in order and the job advances by events, so a replay refits on the
 * same customers and applies the fit at the same event. Keeps no per-customer fields; its
 * results (the parameters, the pooled purchase gaps) are broadcast to the other processes.
 */
export class RefitProcess implements AnalyticsProcess {
  readonly name = 'refits';
  readonly fields = [] as const;
  readonly timers = [] as const;
  readonly globals: readonly GlobalState[] = [
    // Fitted on the merged sample of all partitions' buyers; the result goes to every partition.
    { name: 'models', home: 'broadcast' },
    // A partition's walk gathers its buyers' gaps; the pooled gap is their merge.
    { name: 'populationPurchaseGap', home: 'mergeable', merge: mergePooledGaps },
  ];
  readonly models: PopulationModels;
  /** Gaps between purchases, pooled over the buyers the last refit walked: the usual gap of customers with few of their own. */
  pooledGaps: PooledGaps = emptyGaps();
  nextRefitAt = NaN;
  refits = 0;
  /** BG/NBD refits whose parameters were implausible and were not taken (see `RefitJob`). */
  refitsRejected = 0;
  /** Work units refits have done (see `REFIT_WORK_PER_EVENT`), for progress and tests. */
  refitWork = 0;
  purchasesSinceRefit = 0;
  /** With customers in partitions: the other partitions' pooled gaps as of the last sync point (see `GlobalShare`). */
  othersPooledGaps: PooledGaps | null = null;
  /** The refit under way, advanced a little at each applied event; undefined between refits. */
  private job: RefitJob | undefined;
  private readonly host: RefitHost;

  constructor(
    private readonly ctx: ProcessContext,
    private readonly needs: RefitNeeds,
  ) {
    this.models = { bgnbd: { ...ctx.cfg.bgnbd }, gammaGamma: { ...ctx.cfg.gammaGamma } };
    this.host = {
      gathered: (gaps) => (this.pooledGaps = gaps),
      apply: (result) => this.apply(result),
      rearm: (slot, watermark) => this.needs.rearm(slot, watermark),
    };
  }

  /** The pooled gaps of the whole population: this partition's, with the others' part when partitioned. */
  populationGaps(): PooledGaps {
    const others = this.othersPooledGaps;
    return others === null ? this.pooledGaps : mergePooledGaps(others, this.pooledGaps);
  }

  /** Whether a refit is under way (its parameters not yet in force). */
  get pending(): boolean {
    return this.job !== undefined;
  }

  /** The phase of the refit under way, null between refits. */
  get phase(): RefitPhase | null {
    return this.job?.currentPhase ?? null;
  }

  onApplied(_slot: number, e: CanonicalEvent, watermark: number): void {
    if (e.type === 'purchase') this.purchasesSinceRefit++;
    if (this.job !== undefined) this.advance(watermark);
    else if (watermark >= this.nextRefitAt) {
      try {
        this.start(watermark);
      } catch {
        this.ctx.health.errors++;
      }
    } else if (Number.isNaN(this.nextRefitAt) && this.ctx.cfg.refit.everyMs > 0 && Number.isFinite(watermark))
      this.nextRefitAt = watermark + this.ctx.cfg.refit.everyMs;
  }

  /** Starts a refit as of the watermark, unless too little changed since the last one. */
  private start(watermark: number): void {
    const cfg = this.ctx.cfg;
    this.nextRefitAt = watermark + cfg.refit.everyMs;
    const buyers = this.needs.buyers();
    // Nothing much changed since the last fit (a quiet period, the tail of a replay): keep it.
    if (this.refits > 0 && this.purchasesSinceRefit < REFIT_MIN_CHANGE * buyers) return;
    this.purchasesSinceRefit = 0;
    const { sampleSize, minBuyers } = cfg.refit;
    this.job = new RefitJob(this.ctx.store, this.host, {
      asOf: watermark,
      buyers,
      sampleSize,
      minBuyers,
      timeUnit: cfg.timeUnit,
      bgnbd: this.models.bgnbd,
      gammaGamma: this.models.gammaGamma,
    });
    this.advance(watermark);
  }

  /** One event's share of the refit under way; a refit that fails is dropped and counted. */
  private advance(watermark: number): void {
    const job = this.job!;
    try {
      this.refitWork += job.step(REFIT_WORK_PER_EVENT, watermark);
      if (job.done) this.job = undefined;
    } catch {
      this.ctx.health.errors++;
      this.job = undefined;
    }
  }

  private apply(result: RefitResult): boolean {
    if (result.bgnbd !== undefined) this.models.bgnbd = result.bgnbd;
    if (result.bgnbdRejected) this.refitsRejected++;
    if (result.gammaGamma !== undefined) this.models.gammaGamma = result.gammaGamma;
    this.refits++;
    // Crossings under unchanged BG/NBD parameters are where the timers already are.
    return result.bgnbd !== undefined;
  }

  jobSnapshot(): RefitJobSnapshot | null {
    return this.job?.snapshot() ?? null;
  }

  restoreJob(s: RefitJobSnapshot | null): void {
    this.job = s === null ? undefined : RefitJob.restore(this.ctx.store, this.host, s);
  }
}
