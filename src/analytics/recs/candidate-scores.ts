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
  /** Open-addressing table: item per slot, and where that item's entry is in the arrays below. */
  private keys = new Int32Array(256);
  private entryOf = new Int32Array(256);
  /**
   * The query's candidates, in insertion order, side by side: item, score and slot. The
   * passes that rank (`topDividedBy`, `top`) read them in this order, a few cache lines
   * in a row, where reading scores at their hashed slots touched a line per candidate
   * (between two queries the engine's other work evicts them). Same order, same sums.
   */
  private items = new Int32Array(128);
  private values = new Float64Array(128);
  private slots = new Int32Array(128);
  private count = 0;
  /** Scratch for `topDividedBy`: entries of the largest scores. */
  private largest = new Int32Array(16);
  /** Scratch for `top`: entries of the best so far, best first. */
  private best = new Int32Array(16);

  get size(): number {
    return this.count;
  }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.keys[this.slots[i]!] = EMPTY;
    this.count = 0;
  }

  add(item: number, score: number): void {
    if (item === EMPTY) return;
    const slot = this.slotOf(item);
    if (this.keys[slot] === item) {
      this.values[this.entryOf[slot]!]! += score;
      return;
    }
    if ((this.count + 1) * 2 > this.keys.length) {
      this.grow();
      this.add(item, score);
      return;
    }
    const at = this.count++;
    this.keys[slot] = item;
    this.entryOf[slot] = at;
    this.items[at] = item;
    this.values[at] = score;
    this.slots[at] = slot;
  }

  /** Divides each candidate's score by `norm(item)`: once per candidate, however many sources named it. */
  divideBy(norm: (item: number) => number): void {
    for (let i = 0; i < this.count; i++) this.values[i]! /= norm(this.items[i]!);
  }

  /**
   * `divideBy(norm)` then `top(k)` for a query that keeps only the `k` best: `norm` is a
   * fractional power (~80 ns), and most candidates of a query cannot reach the top. The k
   * largest scores before division are divided first; the smallest result is a floor under
   * the k-th best. Any other candidate whose score over `minNorm` (a lower bound of every
   * norm) is below that floor cannot be among the k best, so it is dropped (score 0) without
   * its norm; so is one whose score over `lowerNorm(item)` (a cheaper bound of its own norm,
   * if given) is. The answer is exactly `top(k)` after `divideBy`, and is ranked in the
   * pass that divides (one pass over the candidates fewer than dividing, then ranking).
   * Exclusions must be made before.
   */
  topDividedBy(
    norm: (item: number) => number,
    minNorm: number,
    k: number,
    lowerNorm?: (item: number) => number,
  ): ScoredItem[] {
    if (!(minNorm > 0) || k <= 0 || this.count <= k) {
      this.divideBy(norm);
      return this.top(k);
    }
    const first = this.largest;
    if (first.length < k) this.largest = new Int32Array(k);
    const largest = this.largest;
    const values = this.values;
    const items = this.items;
    // The k largest positive scores, by insertion (k is small: a handful).
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const v = values[i]!;
      if (!(v > 0)) continue;
      if (n === k && !(v > values[largest[n - 1]!]!)) continue;
      let at = n < k ? n++ : k - 1;
      while (at > 0 && values[largest[at - 1]!]! < v) {
        largest[at] = largest[at - 1]!;
        at--;
      }
      largest[at] = i;
    }
    if (n < k) {
      this.divideBy(norm);
      return this.top(k);
    }
    let floor = Infinity;
    for (let j = 0; j < k; j++) {
      const i = largest[j]!;
      values[i]! /= norm(items[i]!);
      floor = Math.min(floor, values[i]!);
      items[i] = -items[i]!; // marks "divided" until the loop below
    }
    // A margin far above rounding: a candidate this close to the floor gets its exact score.
    const cut = floor * (1 - 1e-9);
    if (this.best.length < k) this.best = new Int32Array(k);
    const best = this.best;
    let ranked = 0;
    for (let i = 0; i < this.count; i++) {
      let item = items[i]!;
      if (item < 0) {
        item = -item;
        items[i] = item;
      } else {
        const v = values[i]!;
        if (!(v > 0)) continue; // excluded or nothing: top() skips it whatever the norm
        if (v / minNorm < cut || (lowerNorm !== undefined && v / lowerNorm(item) < cut)) {
          values[i] = 0;
          continue;
        }
        values[i] = v / norm(item);
      }
      ranked = this.rank(best, ranked, k, i, item, values[i]!);
    }
    return this.answer(best, ranked);
  }

  /** Takes an item out of the ranking; call it after the query's last `add`. */
  exclude(item: number): void {
    if (item === EMPTY) return; // never a candidate (and an empty slot's entry is another item's)
    const slot = this.slotOf(item);
    if (this.keys[slot] === item) this.values[this.entryOf[slot]!] = -Infinity;
  }

  /** The k best items with a positive score, best first; equal scores rank the lower item number first. */
  top(k: number): ScoredItem[] {
    // Ranked as entries, so that only the answer's k objects are made (not one per candidate that passes through).
    if (this.best.length < k) this.best = new Int32Array(k);
    const best = this.best;
    let ranked = 0;
    for (let i = 0; i < this.count; i++) ranked = this.rank(best, ranked, k, i, this.items[i]!, this.values[i]!);
    return this.answer(best, ranked);
  }

  /**
   * Offers entry `i` (`item`, `score`) to the best `n` so far (`best`, best first, at most k);
   * returns how many are held after. Scores are compared, then items: a total order, so the
   * answer is the same in whatever order the entries are offered.
   */
  private rank(best: Int32Array, n: number, k: number, i: number, item: number, score: number): number {
    if (!(score > 0)) return n;
    const items = this.items;
    const values = this.values;
    if (n === k) {
      const last = values[best[k - 1]!]!;
      if (score < last || (score === last && item > items[best[k - 1]!]!)) return n;
    }
    const held = n < k ? n + 1 : k;
    let at = held - 1;
    while (at > 0) {
      const above = best[at - 1]!;
      if (values[above]! > score || (values[above] === score && items[above]! < item)) break;
      best[at] = above;
      at--;
    }
    best[at] = i;
    return held;
  }

  private answer(best: Int32Array, n: number): ScoredItem[] {
    const answer: ScoredItem[] = [];
    for (let j = 0; j < n; j++) answer.push({ item: this.items[best[j]!]!, score: this.values[best[j]!]! });
    return answer;
  }

  private slotOf(item: number): number {
    const mask = this.keys.length - 1;
    let slot = (Math.imul(item, 0x9e3779b1) >>> 0) & mask;
    while (this.keys[slot] !== EMPTY && this.keys[slot] !== item) slot = (slot + 1) & mask;
    return slot;
  }

  /** Doubles the table and the entry arrays; entries keep their order (and so their sums' order). */
  private grow(): void {
    const size = this.keys.length * 2;
    this.keys = new Int32Array(size);
    this.entryOf = new Int32Array(size);
    const items = new Int32Array(size / 2);
    const values = new Float64Array(size / 2);
    items.set(this.items);
    values.set(this.values);
    this.items = items;
    this.values = values;
    this.slots = new Int32Array(size / 2);
    for (let i = 0; i < this.count; i++) {
      const slot = this.slotOf(items[i]!);
      this.keys[slot] = items[i]!;
      this.entryOf[slot] = i;
      this.slots[i] = slot;
    }
  }
}
