import * as z from 'zod';

/** Erasure of a customer (docs/ops.md, "Security model"). */
export const erasureConfig = z.strictObject({
  /**
   * Without NATS: the suppression list, a JSON array of erased ids, rewritten whole (write
   * then rename) at each erasure and reloaded when it changes. null: held in memory only.
   */
  file: z.string().min(1).nullable(),
  /** With NATS: the JetStream KV bucket holding the list (one key per erased id). */
  kvBucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** Erasure requests arrive on this NATS subject, the id as the body; the reply says what was done. */
  subject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/),
  /** How often the file is checked for changes (ms). */
  reloadMs: z.number().int().min(100).max(60_000),
  /** Erased ids the list may hold; a longer list is refused, never cut. */
  maxIds: z.number().int().min(1).max(100_000_000),
});
export type ErasureConfig = z.infer<typeof erasureConfig>;
