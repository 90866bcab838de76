import { CandidateScores, type ScoredItem } from './candidate-scores.js';
import { ForwardDecay } from './forward-decay.js';
import { NeighbourTable, type NeighbourTableSnapshot } from './neighbour-table.js';
import { PowerFloor } from './power-floor.js';

/**
 * Item-to-item recommendations learned from the stream, one event at a time.
 *
 * Two co-occurrence tables, both decayed on event time and bounded (see `NeighbourTable`):
 * - co-views: a view of b `g` steps after a view of a in the same session (g ≤ sessionSteps)
 *   adds 1/g^gapExponent to the pair a → b and `backwardWeight` times that to b → a.
 *   Forward pairs carry the order of browsing
 *   (what people look at *next*, as in sequential rules), backward pairs the plain
 *   "viewed together" of item-kNN. A repeated view adds to a → a: people do return to what
 *   they just saw; callers that must not show the current item pass it in `exclude`.
 * - co-purchases: every pair of items in one order, both ways ("bought together").
 *
 * Scores are pure functions of those counters at query time. The similarity of b to a is
 *
 *     sim(a, b) = w(a → b) / ((n_a + λ)^α · (n_b + λ)^(1 − α))
 *
 * with n the item's decayed event count and λ a shrinkage that keeps rare items from
 * looking perfectly similar: α = 1/2 is item-kNN's cosine, α = 1 the confidence of an
 * association rule; values between correct for the pull of popular items without ignoring
 * it (next clicks do favour popular items). A customer's recommendations add up the
 * neighbours of their recent items, the j-th most recent weighted by `recencyWeight^j`.
 *
 * Updates cost O(sessionSteps × neighboursPerItem) comparisons and allocate nothing;
 * a query costs O(recent items × neighboursPerItem) and allocates only its answer.
 * Memory: per table, 4 bytes per possible item number (the row index) plus, for each of at
 * most `maxItems` items, 20 bytes and 8 per neighbour slot; rows are allocated as items
 * arrive, so a small catalogue costs little. With the defaults at their caps: co-views
 * 100k × (20 + 32 × 8) B ≈ 28 MB, co-purchases ≈ 15 MB, row indexes 2 × 4 MB.
 * Items are the product dictionary's integers; 0 (its overflow) is never learned nor
 * recommended.
 */
export interface ItemNeighboursConfig {
  /** Items holding statistics at most; past it the least recently touched item's are reused. */
  readonly maxItems: number;
  /** Item numbers at or above this are ignored (the product dictionary's `maxProducts + 1`). */
  readonly maxItemIndex: number;
  /** Co-view neighbours kept per item: pair counters ≤ maxItems × this. */
  readonly neighboursPerItem: number;
  /** Co-purchase neighbours kept per item. */
  readonly purchaseNeighboursPerItem: number;
  /** Half-life of every count in event time; Infinity for no decay. */
  readonly halfLifeMs: number;
  /** How many of the session's preceding items a view pairs with. */
  readonly sessionSteps: number;
  /** A pair `gap` steps apart weighs 1/gap^this (1: sequential rules' 1/gap, 2: 1/gap²). */
  readonly gapExponent: number;
  /** Weight of the pair later → earlier relative to earlier → later. */
  readonly backwardWeight: number;
  /** Popularity correction α in sim(a, b) (0.5 cosine .. 1 confidence). */
  readonly alpha: number;
  /** Shrinkage λ, in events. */
  readonly shrinkage: number;
  /** In `recommend`, each step back in the customer's recent items multiplies its weight by this. */
  readonly recencyWeight: number;
  /**
   * Reminders: in `recommend`, each of the customer's recent items also scores this times the
   * learned rate at which a view returns to the item that many steps back (0: off).
   */
  readonly reminderWeight: number;
}

/**
 * The model's settings (gap, backward, α, λ, recency, steps, half-life, neighbours) were
 * chosen on a validation split of the YOOCHOOSE training sample: sessions ending in its last
 * day held out, as session-rec's train_tr / train_valid split does; never on the test file.
 * Differences between neighbouring settings were within a point of hit rate.
 */
export const defaultItemNeighboursConfig: ItemNeighboursConfig = {
  maxItems: 100_000,
  maxItemIndex: 1_000_001,
  neighboursPerItem: 32,
  purchaseNeighboursPerItem: 16,
  halfLifeMs: 7 * 86_400_000,
  sessionSteps: 4,
  gapExponent: 2,
  backwardWeight: 0.35,
  alpha: 0.9,
  shrinkage: 5,
  recencyWeight: 0.3,
  reminderWeight: 0.75,
};

