import * as z from 'zod';
import { MAX_KEY_LENGTH, MAX_TS, MIN_TS } from '../schema/event.js';
import { alertIdPattern } from './alert-id.js';

/**
 * An alert is a value: everything in it is a function of the input events (and the fitted
 * model parameters), nothing of when or where it was computed, so replaying a stream gives
 * equal alerts with equal ids and downstream can drop the copies. That is why there is no
 * "created at" wall-clock field: `ts` is the event time of the evidence.
 *
 * One schema covers every alert, discriminated on `type`; types come from it via `z.infer`.
 * Alerts are made inside the engine, so the schema is mainly for the edges: tests, the
 * WebSocket and CloudEvents encoders, and anything reading alerts back from a file or NATS.
 */
export const alertTypes = [
  'churn.risk',
  'value.tier_changed',
  'segment.changed',
  'cart.abandoned',
  'recommendation.cross_sell',
  'demand.spike',
  'demand.drop',
] as const;
export type AlertType = (typeof alertTypes)[number];
/** Types about an aggregate (a category's demand), with no customer: `customerId` is null. */
export const aggregateAlertTypes = ['demand.spike', 'demand.drop'] as const satisfies readonly AlertType[];
export type AggregateAlertType = (typeof aggregateAlertTypes)[number];
/** Types about one customer, gated per customer (`AlertCooldowns`). */
export type CustomerAlertType = Exclude<AlertType, AggregateAlertType>;
export const customerAlertTypes: readonly CustomerAlertType[] = alertTypes.filter((t): t is CustomerAlertType => !(aggregateAlertTypes as readonly string[]).includes(t));
/** Dense index of each customer type, for per-type typed-array columns (cooldowns). */
export const alertTypeIndex: Readonly<Record<CustomerAlertType, number>> = Object.fromEntries(
  customerAlertTypes.map((t, i) => [t, i]),
) as Record<CustomerAlertType, number>;

export const severities = ['info', 'warning', 'critical'] as const;
export const severity = z.enum(severities);
export type Severity = z.infer<typeof severity>;
/** Order of severities, for "at least warning" filters. */
export const severityRank: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/**
 * Who an alert type is meant to act on the customer. Every type must be classified here
 * (the `satisfies` makes a new type a compile error until it is), so a new type cannot
 * reach a marketing destination for an opted-out customer by having been forgotten.
 *
 * All current types are marketing-facing. churn.risk (win-back offers), cart.abandoned
 * (reminders) and recommendation.cross_sell (offers) obviously are. value.tier_changed
 * and segment.changed are too: in a marketing tool they are audience membership and
 * journey triggers ("became VIP", "moved to at_risk"), i.e. reasons to contact someone.
 * Classifying them as marketing costs nothing on the operations side, because suppression
 * applies only to marketing destinations; ops destinations still receive every alert.
 * An `ops` type would be one that never leads to contacting the customer (e.g. a fraud or
 * data-quality alert).
 */
export const alertAudience = {
  'churn.risk': 'marketing',
  'value.tier_changed': 'marketing',
  'segment.changed': 'marketing',
  'cart.abandoned': 'marketing',
  'recommendation.cross_sell': 'marketing',
  // About a category's demand, not a customer: never a reason to contact anyone.
  'demand.spike': 'ops',
  'demand.drop': 'ops',
} as const satisfies Record<AlertType, 'marketing' | 'ops'>;
export const marketingAlertTypes: readonly AlertType[] = alertTypes.filter((t) => alertAudience[t] === 'marketing');

export function isMarketingFacing(type: AlertType): boolean {
  return alertAudience[type] === 'marketing';
}

/** Bounds: one alert must stay a small, known size on every wire it travels. */
export const MAX_REASONS = 8;
export const MAX_REASON_LENGTH = 200;
export const MAX_CART_ITEMS = 50;
export const MAX_RECOMMENDATIONS = 20;
export const MAX_BASED_ON = 100;

const key = z.string().min(1).max(MAX_KEY_LENGTH);
const eventTime = z.number().int().min(MIN_TS).max(MAX_TS);
/** Sums of money (CLV, cart value) can exceed one price's bound; zod 4 numbers are finite. */
const moneyTotal = z.number().min(0);
const unitScore = z.number().min(0).max(1);
/**
 * Names of segments, tiers and rules: lowercase identifiers, so they are safe as filter
 * values, metric labels and CloudEvents extension values. Their vocabularies belong to
 * the analytics that assign them.
 */
export const label = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/);
const rfmScore = z.number().int().min(1).max(5);

function changed<T extends { from: string; to: string }>(d: T): boolean {
  return d.from !== d.to;
}
const notAChange = { message: 'from and to are equal: nothing changed', path: ['to'] };

/** Product ids appear at most once in a list of recommendations. */
function distinctProducts(ids: readonly string[]): boolean {
  return new Set(ids).size === ids.length;
}
const duplicateProduct = { message: 'a product appears more than once' };

