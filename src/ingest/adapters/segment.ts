import * as z from 'zod';
import { MAX_ITEMS_PER_ORDER, type EventType } from '../../core/event.js';

/**
 * Input adapter for the Segment "E-commerce Spec v2" and RudderStack's e-commerce spec,
 * which uses the same call shape and event names. A decoded payload that `isSegmentMessage`
 * recognises goes through `fromSegment`, which maps it to a canonical event *candidate*: a
 * plain object that the pipeline then validates with `canonicalEvent` like any other input.
 * So this file owns the mapping and the Segment-side structure; every bound (key lengths,
 * ts range, ISO 4217, money, quantities, item count) stays in src/core/event.ts.
 *
 * | Segment / RudderStack                                    | canonical                         |
 * |----------------------------------------------------------|-----------------------------------|
 * | `messageId`                                              | `id`                              |
 * | `userId`, else `anonymousId` as `anon:<anonymousId>`     | `customerId`                      |
 * | `timestamp`, else derived (see `eventTime`)              | `ts` (epoch ms)                   |
 * | `context.sessionId`, else `properties.session_id`        | `sessionId`                       |
 * | `type: "page"`                                           | `page_view`                       |
 * | Product Viewed / Product Added / Product Removed         | `product_view` / `add_to_cart` / `remove_from_cart` |
 * | `product_id`, else `sku`, else `id`                      | `productId`                       |
 * | `price`, `category`, `quantity` (default 1)              | `price`, `category`, `quantity`   |
 * | Checkout Started                                         | `checkout_started`                |
 * | Order Completed                                          | `purchase`                        |
 * | `order_id`, else `checkout_id`                           | `orderId`                         |
 * | `products[]` (`product_id`/`sku`/`id`, `price`, `quantity` default 1, `category`) | `items` |
 * | no products: one item `{order id, revenue ?? total, 1}`  | `items`                           |
 * | `currency`, upper-cased                                  | `currency`                        |
 * | `context.campaign.name` (UTM campaign), `medium` else `source` | `campaign.id`, `campaign.channel` (any call) |
 * | `properties.coupon` (Checkout Started, Order Completed)  | `coupon`                          |
 * | Promotion Viewed / Promotion Clicked                     | `page_view`, `campaign` `{id: promotion_id ?? name, channel: "promotion"}` |
 * | Coupon Applied                                           | `page_view`, `coupon` `coupon_id ?? coupon_name` |
 *
 * Identifiers may arrive as strings or as whole numbers (many shops send numeric product and
 * order ids); numbers become their decimal string. An empty string counts as absent, so
 * `product_id: ""` falls through to `sku`, and `userId: ""` to `anonymousId`. Money and
 * quantities must be JSON numbers, as both specs say: a string price ("18,99" in some
 * locales) is rejected at its path rather than guessed at.
 *
 * Not handled here: the HTTP API's `{ batch: [...] }` envelope (split it at the source),
 * `screen` calls, and identity stitching (`identify` / `alias`).
 */

/** A rejection carries one of these, with the path of the offending Segment field. */
export type SegmentRejectReason = 'VIGIL_ERR_SEGMENT_UNKNOWN_EVENT' | 'VIGIL_ERR_SCHEMA';
export type SegmentResult = { ok: true; event: unknown } | { ok: false; reason: SegmentRejectReason; path: string };

/** The track events Vigil maps, and the canonical type each becomes. */
export const segmentTrackEvents = {
  'Product Viewed': 'product_view',
  'Product Added': 'add_to_cart',
  'Product Removed': 'remove_from_cart',
  'Checkout Started': 'checkout_started',
  'Order Completed': 'purchase',
  // On-site promotions and coupons: a visit that carries the attribution (docs/events.md).
  'Promotion Viewed': 'page_view',
  'Promotion Clicked': 'page_view',
  'Coupon Applied': 'page_view',
} as const satisfies Record<string, EventType>;

/** The campaign channel of a Promotion Viewed / Clicked event. */
export const PROMOTION_CHANNEL = 'promotion';

/**
 * Prefix of customer ids made from `anonymousId`. Segment and RudderStack draw anonymous ids
 * and user ids from different namespaces (a device UUID against the shop's user key), so the
 * same string could name two people; prefixing keeps them apart. A `userId` that itself
 * starts with the prefix is rejected, which makes the two sets of customer ids disjoint.
 * No identity stitching: a visitor's anonymous history stays under `anon:<id>` after they log in.
 */
