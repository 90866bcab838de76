import { behaviourFeatures } from './behaviour.js';
import { squaredDistance, type Clustering } from './kmeans.js';

/**
 * Stable cluster ids across refreshes: each new centroid takes the id of the previous
 * centroid it is matched to, the pairs taken closest first (greedy matching on squared
 * distance), so a cluster that moved a little keeps its id and is not renumbered. New
 * centroids left over (k grew) take fresh ids.
 */
export function matchIds(previous: Clustering | undefined, previousIds: readonly number[], next: Clustering): number[] {
  const ids = new Array<number>(next.k).fill(-1);
  if (previous === undefined) return ids.map((_, q) => q);
  const pairs: [number, number, number][] = [];
  for (let p = 0; p < previous.k; p++) {
    for (let q = 0; q < next.k; q++)
      pairs.push([squaredDistance(previous.centroids, p, next.centroids, q, next.dimensions), p, q]);
  }
  pairs.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  const usedPrev = new Set<number>();
  for (const [, p, q] of pairs) {
    if (usedPrev.has(p) || ids[q] !== -1) continue;
    usedPrev.add(p);
    ids[q] = previousIds[p]!;
  }
  let fresh = Math.max(-1, ...previousIds) + 1;
  for (let q = 0; q < next.k; q++) if (ids[q] === -1) ids[q] = fresh++;
  return ids;
}

/**
 * A cluster's label: its centroid's most distinctive features, the two largest |z| (the
 * centroid is in standardised units), as `high_frequency_low_recency`.
 */
export function clusterLabel(c: Clustering, q: number): string {
  const z = Array.from({ length: c.dimensions }, (_, j) => ({ j, v: c.centroids[q * c.dimensions + j]! }));
  z.sort((a, b) => Math.abs(b.v) - Math.abs(a.v) || a.j - b.j);
  return z
    .slice(0, 2)
    .map(({ j, v }) => `${v >= 0 ? 'high' : 'low'}_${behaviourFeatures[j]}`)
    .join('_');
}
