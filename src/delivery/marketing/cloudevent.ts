import * as z from 'zod';
import { alertSchema, type Alert, type AlertType } from '../../alerts/alert.js';
import { cloudEventType as alertCloudEventType } from '../../alerts/alert-catalogue.js';

/**
 * Alerts as CloudEvents 1.0 (structured JSON mode): the one encoding of a trigger, on NATS
 * and in webhook bodies alike.
 *
 * | attribute | value |
 * |---|---|
 * | `specversion` | `1.0` |
 * | `id` | the alert id (deterministic; re-keyed when pseudonymising) |
 * | `source` | `triggers.nats.source` (a URI-reference) |
 * | `type` | `io.vigil.<alert type>.v1`, e.g. `io.vigil.churn.risk.v1` |
 * | `time` | the alert's event time `ts`, RFC 3339 in UTC |
 * | `subject` | the customer key (the pseudonym when pseudonymising); `category:<name>` for demand alerts, `campaign:<id>` for campaign reports |
 * | `datacontenttype` | `application/json` |
 * | `data` | the alert itself |
 */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

/** The CloudEvents `type` of an alert type's triggers (the rule lives with the docs it generates). */
export function cloudEventType(type: AlertType): string {
  return alertCloudEventType(type);
}

/** What Vigil sends; consumers can parse triggers with it (the examples do). */
export const vigilCloudEvent = z.strictObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().regex(/^io\.vigil\.[a-z_.]+\.v1$/),
  time: z.iso.datetime(),
  subject: z.string().min(1),
  datacontenttype: z.literal('application/json'),
  data: alertSchema,
});
export type VigilCloudEvent = z.infer<typeof vigilCloudEvent>;

/** `alert` must already be what may leave (see `MarketingGate.outgoing`). */
export function toCloudEvent(alert: Alert, source: string): VigilCloudEvent {
  return {
    specversion: '1.0',
    id: alert.id,
    source,
    type: cloudEventType(alert.type),
    time: new Date(alert.ts).toISOString(),
    subject: alert.customerId ?? aggregateSubject(alert),
    datacontenttype: 'application/json',
    data: alert,
  };
}

/** What an aggregate alert is about, in the place of a customer key. */
function aggregateSubject(alert: Alert): string {
  return alert.type === 'campaign.report'
    ? `campaign:${alert.data.campaign}`
    : `category:${(alert.data as { category: string }).category}`;
}

export function encodeCloudEvent(alert: Alert, source: string): Uint8Array {
  return Buffer.from(JSON.stringify(toCloudEvent(alert, source)), 'utf8');
}