export const ANONYMOUS_PREFIX = 'anon:';

/**
 * The call types of the Segment spec. Only `track` and `page` are mapped; the others are
 * still recognised as Segment calls so that they are rejected as such (reason
 * VIGIL_ERR_SEGMENT_UNKNOWN_EVENT, path `type`) rather than as a canonical event of an
 * unknown type.
 */
const segmentCallTypes: ReadonlySet<string> = new Set(['track', 'page', 'screen', 'identify', 'group', 'alias']);

// ---- structure ------------------------------------------------------------------------
// Structure only, like the canonical schema: which fields, of which JS types. Unknown fields
// (`context.*`, `integrations`, `name`, `brand`, `url`, …) are ignored. `nullish` throughout
// because SDKs send `null` for fields they have no value for.

const key = z.union([z.string(), z.int()]).nullish();
const money = z.number().nullish();
const text = z.string().nullish();

const common = {
  messageId: z.string(),
  userId: text,
  anonymousId: text,
  timestamp: text,
  originalTimestamp: text,
  sentAt: text,
  receivedAt: text,
  context: z
    .object({
      /** RudderStack's SDKs put their session id here, as a number (epoch ms of the session start). */
      sessionId: key,
      /** UTM parameters of the landing, as both SDKs collect them. */
      campaign: z.object({ name: text, source: text, medium: text }).nullish(),
    })
    .nullish(),
};

const productProperties = z.object({
  product_id: key,
  sku: key,
  id: key, // e-commerce spec v1 name, still sent by older integrations
  category: text,
  price: money,
  quantity: money,
  currency: text,
  session_id: key,
});

const checkoutProperties = z.object({ order_id: key, checkout_id: key, currency: text, session_id: key, coupon: text });

const orderProduct = z.object({ product_id: key, sku: key, id: key, category: text, price: money, quantity: money });
const orderProperties = z.object({
  order_id: key,
  checkout_id: key,
  products: z.array(orderProduct).nullish(),
  revenue: money,
  total: money,
  currency: text,
  session_id: key,
  coupon: text,
});

const pageProperties = z.object({ session_id: key });
const promotionProperties = z.object({ promotion_id: key, name: text, session_id: key });
const couponProperties = z.object({ coupon_id: key, coupon_name: text, session_id: key });

const trackCall = z.discriminatedUnion('event', [
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Product Viewed'),
    properties: productProperties.nullish(),
  }),
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Product Added'),
    properties: productProperties.nullish(),
  }),
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Product Removed'),
    properties: productProperties.nullish(),
  }),
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Checkout Started'),
    properties: checkoutProperties.nullish(),
  }),
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Order Completed'),
    properties: orderProperties.nullish(),
  }),
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Promotion Viewed'),
    properties: promotionProperties.nullish(),
  }),
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Promotion Clicked'),
    properties: promotionProperties.nullish(),
  }),
  z.object({
    ...common,
    type: z.literal('track'),
    event: z.literal('Coupon Applied'),
    properties: couponProperties.nullish(),
  }),
]);
const pageCall = z.object({ ...common, type: z.literal('page'), properties: pageProperties.nullish() });

/** A Segment / RudderStack call Vigil maps: a `page` call or one of the `segmentTrackEvents`. */
export const segmentMessage = z.discriminatedUnion('type', [pageCall, trackCall]);
export type SegmentMessage = z.infer<typeof segmentMessage>;

// ---- recognition ----------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether a decoded payload is a Segment / RudderStack call rather than a canonical event:
 * its `type` is a Segment call type (which no canonical type equals) and it has no
 * `customerId` (a producer that sends one means the canonical format, and is better told
 * that its `type` is unknown). `messageId` is not required here, so that a Segment call
 * without one is rejected by `fromSegment` with path `messageId` rather than misfiled.
 */
export function isSegmentMessage(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const type = value.type;
  return typeof type === 'string' && segmentCallTypes.has(type) && value.customerId === undefined;
}

// ---- mapping --------------------------------------------------------------------------

type Rejection = Extract<SegmentResult, { ok: false }>;

function schemaError(path: string): Rejection {
  return { ok: false, reason: 'VIGIL_ERR_SCHEMA', path };
}

/**
 * A discriminator that is a string but matches no option is a call type or event name Vigil
 * does not map; anything else is a structural error at the issue's path. Paths are built from
 * schema keys and array indices only, never from input values.
 */
