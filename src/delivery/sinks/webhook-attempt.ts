import { backoffDelay, retryAfterMs } from '../../core/backoff.js';
import { CLOUDEVENTS_CONTENT_TYPE } from '../marketing/cloudevent.js';
import type { WebhookDestination } from '../marketing/webhook-destinations.js';
import { signWebhook } from '../marketing/webhook-signature.js';
import { PostTimeout, type HttpPoster } from './http-post.js';

/**
 * One Standard Webhooks delivery attempt and what it means, shared by the in-process
 * webhook sink and the durable outbox so that both sign, send and judge answers alike:
 * - 2xx: delivered.
 * - 410 Gone: the destination is gone.
 * - 429 or 503: retry, after `Retry-After` when it says.
 * - 408, other 5xx, a timeout or a network error: retry after a backoff delay.
 * - anything else (other 4xx, 3xx: redirects are not followed): dead at once.
 */
export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'gone' }
  | { kind: 'dead'; status: number }
  | { kind: 'retry'; afterMs?: number | undefined; why: string; timedOut?: boolean };

/** `webhook-id` is the CloudEvent id, the same on every attempt; timestamp and signature are fresh. */
export async function attemptWebhook(
  poster: HttpPoster,
  spec: WebhookDestination,
  id: string,
  body: Uint8Array,
  nowMs: number,
): Promise<AttemptOutcome> {
  const timestamp = Math.floor(nowMs / 1000);
  try {
    const res = await poster.post(
      {
        'content-type': CLOUDEVENTS_CONTENT_TYPE,
        'user-agent': 'vigil-webhooks/1',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(spec.key, id, timestamp, body),
      },
      body,
      spec.timeoutMs,
    );
    const s = res.status;
    if (s >= 200 && s < 300) return { kind: 'delivered' };
    if (s === 410) return { kind: 'gone' };
    if (s === 429 || s === 503) {
      const after = res.headers['retry-after'];
      return {
        kind: 'retry',
        afterMs: retryAfterMs(typeof after === 'string' ? after : undefined, nowMs),
        why: `HTTP ${s}`,
      };
    }
    if (s === 408 || s >= 500) return { kind: 'retry', why: `HTTP ${s}` };
    return { kind: 'dead', status: s };
  } catch (e) {
    if (e instanceof PostTimeout) return { kind: 'retry', why: 'timeout', timedOut: true };
    return { kind: 'retry', why: `network error (${(e as NodeJS.ErrnoException)?.code ?? 'unknown'})` };
  }
}

/** The wait before retry number `retry` (1 for the first): the receiver's Retry-After, capped, or the backoff. */
export function retryDelay(
  outcome: { afterMs?: number | undefined },
  retry: number,
  spec: WebhookDestination,
  random: () => number,
): number {
  return outcome.afterMs !== undefined
    ? Math.min(outcome.afterMs, spec.maxRetryAfterMs)
    : backoffDelay(retry, spec.backoff, random);
}
