import type { CustomerStore } from '../state/customer-store.js';
import { bgnbdFitProblem, type BgNbdParams, type RepeatStats } from './bgnbd.js';
import { gammaGammaFitProblem, type GammaGammaParams, type SpendStats } from './gamma-gamma.js';
import {
  nelderMeadSearch,
  type FitProblem,
  type Minimum,
  type NelderMeadSearch,
  type ObjectiveSum,
} from './optimize.js';
import { poolGaps, type GapStats } from './purchase-gap.js';
import { repeatStats, spendStats, type TimeUnit } from './repeat-stats.js';

/**
 * A live refit starts from the parameters in force, so a small simplex and loose tolerances
 * (1e-5 in log-parameters is far finer than what alerts can tell apart) find the moved
 * optimum in a fraction of a full fit's iterations; `vigil fit` keeps the strict defaults.
 */
export const LIVE_REFIT = {
  initialStep: 0.1,
  pointTolerance: 1e-5,
  valueTolerance: 1e-10,
  restarts: 1,
  maxIterations: 500,
} as const;

/**
 * Work one applied event advances a running refit by, in work units: a customer's term in
 * one likelihood evaluation, or a slot walked (see the weights below). A unit costs
 * 0.13–0.16 µs on the development VM, so an event pays ≈ 33–40 µs while a refit runs: at
 * 20k events/s more than an event's share, so a live engine falls behind for a refit's few
 * thousand events, once every `refit.everyMs` of event time (1,024 units, one evaluation an
 * event, was worse). A smaller budget makes a refit on a slow stream span weeks of event
 * time (docs/analytics.md). A refit at 20k customers
 * (two walks of 20k slots, a few hundred to ~1,600 evaluations of 1,000 customers) ends
 * within ~2,500–6,000 events. Counted in events, never in wall-clock
 * time, so a replay applies the new parameters at the same event.
 */
export const REFIT_WORK_PER_EVENT = 256;

/** Work units of gathering a buyer (their transaction and gap statistics, pooled; sampled), against 1 for a slot passed over. */
export const GATHER_WORK = 3;

/** Work units of re-arming one customer's pending P(alive) timer (a closed-form crossing and a timer-heap move), against 1 for a slot passed over. */
export const REARM_WORK = 4;

/** Shape parameters beyond this mean the fit's heterogeneity collapsed (see `RefitJob`). */
const MAX_SHAPE = 1000;

export type PooledGaps = GapStats & { m2: number };

export function emptyGaps(): PooledGaps {
  return { count: 0, meanMs: 0, varianceMs2: 0, m2: 0 };
}

/** What a refit concludes, handed to its owner in the apply phase. */
export interface RefitResult {
  /** The new BG/NBD parameters; undefined when the fit was rejected. */
  bgnbd: BgNbdParams | undefined;
  bgnbdRejected: boolean;
  /** The new Gamma-Gamma parameters; undefined when too few buyers had repeat spend. */
  gammaGamma: GammaGammaParams | undefined;
}

/** The refit's owner: what the job hands over, and the re-arm it asks for per slot. */
export interface RefitHost {
  /** The purchase gaps pooled over the walk, at its end (also when too few buyers to fit). */
  gathered(gaps: PooledGaps): void;
  /** Puts the fits in force; true when P(alive) crossings must be re-armed. */
  apply(result: RefitResult): boolean;
  /** Moves the slot's pending P(alive) timer to its crossing under the parameters now in force; false when it has none. */
  rearm(slot: number, watermark: number): boolean;
}

export interface RefitPlan {
  /** The watermark the refit started at (a buyer's age T is measured to the watermark they are gathered at). */
  readonly asOf: number;
  /** Buyers in state when it started: the even stride of the sample is taken over this many. */
  readonly buyers: number;
  readonly sampleSize: number;
  readonly minBuyers: number;
  readonly timeUnit: TimeUnit;
  /** The parameters in force at the start, the fits' warm starts. */
  readonly bgnbd: BgNbdParams;
  readonly gammaGamma: GammaGammaParams;
}

