import { isMarketingFacing, marketingAlertTypes } from '../../alerts/alert.js';
import { VigilError } from '../../core/errors.js';
import type { TriggersConfig } from '../marketing/config.js';

/**
 * With NATS triggers on, webhooks are delivered from the trigger stream, so the stream must
 * carry every alert type a destination asks for: a destination wanting a type that
 * `triggers.nats.types` leaves out is refused at start, rather than never receiving it.
 */
export function checkOutboxCarries(t: TriggersConfig): void {
  const published = new Set(t.nats.types ?? marketingAlertTypes);
  for (const d of t.webhooks.destinations) {
    const wanted = d.filter?.types?.length ? d.filter.types : marketingAlertTypes;
    const missing = wanted.filter((type) => isMarketingFacing(type) && !published.has(type));
    if (missing.length > 0) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        `webhook ${d.name} wants ${missing.join(', ')}, which triggers.nats.types does not publish (with NATS triggers on, webhooks are delivered from the trigger stream)`,
        ["add the types to triggers.nats.types, or leave them out of the destination's filter.types"],
      );
    }
  }
}
