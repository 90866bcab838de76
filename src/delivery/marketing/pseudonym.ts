import { createHmac } from 'node:crypto';
import type { Alert } from '../../alerts/alert.js';

/**
 * Keyed pseudonyms for customer ids leaving the process for marketing.
 *
 * A pseudonym is `p-` + the first 22 base64url characters (132 bits) of
 * HMAC-SHA256(secret, "vigil.customer.v1\0" + customerId). It is deterministic, so a
 * marketing tool can keep per-customer state on it across triggers and replays; without the
 * secret it cannot be computed, nor linked back to an id by trying candidate ids. The
 * mapping is reversed by recomputing it: whoever holds the secret hashes their own customer
 * list and looks the pseudonym up (there is no decryption, so a leaked event reveals
 * nothing even to someone who later learns the ids of other customers).
 *
 * Alert ids are hashes over the raw customer id (with the type, time and occasion), which
 * someone who knows an alert's `ts` and occasion could test candidate ids against. So, with
 * pseudonymisation on, the outgoing id is re-keyed too: `<type>:` + 32 hex digits of
 * HMAC-SHA256(secret, "vigil.alert.v1\0" + id). It is still deterministic (replays
 * de-duplicate) and still matches the alert id pattern.
 */
export const PSEUDONYM_PREFIX = 'p-';
export const PSEUDONYM_CHARS = 22;
const CUSTOMER_DOMAIN = 'vigil.customer.v1\0';
const ALERT_DOMAIN = 'vigil.alert.v1\0';

export class Pseudonymiser {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(secret, 'utf8');
  }

  customer(customerId: string): string {
    const mac = createHmac('sha256', this.key)
      .update(CUSTOMER_DOMAIN + customerId)
      .digest('base64url');
    return PSEUDONYM_PREFIX + mac.slice(0, PSEUDONYM_CHARS);
  }

  alertId(alert: Pick<Alert, 'id' | 'type'>): string {
    const mac = createHmac('sha256', this.key)
      .update(ALERT_DOMAIN + alert.id)
      .digest('hex');
    return `${alert.type}:${mac.slice(0, 32)}`;
  }

  /** The alert as it may leave: customer id and alert id replaced, everything else shared. */
  apply(alert: Alert): Alert {
    // An alert about an aggregate (demand) names no customer: only its id is re-keyed.
    if (alert.customerId === null) return { ...alert, id: this.alertId(alert) };
    return { ...alert, id: this.alertId(alert), customerId: this.customer(alert.customerId) } as Alert;
  }
}