export type RefitPhase = 'gather' | 'bgnbd' | 'gammaGamma' | 'apply' | 'rearm' | 'done';

/** A Nelder–Mead search under way: the machine, the point it waits on, evaluations done, and the one being summed. */
interface Search<P> {
  readonly problem: FitProblem<P>;
  readonly machine: NelderMeadSearch;
  pending: IteratorResult<readonly number[], Minimum>;
  evaluations: number;
  /** The objective at the pending point, its terms added so far; undefined before the first. */
  sum: ObjectiveSum | undefined;
}

/**
 * A refit of BG/NBD and Gamma-Gamma on an even sample of the buyers in state, done in small
 * steps over the events that follow its start instead of inside one event: a walk over the
 * slots gathering the sample and pooling purchase gaps, the two Nelder–Mead searches one
 * objective evaluation at a time (each summed over the sample in chunks), putting the fits in
 * force, and a walk re-arming the P(alive) timers. Until the apply phase the parameters in
 * force stay the old ones.
 *
 * The warm-started BG/NBD fit can drift along a ridge where the likelihood is flat: Beta(a, b)
 * or Gamma(r, α) collapsing onto a point mass (seed 5 of the synthetic shop reached a ≈ 2·10⁴,
 * b ≈ 8·10⁵ for 2 log-likelihood units), where the ₂F₁ series of expected purchases no longer
 * converge and every CLV and churn alert fails. Such a fit is rejected and the parameters in
 * force stay until a later refit, on more data, lands inside.
 *
 * Everything the job holds is plain data except the searches, which are rebuilt on restore by
 * replaying their evaluations (Nelder–Mead is deterministic), so a restored engine goes on
 * exactly as the original would have.
 */
export class RefitJob {
  private phase: RefitPhase = 'gather';
  /** Next slot of the walk (gather or re-arm). */
  private cursor = 0;
  private buyersSeen = 0;
  /** The sample takes buyer number floor(nextPick), then moves on by the stride: an even sample, taken as the walk goes. */
  private nextPick = 0;
  private readonly stride: number;
  private readonly repeat: RepeatStats[] = [];
  private readonly spend: SpendStats[] = [];
  private readonly gaps = emptyGaps();
  private search: Search<BgNbdParams> | Search<GammaGammaParams> | undefined;
  private bgnbd: BgNbdParams | undefined;
  private bgnbdRejected = false;
  private gammaGamma: GammaGammaParams | undefined;

