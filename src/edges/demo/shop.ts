import { VigilError } from '../../core/errors.js';
import { MAX_TS, MIN_TS, type CanonicalEvent, type OrderItem } from '../../core/event.js';
import { Catalog, type Product } from './catalog.js';
import { checkDemandCycle, thinnedArrival, type DemandCycle } from './demand-cycle.js';
import { Random } from './random.js';
import { checkCampaigns, COMEBACK_WINDOW_MS, type CampaignTruth, type ShopCampaign } from './shop-campaigns.js';

/**
 * A deterministic synthetic shop: customers with their own rhythm browse, fill carts,
 * abandon or buy, rate, complain and sometimes churn. Events come out in event-time order,
 * one at a time, from a heap of customers keyed by their next event, so memory is
 * O(customers + products) however long the timeline. Same seed and options, same events.
 */
export interface ShopOptions {
  seed: number;
  customers: number;
  products: number;
  /** Event time of the first event. */
  startTs: number;
  /** Stop at this event time (exclusive). Without it the shop runs until MAX_TS. */
  endTs?: number;
  /**
   * How many abandoned carts `truth.abandonedCarts` keeps (default 100 000); later ones are
   * only counted, so a shop left running does not grow without bound.
   */
  abandonedCartLimit?: number;
  /**
   * How customers behave around churn, to judge the churn model on data built on other
   * assumptions than its own (its prior takes a lapsed share of 0.3, lapsed visits at a fifth
   * of the rate, and Poisson visits). Defaults are the shop's usual constants, which leave
   * the event stream as it always was.
   */
  behaviour?: ShopBehaviour;
  /**
   * Opt-in daily and weekly waves and a trend in session rates (see demand-cycle.ts; the daily
   * wave replaces the night-to-morning shift, and gaps are drawn exponential whatever
   * `behaviour.visitGapShape`); absent: the plain timeline.
   */
  demandCycle?: DemandCycle;
  /**
   * Opt-in campaigns with a known effect on the repeat rate (shop-campaigns.ts); absent or
   * empty: no event carries a campaign, and the stream is as it always was.
   */
  campaigns?: readonly ShopCampaign[];
}

export interface ShopBehaviour {
  /** Share of churners who keep browsing (never buying); default 0.3. */
  readonly lapsedShare?: number;
  /** A lapsed browser's mean gap is this × their old one + 14 days; default 4. */
  readonly lapsedGapFactor?: number;
  /**
   * Shape k of the Gamma distribution of the time between sessions (mean kept): 1 (the
   * default) is exponential, the model's Poisson visits; k > 1 is more regular, k < 1 burstier.
   */
  readonly visitGapShape?: number;
  /**
   * Amplitude A of a seasonal swing in visit rates: the rate is × (1 + A·sin(2π t / period));
   * default 0 (none). A in [0, 1).
   */
  readonly seasonality?: number;
  /** Period of the swing; default 28 days. */
  readonly seasonPeriodMs?: number;
}

export interface AbandonedCart {
  customerId: string;
  sessionId: string;
  /** Event time of the session's last cart event. */
  ts: number;
  productIds: string[];
}

