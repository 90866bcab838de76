import { QuantileSketch, type QuantileSketchSnapshot } from '../quantile-sketch.js';
import type { PooledGaps } from '../refit-job.js';
import { RfmPopulation, type RfmSnapshot } from '../rfm.js';
import { emptyGaps } from '../refit-job.js';
import {
  mergeManySketches,
  mergePooledGaps,
  mergeReturnHazards,
  mergeRunningMoments,
  subtractSketch,
} from './merges.js';
import { ReturnHazard, type ReturnHazardSnapshot } from '../return-hazard.js';

/**
 * One partition's exact share of the state that spans customers, as plain data (what it hands
 * over at a sync point): the summaries over its own customers only.
 */
export interface GlobalPartial {
  /** RFM quantile sketches of its buyers. */
  rfm: RfmSnapshot;
  /** Quantile sketch of its buyers' CLV. */
  clv: QuantileSketchSnapshot;
  /** Session gaps of its customers as running moments: [count, mean, M2]. */
  sessionGap: [number, number, number];
  sessions: number;
  intentSessions: number;
  /** Purchase gaps pooled by its last refit's walk. */
  pooledGaps: PooledGaps;
  /** Its return hazard's life table (spell counts: merged by adding). */
  returns: ReturnHazardSnapshot;
}

/** The sketches of a partial: large, so the main thread sends their total once, not each partition's others' part. */
export type SketchPart = Pick<GlobalPartial, 'rfm' | 'clv'>;
/** The scalars of a partial: small, sent as each partition's others' part. */
export type ScalarPart = Omit<GlobalPartial, 'rfm' | 'clv'>;

/**
 * What the main thread broadcasts at a sync point: the sketches of all partitions merged
 * (`totals`), and per partition the merge of the others' scalars (null when nobody else
 * holds any). A partition takes its own partial of that point out of the totals to get the
 * others' sketches (`othersOf`): one total travels instead of one merge per partition.
 */
export interface SyncBroadcast {
  totals: SketchPart;
  scalars: (ScalarPart | null)[];
}

/**
 * The broadcast of one sync point from every partition's partial (index = partition; null
 * for one that handed nothing), merged in partition order: a pure function of the partials,
 * never of which thread merged them or when.
 */
export function broadcastOf(partials: readonly (GlobalPartial | null)[]): SyncBroadcast | null {
  const held = partials.filter((p): p is GlobalPartial => p !== null);
  if (held.length === 0) return null;
  const totals: SketchPart = {
    rfm: {
      recency: mergeManySketches(held.map((p) => p.rfm.recency)),
      frequency: mergeManySketches(held.map((p) => p.rfm.frequency)),
      monetary: mergeManySketches(held.map((p) => p.rfm.monetary)),
    },
    clv: mergeManySketches(held.map((p) => p.clv)),
  };
  return { totals, scalars: othersScalars(partials) };
}

/** For each partition, the others' scalars merged, by prefix and suffix merges (O(P), not O(P²)). */
function othersScalars(parts: readonly (GlobalPartial | null)[]): (ScalarPart | null)[] {
  const n = parts.length;
  const prefix: (ScalarPart | null)[] = new Array<ScalarPart | null>(n + 1).fill(null);
  const suffix: (ScalarPart | null)[] = new Array<ScalarPart | null>(n + 1).fill(null);
  for (let i = 0; i < n; i++) prefix[i + 1] = joinScalars(prefix[i]!, parts[i]!);
  for (let i = n - 1; i >= 0; i--) suffix[i] = joinScalars(parts[i]!, suffix[i + 1]!);
  return parts.map((_, i) => {
    const out = joinScalars(prefix[i]!, suffix[i + 1]!);
    return out === null || (scalarsEmpty(out) && returnsEmpty(out.returns)) ? null : out;
  });
}

function joinScalars(a: ScalarPart | null, b: ScalarPart | null): ScalarPart | null {
  if (a === null) return b;
  if (b === null) return a;
  return {
    sessionGap: mergeRunningMoments(a.sessionGap, b.sessionGap),
    sessions: a.sessions + b.sessions,
    intentSessions: a.intentSessions + b.intentSessions,
    pooledGaps: mergePooledGaps(a.pooledGaps, b.pooledGaps),
    returns: mergeReturnHazards(a.returns, b.returns),
  };
}

function scalarsEmpty(p: ScalarPart): boolean {
  return p.sessionGap[0] === 0 && p.sessions === 0 && p.intentSessions === 0 && p.pooledGaps.count === 0;
}