function rejectionFromIssue(issue: z.core.$ZodIssue | undefined, value: unknown): Rejection {
  if (issue === undefined) return schemaError('');
  const path = issue.path.map(String).join('.');
  if (
    issue.code === 'invalid_union' &&
    (path === 'type' || path === 'event') &&
    isRecord(value) &&
    typeof value[path] === 'string'
  ) {
    return { ok: false, reason: 'VIGIL_ERR_SEGMENT_UNKNOWN_EVENT', path };
  }
  return schemaError(path);
}

function keyOf(v: string | number | null | undefined): string | undefined {
  if (typeof v === 'number') return String(v);
  return v === null || v === undefined || v === '' ? undefined : v;
}

function firstKey(
  a: string | number | null | undefined,
  b: string | number | null | undefined,
  c?: string | number | null,
): string | undefined {
  return keyOf(a) ?? keyOf(b) ?? keyOf(c);
}

/**
 * ISO 8601 date-time with seconds optional, fraction optional, and a zone designator
 * required. `Date.parse` reads a zone-less date-time in the host's local zone, so the same
 * message would get a different `ts` on differently configured machines and a replay would
 * not reproduce; such strings, and the non-ISO formats `Date.parse` also guesses at, are
 * rejected. Calendar overflow (Feb 30) is left to `Date.parse`, which rolls it over.
 */
const ISO_8601 =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/;
const MAX_TIMESTAMP_LENGTH = 40;