const churnRiskData = z.strictObject({
  /** BG/NBD probability that the customer is still active. */
  pAlive: unitScore,
  /** Expected purchases within `horizonMs` from `ts`. */
  expectedPurchases: z.number().min(0),
  horizonMs: z.number().int().min(1),
  clv: moneyTotal,
  /** Event time of the latest purchase; null when a rule fired for a customer who never bought. */
  lastPurchaseTs: eventTime.nullable(),
  /** What decided: `stopped_visiting` or `browsing_not_buying` (the visit posterior alone), `bgnbd_p_alive` (the visits corroborating BG/NBD P(alive) below its floor), `unhappy_top_customer`. */
  rule: label,
});

const valueTierChangedData = z
  .strictObject({ from: label, to: label, clv: moneyTotal })
  .refine(changed, notAChange);

const segmentChangedData = z
  .strictObject({ from: label, to: label, r: rfmScore, f: rfmScore, m: rfmScore })
  .refine(changed, notAChange);

const cartItem = z.strictObject({ productId: key });

/**
 * The cart as keyed state knows it: the products carted and not removed or bought since
 * (from the customer's recent items), and the cart's total quantity. Per-line quantities
 * and prices are not kept per customer; a reminder looks them up by product.
 */
const cartAbandonedData = z.strictObject({
  items: z.array(cartItem).min(1).max(MAX_CART_ITEMS),
  quantity: z.number().int().min(1),
  /** Event time of the last activity of the session that left the cart. */
  sessionEnd: eventTime,
  recommendations: z.array(key).max(MAX_RECOMMENDATIONS).refine(distinctProducts, duplicateProduct),
});

const recommendation = z.strictObject({ productId: key, score: z.number().min(0) });

const crossSellData = z.strictObject({
  orderId: key,
  /** Products of the order the recommendations were drawn from. */
  basedOn: z.array(key).min(1).max(MAX_BASED_ON),
  recommendations: z
    .array(recommendation)
    .min(1)
    .max(MAX_RECOMMENDATIONS)
    .refine((rs) => distinctProducts(rs.map((r) => r.productId)), duplicateProduct),
});

/**
 * A demand bucket that closed outside the 95 % prediction interval of the forecast made for
 * it one bucket ahead (src/analytics/demand/demand-alerts.ts).
 */
const demandData = z.strictObject({
  /** The series: a category, `_all` (every category) or `_other`. */
  category: z.string().min(1).max(MAX_KEY_LENGTH),
  granularity: z.enum(['hourly', 'daily']),
  measure: z.enum(['units', 'orders', 'revenue']),
  /** Event time of the bucket's start; it spans `bucketMs`. */
  bucketStart: eventTime,
  bucketMs: z.number().int().min(1),
  actual: z.number().min(0),
  /** The one-step forecast's mean and 95 % interval. */
  forecast: z.number(),
  lo95: z.number(),
  hi95: z.number(),
});

function alertOf<T extends AlertType, D extends z.ZodType>(type: T, data: D) {
  return z.strictObject({
    /** Deterministic: see `alert-id.ts`. Carries the type as a readable prefix. */
    id: z.string().regex(alertIdPattern(type)),
    type: z.literal(type),
    customerId: key,
    /** Event time of the evidence that triggered the alert (ms since the epoch), never a watermark or wall clock. */
    ts: eventTime,
    severity,
    /** How strongly the evidence supports the alert, 0..1, comparable across types (for minimum-score filters). */
    score: unitScore,
    /** Human-readable, for the person or tool acting on the alert. */
    reasons: z.array(z.string().min(1).max(MAX_REASON_LENGTH)).min(1).max(MAX_REASONS),
    /** The customer's RFM segment when the alert fired, for segment filters; null before one is assigned. */
    segment: label.nullable(),
    data,
  });
}

/**
 * An alert about an aggregate (a category's demand), not a customer: `customerId` and
 * `segment` are null, and `ts` is the end of the evidence (the closed bucket's end).
 */
function aggregateAlertOf<T extends AlertType, D extends z.ZodType>(type: T, data: D) {
  return alertOf(type, data).extend({ customerId: z.null(), segment: z.null() });
}

export const alertSchema = z.discriminatedUnion('type', [
  alertOf('churn.risk', churnRiskData),
  alertOf('value.tier_changed', valueTierChangedData),
  alertOf('segment.changed', segmentChangedData),
  alertOf('cart.abandoned', cartAbandonedData),
  alertOf('recommendation.cross_sell', crossSellData),
  aggregateAlertOf('demand.spike', demandData),
  aggregateAlertOf('demand.drop', demandData),
]);
export type Alert = z.infer<typeof alertSchema>;
export type AlertOf<T extends AlertType> = Extract<Alert, { type: T }>;
/** An alert before its id is derived from it (`withAlertId`). */
export type AlertDraft = { [T in AlertType]: Omit<AlertOf<T>, 'id'> }[AlertType];
export type CustomerAlertDraft = Extract<AlertDraft, { type: CustomerAlertType }>;