/** Ground truth for tests and analytics checks; it covers the events emitted so far. */
export interface ShopTruth {
  /** customerId → event time at which they stopped buying (their last purchase is before it). */
  churnedCustomers: Map<string, number>;
  abandonedCarts: AbandonedCart[];
  /** All abandoned carts, also those beyond `abandonedCartLimit`. */
  abandonedCartsTotal: number;
  purchases: number;
  sessions: number;
  complaints: number;
  /** Per campaign id (with `campaigns`): its cohort's size and the comebacks it caused. */
  campaigns: Map<string, CampaignTruth>;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Longer than the engine's default session gap (30 min), so sessions do not run together. */
const MIN_SESSION_GAP = 45 * MINUTE;
/** Event-to-event steps are capped, and so is a session's length: a session spans at most their product. */
const MAX_STEP = 8 * MINUTE;
const MAX_SESSION_EVENTS = 24;
const MAX_SESSION_SPAN = MAX_STEP * MAX_SESSION_EVENTS;
/** Room kept at the end of a session for remove, checkout, purchase and a closing page view. */
const SESSION_TAIL = 4;
const MAX_CART_LINES = 8;

const CHURN_SHARE = 0.26;
/** Churners who still drop by now and then, but never buy again. */
const LAPSED_BROWSER_SHARE = 0.3;
/** Customers already active when the timeline starts; the rest join over the join window. */
const EXISTING_CUSTOMER_SHARE = 0.3;
/** The run-up to churn: visits thin out and complaints are likelier. */
const PRE_CHURN_WINDOW = 30 * DAY;

/** Funnel rates for an average customer (propensity 1). */
const BROWSE_RATE = 0.85;
const CART_RATE = 0.42;
const REMOVE_RATE = 0.12;
const CHECKOUT_RATE = 0.48;
const PAYMENT_RATE = 0.76;
const FEEDBACK_RATE = 0.25;
const COMPLAINT_RATE = 0.025;
const PRE_CHURN_COMPLAINT_FACTOR = 4;
/** Ratings 1..5 for feedback that is not a complaint: mostly 4 and 5. */
const RATING_CDF = [0.03, 0.07, 0.17, 0.47, 1] as const;

type Phase = 'active' | 'churning' | 'lapsed' | 'gone';

interface Customer {
  readonly id: string;
  /** Mean time between sessions. */
  readonly meanGap: number;
  /** Scales the cart and checkout rates; mean 1 across customers. */
  readonly propensity: number;
  /** Scales basket size and quantities; median 1. */
  readonly spend: number;
  readonly favouriteCategories: readonly number[];
  /** When this customer stops buying; Infinity for loyal customers. */
  readonly churnTs: number;
  phase: Phase;
  /** Next session start, or in phase 'churning' the churn time; Infinity when none. */
  wakeTs: number;
  session: SessionPlan | undefined;
  /** At most one feedback waits per customer; it is written days after the purchase. */
  feedback: CanonicalEvent | undefined;
  /** A campaign's extra purchase waiting (shop-campaigns.ts); emitted like feedback. */
  comeback: CanonicalEvent | undefined;
  /** Has bought before: a later purchase through a campaign is a returning buyer's. */
  bought: boolean;
}

/** A cart line: an order item that always knows its category. */
interface CartLine extends OrderItem {
  category: string;
}

/** One session planned in full at its start and emitted event by event; plans are pooled. */
class SessionPlan {
  readonly events: CanonicalEvent[] = [];
  readonly cart: CartLine[] = [];
  next = 0;
  /** Index of the event at which an abandoned cart is recorded (its last cart event), or -1. */
  abandonAt = -1;
  abandoned: AbandonedCart | undefined = undefined;

  reset(): void {
    this.events.length = 0;
    this.cart.length = 0;
    this.next = 0;
    this.abandonAt = -1;
    this.abandoned = undefined;
  }
}

/**
 * Binary min-heap of customer indices keyed by each customer's next event time; ties go to
 * the lower index, so the order is a pure function of the keys. Only the top's key changes.
 */
class WakeQueue {
  private readonly heap: Int32Array;
  readonly keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.heap = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }

  private before(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    return ka < kb || (ka === kb && a < b);
  }

