import * as z from 'zod';

/**
 * Retry delays for deliveries that leave the process (webhooks, trigger publishes):
 * exponential backoff with "full jitter" (a uniform draw from zero up to the capped
 * exponential), so destinations that fail together are not retried in lockstep.
 */
export const backoffConfig = z
  .strictObject({
    /** Upper bound of the first retry's delay; each further retry doubles it. */
    baseMs: z.number().int().min(1).max(3_600_000),
    /** No delay exceeds this, however many attempts failed. */
    maxMs: z.number().int().min(1).max(86_400_000),
  })
  .refine((b) => b.maxMs >= b.baseMs, { message: 'must be at least baseMs', path: ['maxMs'] });
export type BackoffConfig = z.infer<typeof backoffConfig>;

/** The delay before retry number `retry` (1 for the first retry). `random` returns [0, 1). */
export function backoffDelay(retry: number, cfg: BackoffConfig, random: () => number = Math.random): number {
  const ceiling = Math.min(cfg.maxMs, cfg.baseMs * 2 ** Math.min(Math.max(retry - 1, 0), 40));
  return Math.floor(random() * ceiling);
}

/**
 * A `Retry-After` header as a delay in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * undefined when absent or unreadable; a date in the past is 0.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** A sleep that ends early (resolving) when `signal` aborts, so closing never waits out a backoff. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
