import * as z from 'zod';

/**
 * The canonical event: the one shape every input format is mapped to before it reaches
 * keyed state. Types come from this schema (`z.infer`), never from hand-written interfaces.
 *
 * The schema is in two parts: the structure (which fields, of which JS types, per event
 * type) as zod objects, and the bounds (lengths, ranges, formats) as one `check` over the
 * whole event, `eventBounds` below. Written as per-field `.min().max()` checks, the bounds
 * cost more than decoding in zod 4; one pass costs a fraction of that (chosen by
 * `npm run bench -- core`). A test holds this schema equal to the per-field declarative form on
 * random input (test/schema.property.test.ts). Bounds keep one hostile message from costing
 * more than a small, known amount.
 */
export const eventTypes = [
  'page_view',
  'product_view',
  'add_to_cart',
  'remove_from_cart',
  'checkout_started',
  'purchase',
  'feedback',
] as const;
export type EventType = (typeof eventTypes)[number];
/** Dense index of each type, used by the windows' per-type counters. */
export const eventTypeIndex: Readonly<Record<EventType, number>> = Object.fromEntries(
  eventTypes.map((t, i) => [t, i]),
) as Record<EventType, number>;

/** 1990-01-01 .. 2100-01-01 UTC: anything outside is a unit mistake (seconds, µs), not an event. (1990, not 2000: public purchase logs such as CDNOW are from the 1990s.) */
export const MIN_TS = Date.UTC(1990, 0, 1);
export const MAX_TS = Date.UTC(2100, 0, 1);
export const MAX_ITEMS_PER_ORDER = 100;
export const MAX_KEY_LENGTH = 128;
export const MAX_CATEGORY_LENGTH = 64;
export const MAX_MONEY = 1e9;
export const MAX_QUANTITY = 10_000;

/** Attribution of an event to a marketing campaign (UTM campaign and medium, or the shop's own ids). */
export const campaignRef = z.object({ id: z.string(), channel: z.string().optional() });
export type CampaignRef = z.infer<typeof campaignRef>;

const base = {
  id: z.string(),
  customerId: z.string(),
  ts: z.number(), // zod 4 numbers exclude NaN and ±Infinity
  sessionId: z.string().optional(),
  currency: z.string().optional(),
  /** Optional: the campaign that brought the event (a session's landing, a purchase). */
  campaign: campaignRef.optional(),
  /** Optional: a coupon code applied. */
  coupon: z.string().optional(),
};
const product = {
  productId: z.string(),
  category: z.string().optional(),
  price: z.number().optional(),
  quantity: z.number().optional(),
};

export const orderItem = z.object({
  productId: z.string(),
  category: z.string().optional(),
  price: z.number(),
  quantity: z.number(),
});
export type OrderItem = z.infer<typeof orderItem>;

const eventStructure = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('page_view') }),
  z.object({ ...base, type: z.literal('product_view'), ...product }),
  z.object({ ...base, type: z.literal('add_to_cart'), ...product }),
  z.object({ ...base, type: z.literal('remove_from_cart'), ...product }),
  z.object({ ...base, type: z.literal('checkout_started'), orderId: z.string().optional() }),
  z.object({ ...base, type: z.literal('purchase'), orderId: z.string(), items: z.array(orderItem) }),
  z.object({
    ...base,
    type: z.literal('feedback'),
    productId: z.string().optional(),
    orderId: z.string().optional(),
    rating: z.number().optional(),
    complaint: z.boolean().optional(),
  }),
]);

type Issue = z.core.$ZodRawIssue;
type Path = (string | number)[];

function stringIssue(value: string, path: Path, min: number, max: number): Issue | undefined {
  if (value.length > max)
    return {
      code: 'too_big',
      origin: 'string',
      maximum: max,
      inclusive: true,
      input: value,
      path,
      message: `at most ${max} characters`,
    };
  if (value.length < min)
    return {
      code: 'too_small',
      origin: 'string',
      minimum: min,
      inclusive: true,
      input: value,
      path,
      message: `at least ${min} character(s)`,
    };
  return undefined;
}

function numberIssue(value: number, path: Path, min: number, max: number, integer: boolean): Issue | undefined {
  if (integer && !Number.isInteger(value))
    return { code: 'invalid_type', expected: 'int', input: value, path, message: 'expected an integer' };
  if (value > max)
    return {
      code: 'too_big',
      origin: 'number',
      maximum: max,
      inclusive: true,
      input: value,
      path,
      message: `at most ${max}`,
    };
  if (value < min)
    return {
      code: 'too_small',
      origin: 'number',
      minimum: min,
      inclusive: true,
      input: value,
      path,
      message: `at least ${min}`,
    };
  return undefined;
}

/** `key` (a dotted key is a nested path), or `items[item].key` for an order line (item ≥ 0). */
const pathOf = (key: string, item: number): Path => (item < 0 ? key.split('.') : ['items', item, key]);

// The checks below run on every event and almost always pass: they allocate nothing (no
// path, no issue list) until something fails.
function checkString(
  issues: Issue[] | undefined,
  value: string,
  key: string,
  min: number,
  max: number,
  item = -1,
): Issue[] | undefined {
  if (value.length >= min && value.length <= max) return issues;
  const issue = stringIssue(value, pathOf(key, item), min, max);
  if (issue !== undefined) (issues ??= []).push(issue);
  return issues;
}

function checkNumber(
  issues: Issue[] | undefined,
  value: number,
  key: string,
  min: number,
  max: number,
  integer: boolean,
  item = -1,
): Issue[] | undefined {
  if (value >= min && value <= max && (!integer || Number.isInteger(value))) return issues;
  const issue = numberIssue(value, pathOf(key, item), min, max, integer);
  if (issue !== undefined) (issues ??= []).push(issue);
  return issues;
}