/** The default `exclude`: one empty list, not one per query. */
const NO_ITEMS: readonly number[] = [];

/** Steps back a reminder reaches at most (the engine's recent-items ring is shorter). */
const MAX_REMINDER_STEPS = 16;

/** Items of one order considered for co-purchases (the rest are ignored): pairs grow with its square. */
const MAX_ORDER_ITEMS = 32;

export interface ItemNeighboursSnapshot {
  version: 1;
  landmark: number;
  latest: number;
  coViews: NeighbourTableSnapshot;
  coPurchases: NeighbourTableSnapshot;
  /** Decayed views with at least g items before them, and those that returned to the item g steps back (index g); absent before reminders. */
  reminders?: { views: number[]; returns: number[] };
}

export interface ItemNeighboursStats {
  items: number;
  pairs: number;
  bytes: number;
  evictions: number;
}

export class ItemNeighbours {
  readonly config: ItemNeighboursConfig;
  private readonly coViews: NeighbourTable;
  private readonly coPurchases: NeighbourTable;
  private readonly decay: ForwardDecay;
  private readonly candidates = new CandidateScores();
  /** Pair weight by gap (1/gap^gapExponent), computed once: updates are the hot path. */
  private readonly gapWeights: Float64Array;
  /** Index g: decayed views with at least g items before them, and those that were the item g steps back. */
  private readonly viewsAfter = new Float64Array(MAX_REMINDER_STEPS + 1);
  private readonly returnsTo = new Float64Array(MAX_REMINDER_STEPS + 1);
  /** The distinct items of the order being learned. */
  private readonly orderItems = new Int32Array(MAX_ORDER_ITEMS);
  /** Latest event time seen: the default "now" of queries. */
  private latest = -Infinity;
  /** λ^(1−α), the least norm for α < 1 (0 otherwise), computed once: `ranked` is per query. */
  private readonly minNorm: number;
  /** Lower bounds of (n_b + λ)^(1−α) for 0 < α < 1, to skip the norms of candidates that cannot rank. */
  private readonly normFloor: PowerFloor | undefined;
  /** The table and scale of the query being ranked: what `norm` and `lowerNorm` read. */
  private normTable: NeighbourTable;
  private normScale = 1;
  /** (n_b + λ)^(1−α) as of the query, and a lower bound of it: made once, not two closures per query. */
  private readonly norm = (b: number): number =>
    (this.normTable.itemWeightOf(b) * this.normScale + this.config.shrinkage) ** (1 - this.config.alpha);
  private readonly lowerNorm: ((b: number) => number) | undefined;

  constructor(config: Partial<ItemNeighboursConfig> = {}) {
    this.config = { ...defaultItemNeighboursConfig, ...config };
    const c = this.config;
    this.coViews = new NeighbourTable(c.maxItems, c.neighboursPerItem, c.maxItemIndex);
    this.coPurchases = new NeighbourTable(c.maxItems, c.purchaseNeighboursPerItem, c.maxItemIndex);
    this.decay = new ForwardDecay(c.halfLifeMs);
    this.gapWeights = new Float64Array(c.sessionSteps + 1);
    for (let gap = 1; gap <= c.sessionSteps; gap++) this.gapWeights[gap] = 1 / gap ** c.gapExponent;
    this.minNorm = c.alpha < 1 ? c.shrinkage ** (1 - c.alpha) : 0;
    this.normFloor =
      c.alpha > 0 && c.alpha < 1 && this.minNorm > 0 ? new PowerFloor(1 - c.alpha, this.minNorm) : undefined;
    this.normTable = this.coViews;
    const floor = this.normFloor;
    this.lowerNorm = floor && ((b) => floor.at(this.normTable.itemWeightOf(b) * this.normScale + c.shrinkage));
  }

  /**
   * Learns a view of `item` at `ts` (ms). `sessionBefore` holds the items viewed before it in
   * the same session, most recent last (the caller's per-customer ring; only the last
   * `sessionSteps` are read). `length` lets a caller pass a reused buffer without slicing it.
   */
  observeView(sessionBefore: ArrayLike<number>, item: number, ts: number, length = sessionBefore.length): void {
    const w = this.weightAt(ts);
    const views = this.coViews;
    let row = views.ensureRow(item);
    if (row < 0) return;
    views.addItemWeight(row, w);
    if (this.config.reminderWeight > 0) this.countReturn(sessionBefore, item, w, length);
    const back = this.config.backwardWeight;
    const steps = Math.min(this.config.sessionSteps, length);
    for (let gap = 1; gap <= steps; gap++) {
      const earlier = sessionBefore[length - gap]!;
      const wg = w * this.gapWeights[gap]!;
      const evictions = views.evictions;
      const from = views.ensureRow(earlier);
      if (from < 0) continue;
      views.addPair(from, item, wg);
      if (back > 0 && earlier !== item) {
        // Making `earlier`'s row may have evicted `item`'s: only then is it looked up again
        // (as ensureRow, which also marks it referenced, as every lookup here did).
        row = views.evictions === evictions ? views.touch(row) : views.ensureRow(item);
        views.addPair(row, earlier, back * wg);
      }
    }
  }