function instant(s: string): number | undefined {
  if (s.length > MAX_TIMESTAMP_LENGTH || !ISO_8601.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The event time, following the common-fields spec of both tools:
 *  1. `timestamp`, when present. Segment and RudderStack set it on receipt as
 *     `receivedAt - (sentAt - originalTimestamp)`, the device time corrected for clock skew,
 *     and it is what they deliver downstream and replay.
 *  2. Otherwise that same correction, computed here, when `originalTimestamp`, `sentAt` and
 *     `receivedAt` are all present.
 *  3. Otherwise `originalTimestamp` as is: a payload straight from an SDK, which the server
 *     has not stamped yet (RudderStack's SDKs send only `originalTimestamp` and `sentAt`).
 * `sentAt` alone is never used: it is when a batch left the device, which for a mobile
 * client that queued events offline can be hours after they happened. A present but
 * malformed field is rejected at its own path rather than skipped, since skipping it would
 * quietly change which clock the event is placed by.
 */
function eventTime(m: SegmentMessage): number | Rejection {
  if (m.timestamp !== undefined && m.timestamp !== null) return instant(m.timestamp) ?? schemaError('timestamp');
  if (m.originalTimestamp === undefined || m.originalTimestamp === null) return schemaError('timestamp');
  const original = instant(m.originalTimestamp);
  if (original === undefined) return schemaError('originalTimestamp');
  if (m.sentAt === undefined || m.sentAt === null || m.receivedAt === undefined || m.receivedAt === null)
    return original;
  const sent = instant(m.sentAt);
  if (sent === undefined) return schemaError('sentAt');
  const received = instant(m.receivedAt);
  if (received === undefined) return schemaError('receivedAt');
  return received - (sent - original);
}

function customerIdOf(m: SegmentMessage): string | Rejection {
  const userId = keyOf(m.userId);
  if (userId !== undefined) return userId.startsWith(ANONYMOUS_PREFIX) ? schemaError('userId') : userId;
  const anonymousId = keyOf(m.anonymousId);
  return anonymousId === undefined ? schemaError('userId') : ANONYMOUS_PREFIX + anonymousId;
}

type Candidate = Record<string, unknown>;
type ProductProperties = z.infer<typeof productProperties>;
type OrderProperties = z.infer<typeof orderProperties>;

function setCurrency(e: Candidate, currency: string | null | undefined): void {
  if (currency) e.currency = currency.toUpperCase();
}

function productEvent(e: Candidate, p: ProductProperties): SegmentResult {
  const productId = firstKey(p.product_id, p.sku, p.id);
  if (productId === undefined) return schemaError('properties.product_id');
  e.productId = productId;
  if (p.category) e.category = p.category;
  if (p.price !== undefined && p.price !== null) e.price = p.price;
  e.quantity = p.quantity ?? 1;
  setCurrency(e, p.currency);
  return { ok: true, event: e };
}

/**
 * Items come from `products[]`; the order's value is then the sum of price × quantity
 * (`orderRevenue`), and `revenue` / `total` are not used, since they may include or exclude
 * shipping, tax and discounts as the shop chooses. An order sent without products but with a
 * value becomes one item, the order itself, priced at `revenue` (merchandise value, closest
 * to the sum of items), else `total`.
 */
function purchaseEvent(e: Candidate, p: OrderProperties): SegmentResult {
  const orderId = firstKey(p.order_id, p.checkout_id);
  if (orderId === undefined) return schemaError('properties.order_id');
  e.orderId = orderId;
  const products = p.products ?? [];
  const items: Candidate[] = [];
  for (let i = 0; i < products.length; i++) {
    const product = products[i]!;
    const productId = firstKey(product.product_id, product.sku, product.id);
    if (productId === undefined) return schemaError(`properties.products.${i}.product_id`);
    if (product.price === undefined || product.price === null) return schemaError(`properties.products.${i}.price`);
    const item: Candidate = { productId, price: product.price, quantity: product.quantity ?? 1 };
    if (product.category) item.category = product.category;
    items.push(item);
  }
  if (items.length === 0) {
    const value = p.revenue ?? p.total;
    if (value === undefined || value === null) return schemaError('properties.products');
    items.push({ productId: orderId, price: value, quantity: 1 });
  }
  e.items = items;
  setCurrency(e, p.currency);
  return { ok: true, event: e };
}

/** Parsing more products than an order may hold would be work thrown away; stop before. */
function hasTooManyProducts(value: unknown): boolean {
  if (!isRecord(value) || value.event !== 'Order Completed' || !isRecord(value.properties)) return false;
  const products = value.properties.products;
  return Array.isArray(products) && products.length > MAX_ITEMS_PER_ORDER;
}

/**
 * Maps a Segment / RudderStack `track` or `page` call to a canonical event candidate, or
 * says why it cannot: VIGIL_ERR_SEGMENT_UNKNOWN_EVENT for a call type or event name Vigil
 * does not map (path `type` or `event`), VIGIL_ERR_SCHEMA for a missing or mistyped field
 * (path of the Segment field, e.g. `properties.products.1.price`).
 */
export function fromSegment(value: unknown): SegmentResult {
  if (hasTooManyProducts(value)) return schemaError('properties.products');
  const parsed = segmentMessage.safeParse(value);
  if (!parsed.success) return rejectionFromIssue(parsed.error.issues[0], value);
  const m = parsed.data;
  if (m.messageId === '') return schemaError('messageId');
  const customerId = customerIdOf(m);
  if (typeof customerId !== 'string') return customerId;
  const ts = eventTime(m);
  if (typeof ts !== 'number') return ts;

  const e: Candidate = { id: m.messageId, customerId, ts };
  const sessionId = keyOf(m.context?.sessionId) ?? keyOf(m.properties?.session_id);
  if (sessionId !== undefined) e.sessionId = sessionId;
  const utm = m.context?.campaign;
  const campaignId = keyOf(utm?.name);
  if (campaignId !== undefined) {
    const channel = keyOf(utm?.medium) ?? keyOf(utm?.source);
    e.campaign = channel === undefined ? { id: campaignId } : { id: campaignId, channel };
  }

  if (m.type === 'page') {
    e.type = 'page_view';
    return { ok: true, event: e };
  }
  e.type = segmentTrackEvents[m.event];
  switch (m.event) {
    case 'Product Viewed':
    case 'Product Added':
    case 'Product Removed':
      return productEvent(e, m.properties ?? {});
    case 'Checkout Started': {
      const p = m.properties ?? {};
      const orderId = firstKey(p.order_id, p.checkout_id);
      if (orderId !== undefined) e.orderId = orderId;
      setCurrency(e, p.currency);
      if (p.coupon) e.coupon = p.coupon;
      return { ok: true, event: e };
    }
    case 'Order Completed': {
      const p = m.properties ?? {};
      if (p.coupon) e.coupon = p.coupon;
      return purchaseEvent(e, p);
    }
    case 'Promotion Viewed':
    case 'Promotion Clicked': {
      // The promotion is this event's campaign, whatever the landing's UTM said.
      const id = firstKey(m.properties?.promotion_id, m.properties?.name);
      if (id === undefined) return schemaError('properties.promotion_id');
      e.campaign = { id, channel: PROMOTION_CHANNEL };
      return { ok: true, event: e };
    }
    case 'Coupon Applied': {
      const coupon = firstKey(m.properties?.coupon_id, m.properties?.coupon_name);
      if (coupon === undefined) return schemaError('properties.coupon_id');
      e.coupon = coupon;
      return { ok: true, event: e };
    }
  }
}
