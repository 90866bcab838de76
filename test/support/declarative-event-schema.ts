import * as z from 'zod';

/**
 * The canonical event's bounds written the declarative zod way, one check per field. Too
 * slow for the hot path (see src/core/event.ts); kept here as the oracle the fast schema
 * must agree with.
 */
const eventTypeNames = [
  'page_view',
  'product_view',
  'add_to_cart',
  'remove_from_cart',
  'checkout_started',
  'purchase',
  'feedback',
] as const;
/** 1990-01-01 .. 2100-01-01 UTC: anything outside is a unit mistake (seconds, µs), not an event. (1990, not 2000: public purchase logs such as CDNOW are from the 1990s.) */
const MIN_TS = Date.UTC(1990, 0, 1);
const MAX_TS = Date.UTC(2100, 0, 1);
const MAX_ITEMS_PER_ORDER = 100;
const MAX_MONEY = 1e9;

const key = z.string().min(1).max(128);
const money = z.number().min(0).max(MAX_MONEY); // min/max also reject NaN and ±Infinity
const quantity = z.number().int().min(1).max(10_000);

const base = {
  id: key,
  customerId: key,
  ts: z.number().int().min(MIN_TS).max(MAX_TS),
  sessionId: key.optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  campaign: z.object({ id: key, channel: z.string().min(1).max(64).optional() }).optional(),
  coupon: key.optional(),
};
const product = {
  productId: key,
  category: z.string().min(1).max(64).optional(),
  price: money.optional(),
  quantity: quantity.optional(),
};

const orderItem = z.object({
  productId: key,
  category: z.string().min(1).max(64).optional(),
  price: money,
  quantity,
});

export const declarativeCanonicalEvent = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal(eventTypeNames[0]) }),
  z.object({ ...base, type: z.literal('product_view'), ...product }),
  z.object({ ...base, type: z.literal('add_to_cart'), ...product }),
  z.object({ ...base, type: z.literal('remove_from_cart'), ...product }),
  z.object({ ...base, type: z.literal('checkout_started'), orderId: key.optional() }),
  z.object({
    ...base,
    type: z.literal('purchase'),
    orderId: key,
    items: z.array(orderItem).min(1).max(MAX_ITEMS_PER_ORDER),
  }),
  z
    .object({
      ...base,
      type: z.literal('feedback'),
      productId: key.optional(),
      orderId: key.optional(),
      rating: z.number().int().min(1).max(5).optional(),
      complaint: z.boolean().optional(),
    })
    .refine((e) => e.rating !== undefined || e.complaint !== undefined, {
      message: 'feedback needs a rating or a complaint flag',
      path: ['rating'],
    }),
]);