  /** Learns one order: each item is counted once, and each pair of distinct items both ways. */
  observeOrder(items: ArrayLike<number>, ts: number): void {
    const w = this.weightAt(ts);
    const table = this.coPurchases;
    const distinct = this.orderItems;
    let n = 0;
    for (let i = 0; i < items.length && n < MAX_ORDER_ITEMS; i++) {
      const item = items[i]!;
      let seen = false;
      for (let j = 0; j < n && !seen; j++) seen = distinct[j] === item;
      if (!seen) distinct[n++] = item;
    }
    for (let i = 0; i < n; i++) {
      const row = table.ensureRow(distinct[i]!);
      if (row >= 0) table.addItemWeight(row, w);
    }
    // Once per item, not per pair: adding pairs makes and evicts no row, so its row stays the same.
    for (let i = 0; i < n && n > 1; i++) {
      const row = table.ensureRow(distinct[i]!);
      if (row < 0) continue;
      for (let j = 0; j < n; j++) if (i !== j) table.addPair(row, distinct[j]!, w);
    }
  }

  /** Items most often viewed around `item` (never `item` itself), best first. */
  similar(item: number, k: number, now = this.latest): ScoredItem[] {
    this.candidates.clear();
    const scale = this.scaleAt(now);
    this.addNeighbours(this.coViews, item, 1, scale);
    return this.ranked(this.coViews, scale, [item], k);
  }

  /**
   * Recommendations for a customer from their recent items (most recent last), best first.
   * `exclude` holds items not to show (e.g. what was just bought, or what is on screen).
   */
  recommend(recentItems: ArrayLike<number>, exclude: Iterable<number>, k: number, now = this.latest): ScoredItem[] {
    this.candidates.clear();
    const scale = this.scaleAt(now);
    let weight = 1;
    for (let j = recentItems.length - 1; j >= 0; j--) {
      this.addNeighbours(this.coViews, recentItems[j]!, weight, scale);
      weight *= this.config.recencyWeight;
    }
    // A caller that excludes its own recent items (as the engine's do) would discard every reminder.
    if (this.config.reminderWeight > 0 && (exclude as unknown) !== recentItems) this.addReminders(recentItems);
    return this.ranked(this.coViews, scale, exclude, k);
  }

  /** "Frequently bought together" for the items of an order; the order's own items are left out. */
  crossSell(
    orderItems: ArrayLike<number>,
    k: number,
    now = this.latest,
    exclude: Iterable<number> = NO_ITEMS,
  ): ScoredItem[] {
    this.candidates.clear();
    const scale = this.scaleAt(now);
    for (let i = 0; i < orderItems.length; i++) this.addNeighbours(this.coPurchases, orderItems[i]!, 1, scale);
    for (let i = 0; i < orderItems.length; i++) this.candidates.exclude(orderItems[i]!);
    return this.ranked(this.coPurchases, scale, exclude, k);
  }

  stats(): { coViews: ItemNeighboursStats; coPurchases: ItemNeighboursStats } {
    const of = (t: NeighbourTable): ItemNeighboursStats => ({
      items: t.items,
      pairs: t.pairs,
      bytes: t.bytes,
      evictions: t.evictions,
    });
    return { coViews: of(this.coViews), coPurchases: of(this.coPurchases) };
  }

  /** Plain data (numbers and byte arrays) for the engine's msgpack state snapshot. */
  snapshot(): ItemNeighboursSnapshot {
    return {
      version: 1,
      landmark: this.decay.landmark,
      latest: this.latest,
      coViews: this.coViews.snapshot(),
      coPurchases: this.coPurchases.snapshot(),
      reminders: { views: [...this.viewsAfter], returns: [...this.returnsTo] },
    };
  }

