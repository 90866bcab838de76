import { isMarketingFacing, type Alert, type AlertType } from '../../alerts/alert.js';
import type { SuppressionList } from '../../alerts/suppression.js';
import { Pseudonymiser } from './pseudonym.js';

/**
 * The one gate between alerts and marketing destinations (NATS triggers, webhooks): an
 * alert passes only if its type is marketing-facing and the destination asked for it, and
 * the customer has not opted out (`SuppressionList.mayDeliver(…, 'marketing')`); what
 * passes is pseudonymised when a key is configured. Every marketing sink goes through here,
 * so none can forget a step.
 */
export type GateVerdict = Alert | 'unwanted' | 'suppressed';

export class MarketingGate {
  constructor(
    private readonly suppression: SuppressionList,
    private readonly pseudonymiser: Pseudonymiser | null,
  ) {}

  static of(suppression: SuppressionList, pseudonymSecret: string | null): MarketingGate {
    return new MarketingGate(suppression, pseudonymSecret === null ? null : new Pseudonymiser(pseudonymSecret));
  }

  get pseudonymising(): boolean {
    return this.pseudonymiser !== null;
  }

  /** The alert as it may leave for marketing, or why it must not. */
  outgoing(alert: Alert, wanted: ReadonlySet<AlertType>): GateVerdict {
    if (!wanted.has(alert.type) || !isMarketingFacing(alert.type)) return 'unwanted';
    if (!this.suppression.mayDeliver(alert, 'marketing')) return 'suppressed';
    return this.pseudonymiser === null ? alert : this.pseudonymiser.apply(alert);
  }
}
