import * as z from 'zod';

/** A sliding window of keyed state: `buckets` time buckets over `horizonMs` of event time. */
export const windowSpec = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9_]{1,16}$/),
    horizonMs: z.number().int().min(1000),
    buckets: z.number().int().min(1).max(64),
  })
  .refine((w) => w.horizonMs % w.buckets === 0, {
    message: 'horizonMs must be a whole multiple of buckets (bucket width in whole ms)',
    path: ['buckets'],
  });
export type WindowSpec = z.infer<typeof windowSpec>;