  /** Throws RangeError when the snapshot does not fit this model's bounds. */
  restore(s: ItemNeighboursSnapshot): void {
    if (s.version !== 1) throw new RangeError(`unknown recommendations snapshot version ${String(s.version)}`);
    // Both checked before either changes, so a refused snapshot leaves the model as it was.
    this.coViews.check(s.coViews);
    this.coPurchases.check(s.coPurchases);
    const r = s.reminders;
    if (r !== undefined && (r.views.length !== this.viewsAfter.length || r.returns.length !== this.returnsTo.length)) {
      throw new RangeError(
        `recommendations snapshot holds ${r.views.length} reminder steps, not ${this.viewsAfter.length}`,
      );
    }
    this.coViews.restore(s.coViews);
    this.viewsAfter.set(r?.views ?? []);
    this.returnsTo.set(r?.returns ?? []);
    if (r === undefined) {
      this.viewsAfter.fill(0);
      this.returnsTo.fill(0);
    }
    this.coPurchases.restore(s.coPurchases);
    this.decay.landmark = s.landmark;
    this.latest = s.latest;
  }

  /** Counts whether a view returned to one of the items before it: the nearest such step only. */
  private countReturn(sessionBefore: ArrayLike<number>, item: number, w: number, length: number): void {
    const steps = Math.min(MAX_REMINDER_STEPS, length);
    let found = false;
    for (let gap = 1; gap <= steps; gap++) {
      this.viewsAfter[gap]! += w;
      if (!found && sessionBefore[length - gap] === item) {
        this.returnsTo[gap]! += w;
        found = true;
      }
    }
  }

  /**
   * Adds to each recent item the model knows `reminderWeight` × the rate of returns to an item
   * that many steps back (the nearest occurrence of an item counts, as in `countReturn`). The rates are
   * ratios of counters on one scale, so they need no decay factor.
   */
  private addReminders(recentItems: ArrayLike<number>): void {
    const n = recentItems.length;
    for (let gap = 1; gap <= Math.min(n, MAX_REMINDER_STEPS); gap++) {
      const item = recentItems[n - gap]!;
      let nearer = false;
      for (let g = 1; g < gap && !nearer; g++) nearer = recentItems[n - g] === item;
      const views = this.viewsAfter[gap]!;
      // Only items the model has learned (and may recommend): never item 0 nor an ignored one.
      if (nearer || !(views > 0) || this.coViews.rowOf(item) < 0) continue;
      this.candidates.add(item, (this.config.reminderWeight * this.returnsTo[gap]!) / views);
    }
  }

  /** Stored-unit weight of an event at `ts`, rebasing every counter first when it would grow too large. */
  private weightAt(ts: number): number {
    if (ts > this.latest) this.latest = ts;
    if (this.decay.needsRebase(ts)) {
      const factor = this.decay.rebase(ts);
      this.coViews.rescale(factor);
      this.coPurchases.rescale(factor);
      for (let gap = 0; gap <= MAX_REMINDER_STEPS; gap++) {
        this.viewsAfter[gap]! *= factor;
        this.returnsTo[gap]! *= factor;
      }
    }
    return this.decay.weightAt(ts);
  }

  /**
   * Adds `weight × w(source → b) / (n_source + λ)^α` for each neighbour b of `source`; the
   * other half of sim's denominator depends on b alone and is applied once per candidate
   * by `ranked`. Counts as of the query's time are stored units times `scale` (`scaleAt`).
   */
  private addNeighbours(table: NeighbourTable, source: number, weight: number, scale: number): void {
    const row = table.rowOf(source);
    if (row < 0 || weight === 0) return;
    const factor = (weight * scale) / (table.itemWeightAt(row) * scale + this.config.shrinkage) ** this.config.alpha;
    const neighbours = table.neighbours;
    const weights = table.weights;
    for (let s = table.neighbourStart(row), end = table.neighbourEnd(row); s < end; s++) {
      this.candidates.add(neighbours[s]!, factor * weights[s]!);
    }
  }

  /** Divides by (n_b + λ)^(1−α), drops `exclude`, and returns the k best. */
  private ranked(table: NeighbourTable, scale: number, exclude: Iterable<number>, k: number): ScoredItem[] {
    // Excluded first (−∞ stays −∞ when divided), so that only candidates that can rank are divided.
    for (const item of exclude) this.candidates.exclude(item);
    if (this.config.alpha === 1) return this.candidates.top(k);
    // Item weights are ≥ 0, so for α < 1 every norm is at least λ^(1−α); for α > 1 there is no such bound.
    this.normTable = table;
    this.normScale = scale;
    return this.candidates.topDividedBy(this.norm, this.minNorm, k, this.lowerNorm);
  }

  private scaleAt(now: number): number {
    return Number.isFinite(now) ? this.decay.scaleAt(now) : 1;
  }
}
