import type { QuantileSketchSnapshot } from '../quantile-sketch.js';
import type { PooledGaps } from '../refit-job.js';
import type { RfmSnapshot } from '../rfm.js';
import type { ReturnHazardSnapshot } from '../return-hazard.js';

/**
 * `merge(a, b)` of the analytics' mergeable summaries, on their snapshot data (what a
 * partition hands over at a watermark-aligned point). Each is associative and commutative
 * up to floating-point rounding, so partials can be combined in any grouping.
 */

/** Buckets a sketch holds at most unless told otherwise (`QuantileSketch`'s default). */
const SKETCH_MAX_BUCKETS = 4096;

/**
 * Two quantile sketches over the same bucket mapping as one: both brought to the coarser
 * resolution (a bucket at level L is ⌊fine / 2^L⌋, so coarsening is exact), counts added,
 * and adjacent pairs merged while the occupied span exceeds `maxBuckets`, as the sketch
 * itself does when it widens. The result is what one sketch fed both streams holds when
 * neither merge had to coarsen further than the other.
 */
export function mergeSketches(
  a: QuantileSketchSnapshot,
  b: QuantileSketchSnapshot,
  maxBuckets = SKETCH_MAX_BUCKETS,
): QuantileSketchSnapshot {
  if (a.mapping !== b.mapping) throw new Error(`cannot merge quantile sketches over ${a.mapping} and ${b.mapping}`);
  const parts = [a, b].filter((s) => s.counts.some((c) => c > 0));
  if (parts.length === 0) return { mapping: a.mapping, level: 0, under: a.under + b.under, first: 0, counts: [] };
  let level = Math.max(...parts.map((s) => s.level));
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of parts) {
    const f = 2 ** (level - s.level);
    lo = Math.min(lo, Math.floor(s.first / f));
    hi = Math.max(hi, Math.floor((s.first + s.counts.length - 1) / f));
  }
  while (hi - lo + 1 > maxBuckets) {
    lo = Math.floor(lo / 2);
    hi = Math.floor(hi / 2);
    level++;
  }
  const counts = new Float64Array(hi - lo + 1);
  for (const s of parts) {
    const f = 2 ** (level - s.level);
    for (let k = 0; k < s.counts.length; k++)
      if (s.counts[k]! > 0) counts[Math.floor((s.first + k) / f) - lo]! += s.counts[k]!;
  }
  // Trimmed to the occupied range, as a sketch's own snapshot is.
  return trimmed(a.mapping, level, a.under + b.under, lo, counts);
}

/**
 * Many quantile sketches as one, in one pass over dense counts: what folding `mergeSketches`
 * over them gives (tested), without the intermediate sketches. The level is the coarsest
 * any part holds, raised while the occupied span exceeds `maxBuckets`.
 */
export function mergeManySketches(
  parts: readonly QuantileSketchSnapshot[],
  maxBuckets = SKETCH_MAX_BUCKETS,
): QuantileSketchSnapshot {
  if (parts.length === 0) throw new Error('mergeManySketches: nothing to merge');
  const mapping = parts[0]!.mapping;
  let under = 0;
  let level = 0;
  const held: QuantileSketchSnapshot[] = [];
  for (const s of parts) {
    if (s.mapping !== mapping) throw new Error(`cannot merge quantile sketches over ${mapping} and ${s.mapping}`);
    under += s.under;
    if (s.counts.some((c) => c > 0)) {
      held.push(s);
      level = Math.max(level, s.level);
    }
  }
  if (held.length === 0) return { mapping, level: 0, under, first: 0, counts: [] };
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of held) {
    const f = 2 ** (level - s.level);
    lo = Math.min(lo, Math.floor(s.first / f));
    hi = Math.max(hi, Math.floor((s.first + s.counts.length - 1) / f));
  }
  while (hi - lo + 1 > maxBuckets) {
    lo = Math.floor(lo / 2);
    hi = Math.floor(hi / 2);
    level++;
  }
  const counts = new Float64Array(hi - lo + 1);
  for (const s of held) {
    const f = 2 ** (level - s.level);
    const c = s.counts;
    for (let k = 0; k < c.length; k++) if (c[k]! > 0) counts[Math.floor((s.first + k) / f) - lo]! += c[k]!;
  }
  return trimmed(mapping, level, under, lo, counts);
}

/**
 * `total` without `part`, where `part` is one of the sketches `total` was merged from: the
 * part's counts brought to the total's (coarser or equal) level and taken away, exactly.
 */
