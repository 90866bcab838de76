import { QuantileSketch, type QuantileSketchSnapshot } from '../quantile-sketch.js';
import type { PooledGaps } from '../refit-job.js';
import { RfmPopulation, type RfmSnapshot } from '../rfm.js';
import { mergePooledGaps, mergeRfm, mergeRunningMoments, mergeSketches } from './merges.js';

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
}

/**
 * The partials of several partitions as one, merged in the order given (the caller fixes it:
 * partition order), so the result is a pure function of the partials and never of which
 * thread merged them or when. Null for no partial at all.
 */
export function mergePartials(parts: readonly GlobalPartial[]): GlobalPartial | null {
  if (parts.length === 0) return null;
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i++) out = mergeTwo(out, parts[i]!);
  return out;
}

function mergeTwo(a: GlobalPartial, b: GlobalPartial): GlobalPartial {
  return {
    rfm: mergeRfm(a.rfm, b.rfm),
    clv: mergeSketches(a.clv, b.clv),
    sessionGap: mergeRunningMoments(a.sessionGap, b.sessionGap),
    sessions: a.sessions + b.sessions,
    intentSessions: a.intentSessions + b.intentSessions,
    pooledGaps: mergePooledGaps(a.pooledGaps, b.pooledGaps),
  };
}

/**
 * For each of `parts` (index i), the merge of all the others' partials ("the others' part"),
 * by prefix and suffix merges: O(n) merges instead of O(n²). Entry i is null when no other
 * partition holds anything. Pure: the same partials give the same result, bit for bit.
 */
export function othersParts(parts: readonly (GlobalPartial | null)[]): (GlobalPartial | null)[] {
  const n = parts.length;
  const prefix: (GlobalPartial | null)[] = new Array(n + 1).fill(null);
  const suffix: (GlobalPartial | null)[] = new Array(n + 1).fill(null);
  for (let i = 0; i < n; i++) prefix[i + 1] = join(prefix[i]!, parts[i]!);
  for (let i = n - 1; i >= 0; i--) suffix[i] = join(parts[i]!, suffix[i + 1]!);
  return parts.map((_, i) => {
    const out = join(prefix[i]!, suffix[i + 1]!);
    return out === null || isEmpty(out) ? null : out;
  });
}

function join(a: GlobalPartial | null, b: GlobalPartial | null): GlobalPartial | null {
  if (a === null) return b;
  if (b === null) return a;
  return mergeTwo(a, b);
}

/** Holds nothing at all: installing it would change nothing. */
export function isEmpty(p: GlobalPartial): boolean {
  const none = (s: QuantileSketchSnapshot) => s.under === 0 && s.counts.length === 0;
  return (
    none(p.rfm.recency) &&
    none(p.rfm.frequency) &&
    none(p.rfm.monetary) &&
    none(p.clv) &&
    p.sessionGap[0] === 0 &&
    p.sessions === 0 &&
    p.intentSessions === 0 &&
    p.pooledGaps.count === 0
  );
}

/** What a partition's share holds besides its processes' own state: its own twins and the others' part in force. */
export interface GlobalShareSnapshot {
  ownRfm: RfmSnapshot;
  ownClv: QuantileSketchSnapshot;
  others: GlobalPartial | null;
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
  /** The others' part installed at the last sync point; null before one (or with nobody else). */
  others: GlobalPartial | null = null;

  constructor(clvQuantile: QuantileSketch) {
    this.ownRfm = new RfmPopulation();
    this.ownClv = new QuantileSketch(clvQuantile.mapping);
  }

  snapshot(): GlobalShareSnapshot {
    return { ownRfm: this.ownRfm.snapshot(), ownClv: this.ownClv.snapshot(), others: this.others };
  }

  restore(s: GlobalShareSnapshot): void {
    this.ownRfm.restore(s.ownRfm);
    this.ownClv.restore(s.ownClv);
    this.others = s.others;
  }
}
