/**
 * Sums scores per candidate item for one recommendation query and ranks the best k.
 * An open-addressing table of typed arrays that is reused from query to query, so a query
 * allocates only its answer. Item 0 (the product dictionary's overflow) marks an empty slot,
 * so it can never be recommended.
 */
export interface ScoredItem {
  item: number;
  score: number;
}

const EMPTY = 0;

export class CandidateScores {
  private keys = new Int32Array(256);
  private values = new Float64Array(256);
  /** Slots in use, in insertion order, so a reset costs what the query used. */
  private used = new Int32Array(128);
  private count = 0;
  /** Scratch for `divideByForTop`: slots of the largest scores. */
  private largest = new Int32Array(16);
  /** Scratch for `top`: slots of the best so far, best first. */
  private best = new Int32Array(16);

  get size(): number {
    return this.count;
  }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.keys[this.used[i]!] = EMPTY;
    this.count = 0;
  }

  add(item: number, score: number): void {
    if (item === EMPTY) return;
    const slot = this.slotOf(item);
    if (this.keys[slot] === item) {
      this.values[slot]! += score;
      return;
    }
    if ((this.count + 1) * 2 > this.keys.length) {
      this.grow();
      this.add(item, score);
      return;
    }
    this.keys[slot] = item;
    this.values[slot] = score;
    this.used[this.count++] = slot;
  }

  /** Divides each candidate's score by `norm(item)`: once per candidate, however many sources named it. */
  divideBy(norm: (item: number) => number): void {
    for (let i = 0; i < this.count; i++) {
      const slot = this.used[i]!;
      this.values[slot]! /= norm(this.keys[slot]!);
    }
  }

  /**
   * `divideBy` for a query that keeps only the `k` best: `norm` is a fractional power (~80 ns),
   * and most candidates of a query cannot reach the top. The k largest scores before division
   * are divided first; the smallest result is a floor under the k-th best. Any other
   * candidate whose score over `minNorm` (a lower bound of every norm) is below that floor
   * cannot be among the k best, so it is dropped (score 0) without its norm; so is one
   * whose score over `lowerNorm(item)` (a cheaper bound of its own norm, if given) is.
   * `top(k)` then returns exactly what it would after `divideBy`. Exclusions must be made before.
   */
  divideByForTop(norm: (item: number) => number, minNorm: number, k: number, lowerNorm?: (item: number) => number): void {
    if (!(minNorm > 0) || k <= 0 || this.count <= k) {
      this.divideBy(norm);
      return;
    }
    const first = this.largest;
    if (first.length < k) this.largest = new Int32Array(k);
    const largest = this.largest;
    // The k largest positive scores, by insertion (k is small: a handful).
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const slot = this.used[i]!;
      const v = this.values[slot]!;
      if (!(v > 0)) continue;
      if (n === k && !(v > this.values[largest[n - 1]!]!)) continue;
      let at = n < k ? n++ : k - 1;
      while (at > 0 && this.values[largest[at - 1]!]! < v) {
        largest[at] = largest[at - 1]!;
        at--;
      }
      largest[at] = slot;
    }
    if (n < k) {
      this.divideBy(norm);
      return;
    }
    let floor = Infinity;
    for (let j = 0; j < k; j++) {
      const slot = largest[j]!;
      this.values[slot]! /= norm(this.keys[slot]!);
      floor = Math.min(floor, this.values[slot]!);
      this.keys[slot] = -this.keys[slot]!; // marks "divided" until the loop below
    }
    // A margin far above rounding: a candidate this close to the floor gets its exact score.
    const cut = floor * (1 - 1e-9);
    for (let i = 0; i < this.count; i++) {
      const slot = this.used[i]!;
      const item = this.keys[slot]!;
      if (item < 0) {
        this.keys[slot] = -item;
        continue;
      }
      const v = this.values[slot]!;
      if (!(v > 0)) continue; // excluded or nothing: top() skips it whatever the norm
      if (v / minNorm < cut || (lowerNorm !== undefined && v / lowerNorm(item) < cut)) this.values[slot] = 0;
      else this.values[slot] = v / norm(item);
    }
  }

  /** Takes an item out of the ranking; call it after the query's last `add`. */
  exclude(item: number): void {
    const slot = this.slotOf(item);
    if (this.keys[slot] === item) this.values[slot] = -Infinity;
  }

  /** The k best items with a positive score, best first; equal scores rank the lower item number first. */
  top(k: number): ScoredItem[] {
    // Ranked as slots, so that only the answer's k objects are made (not one per candidate that passes through).
    if (this.best.length < k) this.best = new Int32Array(k);
    const best = this.best;
    const keys = this.keys;
    const values = this.values;
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const slot = this.used[i]!;
      const score = values[slot]!;
      if (!(score > 0)) continue;
      const item = keys[slot]!;
      if (n === k) {
        const last = values[best[k - 1]!]!;
        if (score < last || (score === last && item > keys[best[k - 1]!]!)) continue;
      }
      let at = n < k ? n++ : k - 1;
      while (at > 0) {
        const above = best[at - 1]!;
        if (values[above]! > score || (values[above] === score && keys[above]! < item)) break;
        best[at] = above;
        at--;
      }
      best[at] = slot;
    }
    const answer: ScoredItem[] = [];
    for (let j = 0; j < n; j++) answer.push({ item: keys[best[j]!]!, score: values[best[j]!]! });
    return answer;
  }

  private slotOf(item: number): number {
    const mask = this.keys.length - 1;
    let slot = (Math.imul(item, 0x9e3779b1) >>> 0) & mask;
    while (this.keys[slot] !== EMPTY && this.keys[slot] !== item) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    const used = this.used;
    const count = this.count;
    this.keys = new Int32Array(keys.length * 2);
    this.values = new Float64Array(keys.length * 2);
    this.used = new Int32Array(keys.length);
    this.count = 0;
    for (let i = 0; i < count; i++) {
      const slot = used[i]!;
      this.add(keys[slot]!, values[slot]!);
    }
  }
}