  push(customer: number, key: number): void {
    this.keys[customer] = key;
    let i = this.size++;
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!this.before(customer, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = customer;
  }

  top(): number {
    return this.heap[0]!;
  }

  /** Re-keys the top customer; Infinity removes it. */
  updateTop(key: number): void {
    const heap = this.heap;
    const customer = heap[0]!;
    if (key === Infinity) {
      const last = heap[--this.size]!;
      if (this.size === 0) return;
      this.siftDown(last);
      return;
    }
    this.keys[customer] = key;
    this.siftDown(customer);
  }

  private siftDown(customer: number): void {
    const heap = this.heap;
    const n = this.size;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.before(heap[right]!, heap[child]!)) child = right;
      const c = heap[child]!;
      if (!this.before(c, customer)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = customer;
  }
}

function usage(message: string): VigilError {
  return new VigilError('VIGIL_ERR_USAGE', `synthetic shop: ${message}`);
}

function checkOptions(opts: ShopOptions): void {
  if (!Number.isSafeInteger(opts.seed)) throw usage(`seed must be a safe integer, got ${opts.seed}`);
  if (!Number.isSafeInteger(opts.customers) || opts.customers < 1)
    throw usage(`customers must be >= 1, got ${opts.customers}`);
  if (!Number.isSafeInteger(opts.products) || opts.products < 1)
    throw usage(`products must be >= 1, got ${opts.products}`);
  if (!Number.isSafeInteger(opts.startTs) || opts.startTs < MIN_TS || opts.startTs > MAX_TS) {
    throw usage(`startTs must be an integer ms time in 2000..2100, got ${opts.startTs}`);
  }
  if (opts.endTs !== undefined && !(opts.endTs > opts.startTs))
    throw usage(`endTs must be after startTs, got ${opts.endTs}`);
  const limit = opts.abandonedCartLimit;
  if (limit !== undefined && !(limit >= 0)) throw usage(`abandonedCartLimit must be >= 0, got ${limit}`);
  const b = opts.behaviour ?? {};
  if (b.lapsedShare !== undefined && !(b.lapsedShare >= 0 && b.lapsedShare <= 1))
    throw usage(`behaviour.lapsedShare must be in [0, 1], got ${b.lapsedShare}`);
  if (b.lapsedGapFactor !== undefined && !(b.lapsedGapFactor > 0))
    throw usage(`behaviour.lapsedGapFactor must be > 0, got ${b.lapsedGapFactor}`);
  if (b.visitGapShape !== undefined && !(b.visitGapShape > 0))
    throw usage(`behaviour.visitGapShape must be > 0, got ${b.visitGapShape}`);
  if (b.seasonality !== undefined && !(b.seasonality >= 0 && b.seasonality < 1))
    throw usage(`behaviour.seasonality must be in [0, 1), got ${b.seasonality}`);
  if (b.seasonPeriodMs !== undefined && !(b.seasonPeriodMs > 0))
    throw usage(`behaviour.seasonPeriodMs must be > 0, got ${b.seasonPeriodMs}`);
  const cycle = opts.demandCycle === undefined ? undefined : checkDemandCycle(opts.demandCycle);
  if (cycle !== undefined) throw usage(`demandCycle: ${cycle}`);
  const campaigns = opts.campaigns === undefined ? undefined : checkCampaigns(opts.campaigns);
  if (campaigns !== undefined) throw usage(`campaigns: ${campaigns}`);
}

/** People shop while awake: a session drawn in the small hours (UTC) mostly moves to the morning. */
function awakeTime(t: number, random: Random): number {
  const intoDay = t % DAY;
  if (intoDay >= 6 * HOUR || !random.chance(0.85)) return t;
  return t - intoDay + 7 * HOUR + Math.floor(random.next() * 4 * HOUR);
}

function campaignOf(k: ShopCampaign): { id: string; channel?: string } {
  return k.channel === undefined ? { id: k.id } : { id: k.id, channel: k.channel };
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export class SyntheticShop {
  readonly truth: ShopTruth = {
    churnedCustomers: new Map(),
    abandonedCarts: [],
    abandonedCartsTotal: 0,
    purchases: 0,
    sessions: 0,
    complaints: 0,
    campaigns: new Map(),
  };
  readonly catalog: Catalog;

  private readonly random: Random;
  private readonly customers: Customer[];
  private readonly queue: WakeQueue;
  private readonly endTs: number;
  private readonly abandonedCartLimit: number;
  private readonly behaviour: Required<ShopBehaviour>;
  private readonly demandCycle: DemandCycle | undefined;
  private readonly startTs: number;
  /** Appended to every generated id, so shops with different seeds never share ids. */
  private readonly tag: string;
  private readonly planPool: SessionPlan[] = [];
  private readonly campaigns: readonly ShopCampaign[];
  /** Campaign draws have their own stream, so the customers' own behaviour is the same with or without them. */
  private readonly campaignRandom: Random | undefined;
  private eventCount = 0;
  private sessionCount = 0;
  private orderCount = 0;
  private finished = false;

  constructor(opts: ShopOptions) {
    checkOptions(opts);
    const root = new Random(opts.seed);
    // Separate streams: the catalogue does not change with the customer count, nor the
    // customers with the options that only shape the timeline.
    const catalogRandom = new Random(root.uint32());
    const customerRandom = new Random(root.uint32());
    this.random = new Random(root.uint32());
    this.catalog = new Catalog(opts.products, catalogRandom);
    this.endTs = Math.min(opts.endTs ?? Infinity, MAX_TS + 1);
    this.abandonedCartLimit = opts.abandonedCartLimit ?? 100_000;
    this.behaviour = {
      lapsedShare: LAPSED_BROWSER_SHARE,
      lapsedGapFactor: 4,
      visitGapShape: 1,
      seasonality: 0,
      seasonPeriodMs: 28 * DAY,
      ...opts.behaviour,
    };
    this.demandCycle = opts.demandCycle;
    this.campaigns = opts.campaigns ?? [];
    this.campaignRandom = this.campaigns.length > 0 ? new Random(root.uint32()) : undefined;
    for (const c of this.campaigns) this.truth.campaigns.set(c.id, { entrants: 0, comebacks: 0 });
    this.startTs = opts.startTs;
    this.tag = Math.trunc(opts.seed).toString(36);
    this.customers = new Array(opts.customers);
    this.queue = new WakeQueue(opts.customers);

    const span = opts.endTs === undefined ? Infinity : opts.endTs - opts.startTs;
    const joinWindow = span === Infinity ? 60 * DAY : clamp(0.5 * span, HOUR, 90 * DAY);
    // Without an end, churn times follow an exponential; with one, they spread over it.
    const churnHorizon = opts.endTs;
    const digits = Math.max(6, String(opts.customers - 1).length);
    for (let i = 0; i < opts.customers; i++) {
      const r = customerRandom;
      // Median ~6 days between visits; the spread gives daily regulars and monthly drop-ins.
      const meanGap = clamp(r.logNormal(Math.log(6), 1.0), 0.7, 90) * DAY;
      const propensity = 2 * r.beta(2, 2);
      const spend = r.logNormal(0, 0.45);
      const favouriteCategories = this.drawFavourites(r);
      let firstVisit: number;
      if (i === 0) firstVisit = opts.startTs;
      else if (r.chance(EXISTING_CUSTOMER_SHARE))
        firstVisit = opts.startTs + Math.floor(r.next() * Math.min(meanGap, joinWindow));
      else firstVisit = opts.startTs + Math.floor(r.next() * joinWindow);
      if (i !== 0) firstVisit = awakeTime(firstVisit, r);
      let churnTs = Infinity;
      if (r.chance(CHURN_SHARE)) {
        const earliest = firstVisit + 7 * DAY;
        if (churnHorizon === undefined) churnTs = earliest + Math.floor(r.exponential(90 * DAY));
        else if (earliest < churnHorizon) churnTs = earliest + Math.floor(r.next() * (churnHorizon - earliest));
      }
      const customer: Customer = {
        id: 'c' + String(i).padStart(digits, '0'),
        meanGap,
        propensity,
        spend,
        favouriteCategories,
        churnTs,
        phase: 'active',
        wakeTs: firstVisit,
        session: undefined,
        feedback: undefined,
        comeback: undefined,
        bought: false,
      };
      this.customers[i] = customer;
      this.queue.push(i, firstVisit);
    }
  }

  /** One to three favourite categories, drawn by category popularity. */
  private drawFavourites(r: Random): number[] {
    const wanted = 1 + (r.chance(0.6) ? 1 : 0) + (r.chance(0.2) ? 1 : 0);
    const favourites: number[] = [];
    for (let attempt = 0; favourites.length < wanted && attempt < 8; attempt++) {
      const c = this.catalog.popularCategory(r);
      if (!favourites.includes(c)) favourites.push(c);
    }
    return favourites;
  }

  /** The next event in event-time order, or undefined once endTs (or MAX_TS) is reached. */
  next(): CanonicalEvent | undefined {
    const queue = this.queue;
    while (!this.finished) {
      if (queue.size === 0) break;
      const index = queue.top();
      const t = queue.keys[index]!;
      if (t >= this.endTs) break;
      const c = this.customers[index]!;
      let out: CanonicalEvent | undefined;
      const plan = c.session;
      if (c.comeback !== undefined && c.comeback.ts <= t) {
        out = c.comeback;
        c.comeback = undefined;
        this.truth.purchases++;
      } else if (c.feedback !== undefined && c.feedback.ts <= t) {
        out = c.feedback;
        c.feedback = undefined;
        if (out.type === 'feedback' && out.complaint === true) this.truth.complaints++;
      } else if (plan !== undefined) {
        out = this.emitPlanned(c, plan);
      } else if (c.phase === 'churning') {
        this.churn(c, t);
      } else if (c.phase === 'active' && t + MAX_SESSION_SPAN >= c.churnTs) {
        // Only a first visit gets here (later ones are checked when scheduled): a session
        // now could reach past the churn time, so the buying is over.
        c.phase = 'churning';
        c.wakeTs = Math.max(c.churnTs, t);
      } else {
        this.planSession(c, t);
      }
      queue.updateTop(this.wakeKey(c));
      if (out !== undefined) {
        out.id = 'e' + (this.eventCount++).toString(36) + '.' + this.tag;
        return out;
      }
    }
    this.finished = true;
    return undefined;
  }

  take(n: number): CanonicalEvent[] {
    const events: CanonicalEvent[] = [];
    for (let i = 0; i < n; i++) {
      const e = this.next();
      if (e === undefined) break;
      events.push(e);
    }
    return events;
  }

  *[Symbol.iterator](): Iterator<CanonicalEvent> {
    for (let e = this.next(); e !== undefined; e = this.next()) yield e;
  }

  private wakeKey(c: Customer): number {
    const plan = c.session;
    const own = plan !== undefined ? plan.events[plan.next]!.ts : c.wakeTs;
    const feedback = c.feedback;
    const first = feedback !== undefined && feedback.ts < own ? feedback.ts : own;
    const comeback = c.comeback;
    return comeback !== undefined && comeback.ts < first ? comeback.ts : first;
  }

  private emitPlanned(c: Customer, plan: SessionPlan): CanonicalEvent {
    const i = plan.next++;
    const e = plan.events[i]!;
    if (i === 0) this.truth.sessions++;
    if (i === plan.abandonAt && plan.abandoned !== undefined) {
      this.truth.abandonedCartsTotal++;
      if (this.truth.abandonedCarts.length < this.abandonedCartLimit) this.truth.abandonedCarts.push(plan.abandoned);
    }
    if (e.type === 'purchase') {
      this.truth.purchases++;
      this.maybeFeedback(c, e.ts, e.orderId, e.items);
      if (e.campaign !== undefined && !c.bought) this.enterCampaign(c, e);
      c.bought = true;
    }
    if (plan.next === plan.events.length) {
      c.session = undefined;
      plan.reset();
      this.planPool.push(plan);
      const nextStart = this.nextSessionStart(c, e.ts);
      if (c.phase === 'active' && nextStart + MAX_SESSION_SPAN >= c.churnTs) {
        // The next visit could reach past the churn time, so the buying is over; this
        // session ended before churnTs, and the churn is recorded at churnTs itself.
        c.phase = 'churning';
        c.wakeTs = c.churnTs;
      } else c.wakeTs = nextStart;
    }
    return e;
  }

  /** The churn time has come: record it, then the customer is gone or only browses rarely. */
  private churn(c: Customer, t: number): void {
    this.truth.churnedCustomers.set(c.id, c.churnTs);
    if (this.random.chance(this.behaviour.lapsedShare)) {
      c.phase = 'lapsed';
      c.wakeTs = this.nextSessionStart(c, t);
    } else {
      c.phase = 'gone';
      c.wakeTs = Infinity;
    }
  }

  private nextSessionStart(c: Customer, lastTs: number): number {
    const r = this.random;
    const b = this.behaviour;
    let meanGap = c.meanGap;
    if (c.phase === 'lapsed') meanGap = b.lapsedGapFactor * meanGap + 14 * DAY;
    else if (c.churnTs - lastTs < PRE_CHURN_WINDOW) meanGap *= 1.6;
    // The defaults draw exactly as the shop always did (same numbers, same stream).
    if (b.seasonality > 0) meanGap /= 1 + b.seasonality * Math.sin((2 * Math.PI * lastTs) / b.seasonPeriodMs);
    if (this.demandCycle !== undefined)
      return thinnedArrival(this.demandCycle, this.startTs, lastTs + MIN_SESSION_GAP, meanGap, r);
    const gap = b.visitGapShape === 1 ? r.exponential(meanGap) : r.gamma(b.visitGapShape, meanGap / b.visitGapShape);
    return awakeTime(lastTs + MIN_SESSION_GAP + Math.floor(gap), r);
  }

  /** A first purchase through a campaign: its cohort grows, and its effect may bring the customer back. */
  private enterCampaign(c: Customer, e: Extract<CanonicalEvent, { type: 'purchase' }>): void {
    const campaign = this.campaigns.find((k) => k.id === e.campaign!.id)!;
    const truth = this.truth.campaigns.get(campaign.id)!;
    truth.entrants++;
    const r = this.campaignRandom!;
    if (c.comeback !== undefined || !r.chance(campaign.effect)) return;
    truth.comebacks++;
    const item = e.items[r.int(e.items.length)]!;
    c.comeback = {
      id: '',
      customerId: c.id,
      // Strictly after the entry and within its 30 days.
      ts: e.ts + 1 + Math.floor(r.next() * (COMEBACK_WINDOW_MS - 1)),
      currency: 'EUR',
      type: 'purchase',
      orderId: 'o' + (this.orderCount++).toString(36) + '.' + this.tag,
      items: [{ ...item, quantity: 1 }],
    };
  }

  /** The campaign a session starting at t lands through, if any (at most one: the first running that reaches it). */
  private landingCampaign(t: number): ShopCampaign | undefined {
    const r = this.campaignRandom;
    if (r === undefined) return undefined;
    for (const k of this.campaigns) if (t >= k.startTs && t < k.endTs && r.chance(k.reach)) return k;
    return undefined;
  }

  /** Feedback comes days after a purchase; complaints are rare, likelier as churn nears. */
  private maybeFeedback(c: Customer, ts: number, orderId: string, items: readonly OrderItem[]): void {
    if (c.feedback !== undefined) return;
    const r = this.random;
    const complaintRate =
      c.churnTs - ts < PRE_CHURN_WINDOW ? COMPLAINT_RATE * PRE_CHURN_COMPLAINT_FACTOR : COMPLAINT_RATE;
    const complaint = r.chance(complaintRate);
    if (!complaint && !r.chance(FEEDBACK_RATE)) return;
    let rating: number;
    if (complaint) rating = r.chance(0.7) ? 1 : 2;
    else {
      const u = r.next();
      rating = 1;
      while (rating < 5 && u >= RATING_CDF[rating - 1]!) rating++;
    }
    const item = items[r.int(items.length)]!;
    c.feedback = {
      id: '',
      customerId: c.id,
      ts: ts + HOUR + Math.floor(r.exponential(3 * DAY)),
      type: 'feedback',
      orderId,
      productId: item.productId,
      rating,
      complaint,
    };
  }

  private pickProduct(c: Customer): Product {
    const r = this.random;
    if (r.chance(0.8))
      return this.catalog.popularProductIn(c.favouriteCategories[r.int(c.favouriteCategories.length)]!, r);
    return this.catalog.popularProduct(r);
  }

  /** Plans a whole session starting at t; its events are then emitted one by one. */
  private planSession(c: Customer, t: number): void {
    const r = this.random;
    const plan = this.planPool.pop() ?? new SessionPlan();
    c.session = plan;
    const events = plan.events;
    const cart = plan.cart;
    const customerId = c.id;
    const sessionId = 's' + (this.sessionCount++).toString(36) + '.' + this.tag;
    const buying = c.phase === 'active';
    // One closure per session (not per event) keeps the plan readable at little cost.
    const step = (mean: number): number => clamp(Math.floor(r.exponential(mean)), SECOND, MAX_STEP);

    const landing = this.landingCampaign(t);
    events.push({
      id: '',
      customerId,
      ts: t,
      sessionId,
      type: 'page_view',
      ...(landing !== undefined && { campaign: campaignOf(landing) }),
    });
    if (!r.chance(buying ? BROWSE_RATE : 0.7)) {
      // A bounce: a page or two, nothing looked at closely.
      if (r.chance(0.4)) events.push({ id: '', customerId, ts: t + step(20 * SECOND), sessionId, type: 'page_view' });
      c.wakeTs = Infinity;
      return;
    }
    const views = 1 + Math.min(13, Math.floor(r.exponential(3)));
    const wantsCart = buying && r.chance(clamp(CART_RATE * c.propensity, 0.02, 0.95));
    const firstAdd = wantsCart ? r.int(views) : -1;
    const moreAdds = clamp(0.25 * c.spend, 0.05, 0.6);
    let lastCartEvent = -1;
    for (let v = 0; v < views && events.length < MAX_SESSION_EVENTS - SESSION_TAIL - 2; v++) {
      if (v > 0 && r.chance(0.2))
        events.push({ id: '', customerId, ts: (t += step(15 * SECOND)), sessionId, type: 'page_view' });
      const p = this.pickProduct(c);
      events.push({
        id: '',
        customerId,
        ts: (t += step(25 * SECOND)),
        sessionId,
        currency: 'EUR',
        type: 'product_view',
        productId: p.id,
        category: p.category,
        price: p.price,
      });
      if (v < firstAdd || firstAdd < 0 || cart.length >= MAX_CART_LINES) continue;
      if (v > firstAdd && !r.chance(moreAdds)) continue;
      if (cart.some((line) => line.productId === p.id)) continue;
      const quantity = this.quantity(c, p.price);
      lastCartEvent = events.length;
      events.push({
        id: '',
        customerId,
        ts: (t += step(40 * SECOND)),
        sessionId,
        currency: 'EUR',
        type: 'add_to_cart',
        productId: p.id,
        category: p.category,
        price: p.price,
        quantity,
      });
      cart.push({ productId: p.id, category: p.category, price: p.price, quantity });
    }
    if (cart.length > 0 && r.chance(REMOVE_RATE)) {
      const line = cart.splice(r.int(cart.length), 1)[0]!;
      lastCartEvent = events.length;
      events.push({
        id: '',
        customerId,
        ts: (t += step(20 * SECOND)),
        sessionId,
        currency: 'EUR',
        type: 'remove_from_cart',
        productId: line.productId,
        category: line.category,
        price: line.price,
        quantity: line.quantity,
      });
    }
    let purchased = false;
    if (cart.length > 0 && r.chance(clamp(CHECKOUT_RATE * (0.6 + 0.4 * c.propensity), 0.05, 0.95))) {
      const orderId = 'o' + (this.orderCount++).toString(36) + '.' + this.tag;
      events.push({ id: '', customerId, ts: (t += step(30 * SECOND)), sessionId, type: 'checkout_started', orderId });
      if (r.chance(PAYMENT_RATE)) {
        purchased = true;
        events.push({
          id: '',
          customerId,
          ts: (t += step(90 * SECOND)),
          sessionId,
          currency: 'EUR',
          type: 'purchase',
          orderId,
          items: cart.slice(),
          ...(landing !== undefined && {
            campaign: campaignOf(landing),
            ...(landing.coupon !== undefined && { coupon: landing.coupon }),
          }),
        });
        if (r.chance(0.5)) events.push({ id: '', customerId, ts: t + step(10 * SECOND), sessionId, type: 'page_view' });
      }
    }
    if (cart.length > 0 && !purchased) {
      plan.abandonAt = lastCartEvent;
      plan.abandoned = {
        customerId,
        sessionId,
        ts: events[lastCartEvent]!.ts,
        productIds: cart.map((line) => line.productId),
      };
    }
    c.wakeTs = Infinity;
  }

  /** Cheap things come by the handful, dear ones one at a time; big spenders buy more. */
  private quantity(c: Customer, price: number): number {
    const r = this.random;
    if (price < 10) return r.chance(clamp(0.3 * c.spend, 0.05, 0.8)) ? 2 + r.int(3) : 1;
    return r.chance(clamp(0.08 * c.spend, 0.01, 0.3)) ? 2 : 1;
  }
}
