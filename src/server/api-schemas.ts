import * as z from 'zod';
import { errorCodes, type ErrorCode } from '../core/errors.js';
import { clusterBody } from './aggregate-api-schemas.js';

/**
 * The HTTP API's response bodies as zod schemas, for the OpenAPI document (api-specs.ts).
 * `profile` and `analytics` of a customer are described as open objects: their fields are
 * listed in docs/analytics.md, not yet as schemas.
 */
export const errorBody = z.strictObject({
  error: z.strictObject({ code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]), message: z.string() }),
});
export const livezBody = z.strictObject({ status: z.literal('ok') });
export const readyzBody = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  sourceConnected: z.boolean(),
  stateReady: z.boolean(),
  /** False while a stream refuses dead letters or late events and input is held back. */
  outputsFlowing: z.boolean(),
});
export const tokenBody = z.strictObject({ name: z.string(), scopes: z.array(z.string()), types: z.array(z.string()) });
const scoredItem = z.strictObject({ productId: z.string(), score: z.number() });
export const similarBody = z.strictObject({
  productId: z.string(),
  asOf: z.number().nullable(),
  similar: z.array(scoredItem),
});
export const customerBody = z.strictObject({
  asOf: z.number().nullable(),
  profile: z.looseObject({}).describe('the customer record as of the watermark (docs/analytics.md, state dump fields)'),
  segment: z.string().nullable(),
  analytics: z.looseObject({}).nullable().describe('churn, value and RFM insight (docs/analytics.md)'),
  recommendations: z.array(scoredItem),
  cluster: clusterBody
    .nullable()
    .describe(
      'the behavioural cluster, by its stable id and label (docs/analytics.md); null before the first refresh or with clusters.enabled off',
    ),
});
