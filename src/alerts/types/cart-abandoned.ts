import * as z from 'zod';
import {
  distinctProducts,
  duplicateProduct,
  eventTime,
  key,
  MAX_CART_ITEMS,
  MAX_RECOMMENDATIONS,
} from '../alert-fields.js';
import { defineAlertType } from '../alert-type.js';

export const cartAbandoned = defineAlertType({
  type: 'cart.abandoned',
  /**
   * The cart as keyed state knows it: the products carted and not removed or bought since
   * (from the customer's recent items), and the cart's total quantity. Per-line quantities
   * and prices are not kept per customer; a reminder looks them up by product.
   */
  data: z.strictObject({
    items: z
      .array(z.strictObject({ productId: key }))
      .min(1)
      .max(MAX_CART_ITEMS),
    quantity: z.number().int().min(1),
    /** Event time of the last activity of the session that left the cart. */
    sessionEnd: eventTime,
    recommendations: z.array(key).max(MAX_RECOMMENDATIONS).refine(distinctProducts, duplicateProduct),
  }),
  // Reminders.
  audience: 'marketing',
  subject: 'customer',
  occasion: (d) => [d.sessionEnd],
  policyKey: 'cartAbandoned',
  severities: ['info'],
  dashboard: { label: 'cart abandoned', colour: 'var(--warn)' },
  status: 'cart',
  docs: {
    data: '`items` (`productId`), `quantity` (units in the cart), `sessionEnd`, `recommendations` (product ids)',
    score: '0.5 + 0.05 per product, at most 1',
    occasion: 'the session end',
  },
});
