import type { CanonicalEvent } from '../../core/event.js';
import type { ItemNeighbours } from '../recs/item-neighbours.js';
import type { AnalyticsProcess, GlobalState, ProcessContext } from './analytics-process.js';

/**
 * Recommendations: the item-to-item co-view and co-purchase tables (`ItemNeighbours`),
 * learned from views within a session and from orders, and `recommendation.cross_sell` at
 * a purchase. Keeps no per-customer fields: a customer's recent items are keyed state's.
 * The tables are keyed by item, so with customers spread over partitions their updates are
 * re-keyed to the partition owning the item rather than merged.
 */
export class RecommendationProcess implements AnalyticsProcess {
  readonly name = 'recommendations';
  readonly fields = [] as const;
  readonly timers = [] as const;
  readonly globals: readonly GlobalState[] = [{ name: 'recommender', home: 'rekeyed-by-item' }];
  private readonly recent = new Uint32Array(32);
  private readonly recentActions = new Uint8Array(32);
  private readonly sessionBefore = new Uint32Array(32);
  private readonly bought: number[] = [];

  constructor(
    private readonly ctx: ProcessContext,
    readonly recommender: ItemNeighbours,
    private readonly segmentLabel: (slot: number) => string | null,
  ) {}

  onApplied(slot: number, e: CanonicalEvent): void {
    if (e.type === 'product_view') this.observeView(slot, e.productId, e.ts);
    else if (e.type === 'purchase') {
      try {
        this.crossSell(slot, e);
      } catch {
        this.ctx.health.errors++;
      }
    }
  }

  /**
   * Co-views are learned within a session: the products this session touched before this
   * view, from the customer's recent-items ring (at most one entry per event of the session).
   */
  private observeView(slot: number, productId: string, ts: number): void {
    const store = this.ctx.store;
    const inSession = Math.min(store.sessionEvents(slot), this.recent.length + 1) - 1;
    // The recommender pairs a view with the last `sessionSteps` before it only: read no more.
    const wanted = Math.min(inSession + 1, this.recommender.config.sessionSteps + 1);
    const n = store.recentInto(slot, this.recent, this.recentActions, wanted);
    // The store has just put this view's interned product first (0 when the dictionary is full).
    const product = n > 0 ? this.recent[0]! : (store.products.lookup(productId) ?? 0);
    // recent[0] is this view itself; the rest, most recent first, is reversed into `before`.
    const before = this.sessionBefore;
    let m = 0;
    for (let i = n - 1; i >= 1; i--) before[m++] = this.recent[i]!;
    this.recommender.observeView(before, product, ts, m);
  }

  private crossSell(slot: number, e: Extract<CanonicalEvent, { type: 'purchase' }>): void {
    const { store, cfg } = this.ctx;
    const recommender = this.recommender;
    const bought = this.bought; // the recommender reads it during the calls and keeps nothing
    bought.length = 0;
    for (const item of e.items) {
      const p = store.products.lookup(item.productId);
      if (p !== undefined && p !== 0) bought.push(p);
    }
    recommender.observeOrder(bought, e.ts);
    const recs = recommender.crossSell(bought, cfg.recommendations.count, e.ts);
    if (recs.length === 0 || bought.length === 0) return;
    this.ctx.alerts.emit(slot, {
      type: 'recommendation.cross_sell',
      customerId: e.customerId,
      ts: e.ts,
      severity: 'info',
      score: Math.min(1, recs[0]!.score),
      reasons: [`bought ${bought.length} product(s); frequently bought or viewed together with them`],
      segment: this.segmentLabel(slot),
      data: {
        orderId: e.orderId,
        basedOn: bought.map((p) => store.products.name(p)),
        recommendations: recs.map((r) => ({ productId: store.products.name(r.item), score: r.score })),
      },
    });
  }

  /** Up to `k` products for the customer in `slot` from their recent items (those left out), as of event time `asOf`. */
  recommendFor(slot: number, k: number, asOf: number): { productId: string; score: number }[] {
    const store = this.ctx.store;
    const n = store.recentInto(slot, this.recent, this.recentActions);
    const recent = Array.from(this.recent.subarray(0, n)).reverse(); // the recommender wants the most recent last
    return this.recommender
      .recommend(recent, recent, k, Number.isFinite(asOf) ? asOf : undefined)
      .map((r) => ({ productId: store.products.name(r.item), score: r.score }));
  }

  /** Products viewed together with `productId`, best first; undefined for a product never seen. */
  similarItems(productId: string, k: number, asOf: number): { productId: string; score: number }[] | undefined {
    const store = this.ctx.store;
    const item = store.products.lookup(productId);
    if (item === undefined) return undefined;
    return this.recommender
      .similar(item, k, Number.isFinite(asOf) ? asOf : undefined)
      .map((r) => ({ productId: store.products.name(r.item), score: r.score }));
  }
}