export function subtractSketch(total: QuantileSketchSnapshot, part: QuantileSketchSnapshot): QuantileSketchSnapshot {
  if (total.mapping !== part.mapping)
    throw new Error(`cannot subtract quantile sketches over ${total.mapping} and ${part.mapping}`);
  if (part.level > total.level) throw new Error('subtractSketch: the part is coarser than the total');
  const counts = new Float64Array(total.counts.length);
  for (let k = 0; k < counts.length; k++) counts[k] = total.counts[k]!;
  const f = 2 ** (total.level - part.level);
  for (let k = 0; k < part.counts.length; k++) {
    const c = part.counts[k]!;
    if (c === 0) continue;
    const i = Math.floor((part.first + k) / f) - total.first;
    if (i < 0 || i >= counts.length || counts[i]! < c) throw new Error('subtractSketch: the part is not in the total');
    counts[i]! -= c;
  }
  if (part.under > total.under) throw new Error('subtractSketch: the part is not in the total');
  return trimmed(total.mapping, total.level, total.under - part.under, total.first, counts);
}

/** Dense counts from bucket `lo` on, trimmed to the occupied range as a sketch's own snapshot is. */
function trimmed(
  mapping: string,
  level: number,
  under: number,
  lo: number,
  counts: Float64Array,
): QuantileSketchSnapshot {
  let first = 0;
  while (first < counts.length && counts[first] === 0) first++;
  if (first === counts.length) return { mapping, level: 0, under, first: 0, counts: [] };
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const out: number[] = [];
  for (let k = first; k <= last; k++) out.push(counts[k]!);
  return { mapping, level, under, first: lo + first, counts: out };
}

/** Two partitions' RFM populations: each of the three sketches merged. */
export function mergeRfm(a: RfmSnapshot, b: RfmSnapshot): RfmSnapshot {
  return {
    recency: mergeSketches(a.recency, b.recency),
    frequency: mergeSketches(a.frequency, b.frequency),
    monetary: mergeSketches(a.monetary, b.monetary),
  };
}

/** Running means and sums of squared deviations as `RunningGap` snapshots them: [count, mean, M2] (Chan et al.'s parallel update). */
export function mergeRunningMoments(
  a: readonly [number, number, number],
  b: readonly [number, number, number],
): [number, number, number] {
  const [na, ma, m2a] = a;
  const [nb, mb, m2b] = b;
  const n = na + nb;
  if (n === 0) return [0, 0, 0];
  const delta = mb - ma;
  return [n, ma + (delta * nb) / n, m2a + m2b + (delta * delta * na * nb) / n];
}

/** Pooled purchase gaps of two partitions' walks. */
export function mergePooledGaps(a: PooledGaps, b: PooledGaps): PooledGaps {
  const [count, meanMs, m2] = mergeRunningMoments([a.count, a.meanMs, a.m2], [b.count, b.meanMs, b.m2]);
  return { count, meanMs, varianceMs2: count > 1 ? m2 / (count - 1) : 0, m2 };
}

/** Counters that add up over partitions. */
export function sumCounts(a: number, b: number): number {
  return a + b;
}

/**
 * Two partitions' return hazards (each over its own buyers) as one: spell counts add up
 * cell by cell; open spells that either side has already folded (started long ago) are
 * folded in both, which is how one table over all buyers would hold them.
 */
export function mergeReturnHazards(a: ReturnHazardSnapshot, b: ReturnHazardSnapshot): ReturnHazardSnapshot {
  if (a.unitMs !== b.unitMs || a.cells !== b.cells)
    throw new Error('return hazards of different units or sizes do not merge');
  const sum = (x: number[], y: number[]) => x.map((v, i) => v + y[i]!);
  const foldedBelow = Math.max(a.foldedBelow, b.foldedBelow);
  const foldedCount = sum(a.foldedCount, b.foldedCount);
  const foldedStart = sum(a.foldedStart, b.foldedStart);
  const open = new Map<string, number[]>();
  for (const [c, cell, count, start] of [...a.open, ...b.open] as [number, number, number, number][]) {
    if (cell < foldedBelow) {
      foldedCount[c]! += count;
      foldedStart[c]! += start;
      continue;
    }
    const key = `${c}:${cell}`;
    const entry = open.get(key);
    if (entry === undefined) open.set(key, [c, cell, count, start]);
    else {
      entry[2]! += count;
      entry[3]! += start;
    }
  }
  return {
    unitMs: a.unitMs,
    cells: a.cells,
    latest: Math.max(a.latest, b.latest),
    returns: sum(a.returns, b.returns),
    ended: sum(a.ended, b.ended),
    endedFraction: sum(a.endedFraction, b.endedFraction),
    endedBeyond: sum(a.endedBeyond, b.endedBeyond),
    open: [...open.values()].sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!),
    foldedCount,
    foldedStart,
    foldedBelow,
  };
}
