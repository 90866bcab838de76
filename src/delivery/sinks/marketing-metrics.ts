import { Counter, Gauge, type Registry } from 'prom-client';
import type { NatsTriggerSink, TriggerStats } from './nats-triggers.js';
import type { WebhookDeliveries, WebhookStats } from './webhooks.js';

/**
 * The marketing sinks' counters as Prometheus metrics, read from their `stats()` at each
 * scrape (nothing is counted twice, and the sinks do not depend on prom-client). Labels are
 * outcomes and destination names from the config, never customer data.
 *
 * - `vigil_triggers_total{outcome}`: published, duplicates, retried, overflow, dropped, suppressed
 * - `vigil_triggers_queue{state}`: queued, in_flight
 * - `vigil_webhook_deliveries_total{destination, outcome}`: delivered, failed, gone, dropped,
 *   retried, timeouts, overflow, suppressed
 * - `vigil_webhook_queue{destination, state}`: queued, in_flight
 * - `vigil_webhook_disabled{destination}`: 1 after a 410 Gone
 */
const triggerOutcomes = [
  'published',
  'duplicates',
  'retried',
  'overflow',
  'dropped',
  'suppressed',
] as const satisfies readonly (keyof TriggerStats)[];
const webhookOutcomes = [
  'delivered',
  'failed',
  'gone',
  'dropped',
  'retried',
  'timeouts',
  'overflow',
  'suppressed',
] as const satisfies readonly (keyof WebhookStats)[];

export interface MarketingMetricSources {
  readonly triggers?: NatsTriggerSink | undefined;
  readonly webhooks?: WebhookDeliveries | undefined;
}

export function registerMarketingMetrics(registry: Registry, sources: MarketingMetricSources): void {
  const { triggers, webhooks } = sources;
  if (triggers !== undefined) {
    new Counter({
      name: 'vigil_triggers_total',
      help: 'Marketing triggers on NATS JetStream by outcome',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const s = triggers.stats();
        this.reset();
        for (const o of triggerOutcomes) this.inc({ outcome: o }, s[o]);
      },
    });
    new Gauge({
      name: 'vigil_triggers_queue',
      help: 'Marketing triggers waiting (queued) or awaiting their ack (in_flight)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const s = triggers.stats();
        this.set({ state: 'queued' }, s.queued);
        this.set({ state: 'in_flight' }, s.inFlight);
      },
    });
  }
  if (webhooks !== undefined) {
    new Counter({
      name: 'vigil_webhook_deliveries_total',
      help: 'Webhook deliveries by destination and outcome',
      labelNames: ['destination', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [destination, s] of Object.entries(webhooks.stats())) {
          for (const o of webhookOutcomes) this.inc({ destination, outcome: o }, s[o]);
        }
      },
    });
    new Gauge({
      name: 'vigil_webhook_queue',
      help: 'Webhook deliveries waiting (queued) or under way (in_flight) by destination',
      labelNames: ['destination', 'state'],
      registers: [registry],
      collect() {
        for (const [destination, s] of Object.entries(webhooks.stats())) {
          this.set({ destination, state: 'queued' }, s.queued);
          this.set({ destination, state: 'in_flight' }, s.inFlight);
        }
      },
    });
    new Gauge({
      name: 'vigil_webhook_disabled',
      help: '1 for a destination disabled by 410 Gone',
      labelNames: ['destination'],
      registers: [registry],
      collect() {
        for (const [destination, s] of Object.entries(webhooks.stats())) this.set({ destination }, s.disabled ? 1 : 0);
      },
    });
  }
}
