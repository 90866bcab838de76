import * as z from 'zod';

/**
 * The canonical event: the one shape every input format is mapped to before it reaches
 * keyed state. Types come from this schema (`z.infer`), never from hand-written interfaces.
 * Bounds keep one hostile message from costing more than a small, known amount.
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

/** 2000-01-01 .. 2100-01-01 UTC: anything outside is a unit mistake (seconds, µs), not an event. */
export const MIN_TS = Date.UTC(2000, 0, 1);
export const MAX_TS = Date.UTC(2100, 0, 1);
export const MAX_ITEMS_PER_ORDER = 100;
const MAX_MONEY = 1e9;

const key = z.string().min(1).max(128);
const money = z.number().min(0).max(MAX_MONEY); // min/max also reject NaN and ±Infinity
const quantity = z.number().int().min(1).max(10_000);

const base = {
  id: key,
  customerId: key,
  ts: z.number().int().min(MIN_TS).max(MAX_TS),
  sessionId: key.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
};
const product = {
  productId: key,
  category: z.string().min(1).max(64).optional(),
  price: money.optional(),
  quantity: quantity.optional(),
};

export const orderItem = z.object({
  productId: key,
  category: z.string().min(1).max(64).optional(),
  price: money,
  quantity,
});
export type OrderItem = z.infer<typeof orderItem>;

export const canonicalEvent = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('page_view') }),
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
export type CanonicalEvent = z.infer<typeof canonicalEvent>;
export type PurchaseEvent = Extract<CanonicalEvent, { type: 'purchase' }>;

/** Order value: the sum of its items. Kept here so every consumer agrees on it. */
export function orderRevenue(e: PurchaseEvent): number {
  let sum = 0;
  for (const item of e.items) sum += item.price * item.quantity;
  return sum;
}
