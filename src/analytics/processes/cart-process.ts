import type { CanonicalEvent } from '../../core/event.js';
import { RecentAction } from '../../state/customer-store.js';
import type { AnalyticsProcess, GlobalState, ProcessContext } from './analytics-process.js';
import type { FieldSpec } from './customer-fields.js';
import type { RecommendationProcess } from './recommendation-process.js';

export const CART_TIMER = 'cart_abandon';

/**
 * Cart abandonment: a session that ends with something added to the cart arms a timer
 * `cart.abandonAfterMs` after its end; when it fires with the cart still full and no
 * purchase since, `cart.abandoned` names what was left and recommends from it. Keeps no
 * state across customers.
 */
export class CartProcess implements AnalyticsProcess {
  static readonly FIELDS: readonly FieldSpec[] = [{ name: 'lastCartTs', type: 'f64', initial: NaN }];
  readonly name = 'carts';
  readonly fields = CartProcess.FIELDS;
  readonly timers = [CART_TIMER] as const;
  readonly globals: readonly GlobalState[] = [];
  private readonly lastCartTsAt: number;
  private readonly cartTimer: number;
  private readonly recent = new Uint32Array(32);
  private readonly recentActions = new Uint8Array(32);

  constructor(
    private readonly ctx: ProcessContext,
    private readonly recs: RecommendationProcess,
    private readonly segmentLabel: (slot: number) => string | null,
  ) {
    this.lastCartTsAt = ctx.fields.offsets(['lastCartTs'] as const).lastCartTs;
    this.cartTimer = ctx.store.defineSignalTimer(CART_TIMER);
  }

  /** When the customer in `slot` last added to their cart, event time (NaN: never). */
  lastCartTs(slot: number): number {
    return this.ctx.fields.f64(slot, this.lastCartTsAt);
  }

  onApplied(slot: number, e: CanonicalEvent): void {
    if (e.type === 'add_to_cart')
      this.ctx.fields.setF64(slot, this.lastCartTsAt, Math.max(e.ts, this.lastCartTs(slot) || 0));
  }

  onSessionClosed(slot: number, _customerId: string, start: number, end: number): void {
    if (this.ctx.store.cartQuantity(slot) > 0 && this.lastCartTs(slot) >= start) {
      this.ctx.store.timers.arm(slot, this.cartTimer, end + this.ctx.cfg.cart.abandonAfterMs);
    }
  }

  /** No purchase since the session with the cart ended: the cart was abandoned. */
  onTimer(_timer: string, slot: number, customerId: string, due: number): void {
    const { store, cfg } = this.ctx;
    const sessionEnd = due - cfg.cart.abandonAfterMs;
    if (store.cartQuantity(slot) === 0 || store.lastPurchase(slot) > sessionEnd) return;
    const n = store.recentInto(slot, this.recent, this.recentActions);
    const cart: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.recent[i]!;
      // Only a product's latest action counts: an earlier cart of one removed or bought since does not.
      if (this.recentActions[i] === RecentAction.carted && !this.recentHas(p, i)) cart.push(p);
    }
    if (cart.length === 0) return;
    // Recommend from what was left in the cart: the strongest signal of what they wanted.
    const recs = this.recs.recommender.recommend(cart, cart, cfg.recommendations.count, due);
    this.ctx.alerts.emit(slot, {
      type: 'cart.abandoned',
      customerId,
      ts: due,
      severity: 'warning',
      score: Math.min(1, 0.5 + 0.05 * cart.length),
      reasons: [
        `${cart.length} product(s) left in the cart; no purchase ${Math.round(cfg.cart.abandonAfterMs / 60_000)} min after the session ended`,
      ],
      segment: this.segmentLabel(slot),
      data: {
        items: cart.map((p) => ({ productId: store.products.name(p) })),
        quantity: store.cartQuantity(slot),
        sessionEnd,
        recommendations: recs.map((r) => store.products.name(r.item)),
      },
    });
  }

  /** Whether `product` is among the first `n` of `this.recent` (a loop: a subarray per item would allocate). */
  private recentHas(product: number, n: number): boolean {
    for (let j = 0; j < n; j++) if (this.recent[j] === product) return true;
    return false;
  }
}
