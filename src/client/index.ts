/**
 * `vigil-engine/client`: what an application needs to consume Vigil's live alerts, with the
 * protocol's own schemas to validate what it receives.
 */
export { connectStream, VigilStream, VigilStreamError, type VigilStreamOptions } from './stream-client.js';
export {
  alertFrame,
  gapFrame,
  kpiFrame,
  serverFrame,
  type AlertFrame,
  type GapFrame,
  type KpiFrame,
  type ServerFrame,
} from '../server/frames.js';
export { alertSchema, alertTypes, type Alert, type AlertType } from '../alerts/alert.js';
export type { AlertFilter } from '../alerts/alert-filter.js';
export { vigilCloudEvent, type VigilCloudEvent } from '../delivery/marketing/cloudevent.js';
