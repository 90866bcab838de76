import * as z from 'zod';
import { distinctProducts, duplicateProduct, key, MAX_BASED_ON, MAX_RECOMMENDATIONS } from '../alert-fields.js';
import { defineAlertType } from '../alert-type.js';

const recommendation = z.strictObject({ productId: key, score: z.number().min(0) });

export const recommendationCrossSell = defineAlertType({
  type: 'recommendation.cross_sell',
  data: z.strictObject({
    orderId: key,
    /** Products of the order the recommendations were drawn from. */
    basedOn: z.array(key).min(1).max(MAX_BASED_ON),
    recommendations: z
      .array(recommendation)
      .min(1)
      .max(MAX_RECOMMENDATIONS)
      .refine((rs) => distinctProducts(rs.map((r) => r.productId)), duplicateProduct),
  }),
  // Offers.
  audience: 'marketing',
  subject: 'customer',
  occasion: (d) => [d.orderId],
  policyKey: 'recommendationCrossSell',
  severities: ['info'],
  dashboard: { label: 'cross-sell', colour: 'var(--good)' },
  status: 'xsell',
  docs: {
    data: "`orderId`, `basedOn` (the order's products), `recommendations` (`productId`, `score`)",
    score: "the best recommendation's score, at most 1",
    occasion: 'the order id',
  },
});