/** A life table with no spell at all, ended or open. */
function returnsEmpty(r: ReturnHazardSnapshot): boolean {
  const zero = (xs: readonly number[]) => xs.every((x) => x === 0);
  return zero(r.ended) && zero(r.foldedCount) && r.open.length === 0;
}

/** A sync point's broadcast as one partition received it: its marker, the totals (null: nobody held anything) and the others' scalars. */
export interface ReceivedBroadcast {
  marker: number;
  totals: SketchPart | null;
  scalars: ScalarPart | null;
}

/**
 * A partition's others' part of a sync point: the broadcast totals without the sketches it
 * handed at that point (exact: counts are subtracted at the totals' resolution), with the
 * others' scalars. Null when the others hold nothing.
 */
export function othersOf(
  totals: SketchPart,
  handed: SketchPart,
  scalars: ScalarPart | null,
  emptyReturns: ReturnHazardSnapshot,
): GlobalPartial | null {
  const others: GlobalPartial = {
    rfm: {
      recency: subtractSketch(totals.rfm.recency, handed.rfm.recency),
      frequency: subtractSketch(totals.rfm.frequency, handed.rfm.frequency),
      monetary: subtractSketch(totals.rfm.monetary, handed.rfm.monetary),
    },
    clv: subtractSketch(totals.clv, handed.clv),
    ...(scalars ?? {
      sessionGap: [0, 0, 0],
      sessions: 0,
      intentSessions: 0,
      pooledGaps: emptyGaps(),
      returns: emptyReturns,
    }),
  };
  return isEmpty(others) ? null : others;
}

/** One partial of everything the parts hold (tests: the merge of all partitions equals one summary fed everything). */
export function mergePartials(parts: readonly GlobalPartial[]): GlobalPartial | null {
  const b = broadcastOf(parts);
  if (b === null) return null;
  const { sessionGap, sessions, intentSessions, pooledGaps, returns } = joinScalars(parts[0]!, b.scalars[0] ?? null)!;
  return { ...b.totals, sessionGap, sessions, intentSessions, pooledGaps, returns };
}

/** Holds nothing at all: installing it would change nothing. */
function isEmpty(p: GlobalPartial): boolean {
  const none = (s: QuantileSketchSnapshot) => s.under === 0 && s.counts.length === 0;
  return (
    none(p.rfm.recency) &&
    none(p.rfm.frequency) &&
    none(p.rfm.monetary) &&
    none(p.clv) &&
    scalarsEmpty(p) &&
    returnsEmpty(p.returns)
  );
}

/** What a partition's share holds besides its processes' own state: its own twins and the others' part in force. */
export interface GlobalShareSnapshot {
  ownRfm: RfmSnapshot;
  ownClv: QuantileSketchSnapshot;
  /** Absent in captures taken before the return hazard was shared: then the view is taken as own. */
  ownReturns?: ReturnHazardSnapshot;
  others: GlobalPartial | null;
  handed: [number, SketchPart][];
}

/**
 * A partition's side of the state across customers (docs/architecture.md, "Partitions"):
 * the processes keep *views* (the RFM sketches and CLV sketch they query and update) equal
 * to the others' part at the last sync point merged with this partition's own live state;
 * the share keeps the partition's own exact sketches beside them (twins that get the same
 * updates), which is what it hands over at the next sync point. Session moments and counts
 * and pooled gaps need no twin: the processes keep their own and add the others' part when
 * they read them. The single-threaded engine has no share: its views are its own state.
 */
export class GlobalShare {
  readonly ownRfm: RfmPopulation;
  readonly ownClv: QuantileSketch;
  readonly ownReturns: ReturnHazard;
  /** The others' part installed at the last sync point; null before one (or with nobody else). */
  others: GlobalPartial | null = null;
  /** The sketches it handed at the sync points whose broadcasts are not installed yet, by marker. */
  handed: [number, SketchPart][] = [];

  constructor(clvQuantile: QuantileSketch, returns: ReturnHazard) {
    this.ownRfm = new RfmPopulation();
    this.ownClv = new QuantileSketch(clvQuantile.mapping);
    this.ownReturns = new ReturnHazard(returns.unitMs, returns.cells);
  }

  snapshot(): GlobalShareSnapshot {
    return {
      ownRfm: this.ownRfm.snapshot(),
      ownClv: this.ownClv.snapshot(),
      ownReturns: this.ownReturns.snapshot(),
      others: this.others,
      handed: this.handed,
    };
  }

  restore(s: GlobalShareSnapshot): void {
    this.ownRfm.restore(s.ownRfm);
    this.ownClv.restore(s.ownClv);
    if (s.ownReturns !== undefined) this.ownReturns.restore(s.ownReturns);
    this.others = s.others;
    this.handed = s.handed;
  }
}
