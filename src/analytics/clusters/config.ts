import * as z from 'zod';

/** The `clusters` section of the configuration (defaults in config/default.json). */
export const clustersConfig = z.strictObject({
  /** Off: no behavioural clusters. */
  enabled: z.boolean(),
  k: z.number().int().min(2).max(50),
  /** One applied event in this many (chosen by a hash of the event id) feeds its customer's vector. */
  sampleEvery: z.number().int().min(1),
  batchSize: z.number().int().min(2).max(100_000),
  /** Points in the uniform sample the refreshes cluster. */
  reservoir: z.number().int().min(2).max(1_000_000),
  /** Mini-batches between refreshes from the reservoir; 0 never. */
  refreshEvery: z.number().int().min(0),
  /** Floor of a centroid's learning rate, so old behaviour fades. */
  minRate: z.number().min(0).max(1),
  /** Event time between published clusterings (the ones profiles use, with ids matched to the last). */
  publishEveryMs: z.number().int().min(60_000),
});
export type ClustersConfig = z.infer<typeof clustersConfig>;