function isCurrencyCode(s: string): boolean {
  if (s.length !== 3) return false;
  for (let i = 0; i < 3; i++) {
    const c = s.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  return true;
}

const NO_ISSUES: readonly Issue[] = Object.freeze([]);

/**
 * Every bound of the canonical event, in one pass: keys 1–128 characters (campaign ids and
 * coupons too; campaign channels up to 64), ts an integer in
 * [MIN_TS, MAX_TS], ISO 4217 currency, categories up to 64 characters, money in
 * [0, MAX_MONEY], quantities whole in [1, MAX_QUANTITY], 1–100 items per order, ratings
 * whole in [1, 5], and feedback carrying a rating or a complaint flag.
 */
export function eventBounds(e: z.infer<typeof eventStructure>): readonly Issue[] {
  let issues = checkString(undefined, e.id, 'id', 1, MAX_KEY_LENGTH);
  issues = checkString(issues, e.customerId, 'customerId', 1, MAX_KEY_LENGTH);
  issues = checkNumber(issues, e.ts, 'ts', MIN_TS, MAX_TS, true);
  if (e.sessionId !== undefined) issues = checkString(issues, e.sessionId, 'sessionId', 1, MAX_KEY_LENGTH);
  if (e.campaign !== undefined) {
    issues = checkString(issues, e.campaign.id, 'campaign.id', 1, MAX_KEY_LENGTH);
    if (e.campaign.channel !== undefined)
      issues = checkString(issues, e.campaign.channel, 'campaign.channel', 1, MAX_CATEGORY_LENGTH);
  }
  if (e.coupon !== undefined) issues = checkString(issues, e.coupon, 'coupon', 1, MAX_KEY_LENGTH);
  if (e.currency !== undefined && !isCurrencyCode(e.currency)) {
    (issues ??= []).push({
      code: 'invalid_format',
      format: 'regex',
      pattern: '^[A-Z]{3}$',
      input: e.currency,
      path: ['currency'],
      message: 'an ISO 4217 code',
    });
  }
  switch (e.type) {
    case 'product_view':
    case 'add_to_cart':
    case 'remove_from_cart':
      issues = checkString(issues, e.productId, 'productId', 1, MAX_KEY_LENGTH);
      if (e.category !== undefined) issues = checkString(issues, e.category, 'category', 1, MAX_CATEGORY_LENGTH);
      if (e.price !== undefined) issues = checkNumber(issues, e.price, 'price', 0, MAX_MONEY, false);
      if (e.quantity !== undefined) issues = checkNumber(issues, e.quantity, 'quantity', 1, MAX_QUANTITY, true);
      break;
    case 'checkout_started':
      if (e.orderId !== undefined) issues = checkString(issues, e.orderId, 'orderId', 1, MAX_KEY_LENGTH);
      break;
    case 'purchase': {
      issues = checkString(issues, e.orderId, 'orderId', 1, MAX_KEY_LENGTH);
      const n = e.items.length;
      if (n < 1 || n > MAX_ITEMS_PER_ORDER) {
        (issues ??= []).push(
          n < 1
            ? {
                code: 'too_small',
                origin: 'array',
                minimum: 1,
                inclusive: true,
                input: e.items,
                path: ['items'],
                message: 'an order has at least one item',
              }
            : {
                code: 'too_big',
                origin: 'array',
                maximum: MAX_ITEMS_PER_ORDER,
                inclusive: true,
                input: e.items,
                path: ['items'],
                message: `at most ${MAX_ITEMS_PER_ORDER} items`,
              },
        );
        break;
      }
      for (let i = 0; i < n; i++) {
        const item = e.items[i]!;
        issues = checkString(issues, item.productId, 'productId', 1, MAX_KEY_LENGTH, i);
        if (item.category !== undefined)
          issues = checkString(issues, item.category, 'category', 1, MAX_CATEGORY_LENGTH, i);
        issues = checkNumber(issues, item.price, 'price', 0, MAX_MONEY, false, i);
        issues = checkNumber(issues, item.quantity, 'quantity', 1, MAX_QUANTITY, true, i);
      }
      break;
    }
    case 'feedback':
      if (e.productId !== undefined) issues = checkString(issues, e.productId, 'productId', 1, MAX_KEY_LENGTH);
      if (e.orderId !== undefined) issues = checkString(issues, e.orderId, 'orderId', 1, MAX_KEY_LENGTH);
      if (e.rating !== undefined) issues = checkNumber(issues, e.rating, 'rating', 1, 5, true);
      if (e.rating === undefined && e.complaint === undefined) {
        (issues ??= []).push({
          code: 'custom',
          input: e,
          path: ['rating'],
          message: 'feedback needs a rating or a complaint flag',
        });
      }
      break;
    default:
      break;
  }
  return issues ?? NO_ISSUES;
}

export const canonicalEvent = eventStructure.check((ctx) => {
  const issues = eventBounds(ctx.value);
  for (let i = 0; i < issues.length; i++) ctx.issues.push(issues[i]!);
});
export type CanonicalEvent = z.infer<typeof canonicalEvent>;
export type PurchaseEvent = Extract<CanonicalEvent, { type: 'purchase' }>;

/** Order value: the sum of its items. Kept here so every consumer agrees on it. */
export function orderRevenue(e: PurchaseEvent): number {
  let sum = 0;
  for (const item of e.items) sum += item.price * item.quantity;
  return sum;
}
