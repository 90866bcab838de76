import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric `v1`):
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`
 * where the key is the base64 part of a `whsec_…` secret and the timestamp is in whole
 * seconds. Receivers check it with `verifyWebhook` (or any Standard Webhooks library);
 * `vigil webhook verify` does it from the shell.
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
/** A `whsec_` secret as the config accepts it: at least 16 bytes of key (24 base64 characters). */
export const webhookSecretPattern = /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/;

/** The key bytes of a secret; the `whsec_` prefix is optional, as in the reference libraries. */
export function webhookKey(secret: string): Buffer {
  const b64 = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  const key = Buffer.from(b64, 'base64');
  if (key.length === 0) throw new RangeError('webhook secret has no key bytes');
  return key;
}

function mac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/** The `webhook-signature` value for one delivery attempt. */
export function signWebhook(
  secret: string | Buffer,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  const key = typeof secret === 'string' ? webhookKey(secret) : secret;
  return `v1,${mac(key, id, String(timestampSeconds), body).toString('base64')}`;
}

export interface WebhookToVerify {
  readonly secret: string;
  /** Header values as received. */
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  /** The raw body, byte for byte as received (not re-serialised JSON). */
  readonly body: string | Uint8Array;
  readonly toleranceSeconds?: number;
  /** Now, in seconds (tests); the wall clock otherwise. */
  readonly nowSeconds?: number;
}

export type WebhookVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'no_matching_signature' };

/**
 * Checks a delivery: the headers are present, the timestamp is within the tolerance (5 min
 * by default, either way: a replayed old delivery fails), and one of the space-separated
 * `v1,` signatures matches, compared in constant time.
 */
export function verifyWebhook(w: WebhookToVerify): WebhookVerdict {
  if (!w.id || !w.timestamp || !w.signature) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,12}$/.test(w.timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const now = w.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(w.timestamp)) > (w.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    return { ok: false, reason: 'timestamp_out_of_tolerance' };
  }
  // Compared as base64 text, as the reference libraries do: decoding first would accept
  // variants (stray characters, missing padding) that Node's lenient decoder ignores.
  const expected = Buffer.from(mac(webhookKey(w.secret), w.id, w.timestamp, w.body).toString('base64'), 'utf8');
  for (const versioned of w.signature.split(' ')) {
    const comma = versioned.indexOf(',');
    if (comma < 0 || versioned.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(versioned.slice(comma + 1), 'utf8');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
  }
  return { ok: false, reason: 'no_matching_signature' };
}