  constructor(
    private readonly store: CustomerStore,
    private readonly host: RefitHost,
    readonly plan: RefitPlan,
  ) {
    this.stride = Math.max(1, plan.buyers / plan.sampleSize);
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  get currentPhase(): RefitPhase {
    return this.phase;
  }

  /** The sample gathered so far (all of it once the walk is over). */
  get sample(): { repeat: readonly RepeatStats[]; spend: readonly SpendStats[] } {
    return { repeat: this.repeat, spend: this.spend };
  }

  /**
   * Does up to `budget` work units (see `REFIT_WORK_PER_EVENT`) and returns how many it did;
   * an evaluation is split over steps. A walked slot's cost is known only once walked, so a
   * walk stops while the dearest slot still fits; a budget below that walks one slot a step.
   */
  step(budget: number, watermark: number): number {
    let spent = 0;
    while (this.phase !== 'done' && spent < budget) {
      const used = this.advance(budget - spent, spent === 0, watermark);
      if (used < 0) break;
      spent += used;
    }
    return spent;
  }

  /** Work units done, or -1 when the next piece does not fit in `room`; 0 for a change of phase. */
  private advance(room: number, first: boolean, watermark: number): number {
    switch (this.phase) {
      case 'gather':
        this.watermark = watermark;
        return this.walk(room, first, GATHER_WORK, this.gatherSlot);
      case 'bgnbd':
      case 'gammaGamma':
        return this.evaluate(room);
      case 'apply':
        this.phase = this.host.apply({
          bgnbd: this.bgnbd,
          bgnbdRejected: this.bgnbdRejected,
          gammaGamma: this.gammaGamma,
        })
          ? 'rearm'
          : 'done';
        this.cursor = 0;
        return 1;
      case 'rearm':
        this.watermark = watermark;
        return this.walk(room, first, REARM_WORK, this.rearmSlot);
      default:
        return 0;
    }
  }

  /** Walks slots from the cursor while the dearest (`dearest` units) fits in `room`; at the end, the phase's next step. */
  private walk(room: number, first: boolean, dearest: number, visit: (slot: number) => number): number {
    const from = this.cursor;
    const n = this.store.slotsInUse;
    let spent = 0;
    let slot = from;
    while (slot < n && (spent + dearest <= room || (first && slot === from))) spent += visit(slot++);
    if (slot === from && slot < n) return -1;
    this.cursor = slot;
    if (slot >= n) {
      if (this.phase === 'gather') this.gathered();
      else this.phase = 'done';
    }
    return spent;
  }

  private readonly gatherSlot = (slot: number): number => {
    const store = this.store;
    if (store.customerAt(slot) === undefined) return 1;
    const t = store.transactionStats(slot);
    if (t === null) return 1;
    poolGaps(this.gaps, store.gapStats(slot));
    if (this.buyersSeen === Math.floor(this.nextPick) && this.nextPick < this.plan.buyers) {
      // T to the watermark now, not the job's start: a buyer who bought since then would
      // otherwise have t_x clamped to T (a last purchase "at the end of the observation",
      // as alive as anyone can look); the walk spans a few hundred events.
      this.repeat.push(repeatStats(t, Math.max(this.plan.asOf, this.watermark), this.plan.timeUnit));
      const s = spendStats(t);
      if (s.x > 0 && s.meanSpend > 0) this.spend.push(s);
      this.nextPick += this.stride;
    }
    this.buyersSeen++;
    return GATHER_WORK;
  };

  /** The watermark of the step under way, for the walks. */
  private watermark = NaN;

  private readonly rearmSlot = (slot: number): number => (this.host.rearm(slot, this.watermark) ? REARM_WORK : 1);

  private gathered(): void {
    this.host.gathered({ ...this.gaps });
    if (this.buyersSeen < this.plan.minBuyers || this.repeat.length === 0) {
      this.phase = 'done';
      return;
    }
    this.phase = 'bgnbd';
    this.search = startSearch(bgnbdFitProblem(this.repeat, { start: this.plan.bgnbd }));
  }

  /** Adds up to `room` terms of the evaluation under way; a finished one moves the search on. */
  private evaluate(room: number): number {
    const s = this.search!;
    if (s.pending.done === true) {
      this.searched(s.pending.value);
      return 0;
    }
    const sum = (s.sum ??= s.problem.sum(s.pending.value));
    const before = sum.count;
    sum.add(room);
    if (sum.count >= s.problem.terms) {
      s.pending = s.machine.next(sum.value);
      s.evaluations++;
      s.sum = undefined;
    }
    // An evaluation of no terms (none here: samples are never empty) still costs a unit.
    return Math.max(1, sum.count - before);
  }

  /** A search ended: take its fit and start the next phase. */
  private searched(minimum: Minimum): void {
    if (this.phase === 'bgnbd') {
      const fit = (this.search as Search<BgNbdParams>).problem.params(minimum.point);
      if (plausibleShapes(fit)) this.bgnbd = fit;
      else this.bgnbdRejected = true;
      this.startGammaGamma();
    } else {
      this.gammaGamma = (this.search as Search<GammaGammaParams>).problem.params(minimum.point);
      this.search = undefined;
      this.phase = 'apply';
    }
  }

  private startGammaGamma(): void {
    if (this.spend.length >= 10) {
      this.phase = 'gammaGamma';
      this.search = startSearch(gammaGammaFitProblem(this.spend, { start: this.plan.gammaGamma }));
    } else {
      this.search = undefined;
      this.phase = 'apply';
    }
  }

  // ---- snapshots ------------------------------------------------------------------------

  snapshot(): RefitJobSnapshot {
    return {
      plan: { ...this.plan, bgnbd: { ...this.plan.bgnbd }, gammaGamma: { ...this.plan.gammaGamma } },
      phase: this.phase,
      cursor: this.cursor,
      buyersSeen: this.buyersSeen,
      nextPick: this.nextPick,
      repeat: this.repeat.flatMap((r) => [r.x, r.tx, r.T]),
      spend: this.spend.flatMap((s) => [s.x, s.meanSpend]),
      gaps: { ...this.gaps },
      evaluations: this.search?.evaluations ?? 0,
      terms: this.search?.sum?.count ?? 0,
      bgnbd: this.bgnbd === undefined ? null : { ...this.bgnbd },
      bgnbdRejected: this.bgnbdRejected,
      gammaGamma: this.gammaGamma === undefined ? null : { ...this.gammaGamma },
    };
  }

  /** The job as snapshotted, its search rebuilt by replaying the evaluations it had done. */
  static restore(store: CustomerStore, host: RefitHost, s: RefitJobSnapshot): RefitJob {
    const job = new RefitJob(store, host, s.plan);
    job.phase = s.phase;
    job.cursor = s.cursor;
    job.buyersSeen = s.buyersSeen;
    job.nextPick = s.nextPick;
    for (let i = 0; i < s.repeat.length; i += 3)
      job.repeat.push({ x: s.repeat[i]!, tx: s.repeat[i + 1]!, T: s.repeat[i + 2]! });
    for (let i = 0; i < s.spend.length; i += 2) job.spend.push({ x: s.spend[i]!, meanSpend: s.spend[i + 1]! });
    Object.assign(job.gaps, s.gaps);
    job.bgnbd = s.bgnbd ?? undefined;
    job.bgnbdRejected = s.bgnbdRejected;
    job.gammaGamma = s.gammaGamma ?? undefined;
    if (s.phase === 'bgnbd') job.search = startSearch(bgnbdFitProblem(job.repeat, { start: s.plan.bgnbd }));
    else if (s.phase === 'gammaGamma')
      job.search = startSearch(gammaGammaFitProblem(job.spend, { start: s.plan.gammaGamma }));
    const search = job.search;
    if (search !== undefined) {
      for (let i = 0; i < s.evaluations; i++) {
        if (search.pending.done === true) throw new Error('refit snapshot has more evaluations than its search makes');
        search.pending = search.machine.next(search.problem.objective(search.pending.value));
        search.evaluations++;
      }
      if (s.terms > 0) {
        if (search.pending.done === true) throw new Error('refit snapshot has more evaluations than its search makes');
        // The evaluation under way, summed as far as it had got (in order: the same partial sum).
        search.sum = search.problem.sum(search.pending.value);
        search.sum.add(s.terms);
      }
    }
    return job;
  }
}

export interface RefitJobSnapshot {
  plan: RefitPlan;
  phase: RefitPhase;
  cursor: number;
  buyersSeen: number;
  nextPick: number;
  /** The sample's (x, t_x, T), flat. */
  repeat: number[];
  /** The sample's repeat spenders' (x, mean spend), flat. */
  spend: number[];
  gaps: PooledGaps;
  /** Evaluations done by the search under way (bgnbd or gammaGamma phase)… */
  evaluations: number;
  /** …and terms added of the one being summed. */
  terms: number;
  bgnbd: BgNbdParams | null;
  bgnbdRejected: boolean;
  gammaGamma: GammaGammaParams | null;
}

function startSearch<P>(problem: FitProblem<P>): Search<P> {
  const machine = nelderMeadSearch(problem.start, LIVE_REFIT);
  return { problem, machine, pending: machine.next(), evaluations: 0, sum: undefined };
}

export function plausibleShapes(p: BgNbdParams): boolean {
  return p.r <= MAX_SHAPE && p.a <= MAX_SHAPE && p.b <= MAX_SHAPE;
}
