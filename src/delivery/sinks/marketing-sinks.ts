import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { loadSuppressionFile, SuppressionList } from '../../alerts/suppression.js';
import type { AlertsConfig } from '../../alerts/config.js';
import type { NatsConfig } from '../../edges/nats/config.js';
import type { TriggersConfig } from '../marketing/config.js';
import type { AlertOutput } from '../../alerts/alert-emitter.js';
import type { Batch } from '../../core/batch.js';
import type { BatchSink } from '../../core/batch-sink.js';
import { VigilError } from '../../core/errors.js';
import { MarketingGate } from '../marketing/audience.js';
import { resolveWebhooks } from '../marketing/webhook-destinations.js';
import { connectNats } from '../../edges/nats/nats-connection.js';
import { registerMarketingMetrics } from './marketing-metrics.js';
import { NatsTriggerSink } from './nats-triggers.js';
import { checkOutboxCarries } from './webhook-outbox-config.js';
import { WebhookOutbox, webhookConsumerName } from './webhook-outbox.js';
import { WebhookSink, type WebhookDeliveries } from './webhooks.js';

export interface MarketingSinks {
  /** For `Engine.run` (empty when nothing is configured). */
  readonly sinks: BatchSink<Batch & AlertOutput>[];
  readonly triggers: NatsTriggerSink | undefined;
  /** The durable outbox on the trigger stream when triggers go to NATS; the in-process sink otherwise. */
  readonly webhooks: WebhookDeliveries | undefined;
  /** A short summary for the status line, '' when nothing is configured. */
  status(): string;
  /** Exposes the counters on a prom-client registry (see marketing-metrics.ts). */
  registerMetrics(registry: Registry): void;
  /** Lets queued deliveries finish for up to `graceMs`, then stops; closes a connection it opened. */
  close(graceMs?: number): Promise<void>;
}

/** The config sections the marketing destinations read. */
export interface MarketingSinksConfig {
  readonly triggers: TriggersConfig;
  readonly alerts: AlertsConfig;
  readonly nats: NatsConfig;
}

export interface MarketingSinkOptions {
  /** The input's NATS connection, reused when triggers go to the same server. */
  readonly nc?: NatsConnection | undefined;
  readonly env?: Record<string, string | undefined>;
  /** Already loaded; otherwise read from `alerts.suppression.file`. */
  readonly suppression?: SuppressionList;
  readonly log?: (line: string) => void;
  /** A checkpointed engine: triggers back-pressure instead of dropping, and offer a barrier (`NatsTriggerSink`). */
  readonly durable?: boolean;
}

/**
 * The marketing destinations the config asks for: triggers on NATS JetStream when
 * `triggers.nats.enabled`, webhooks for each `triggers.webhooks.destinations` entry, all
 * behind one marketing gate (suppression list, pseudonymisation). With NATS triggers the
 * webhooks are delivered from the trigger stream (`WebhookOutbox`, durable across restarts,
 * the gate applied once before publishing); without, from memory (`WebhookSink`, best-effort).
 */
export async function openMarketingSinks(
  config: MarketingSinksConfig,
  opts: MarketingSinkOptions = {},
): Promise<MarketingSinks> {
  const t = config.triggers;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const wantsNats = t.nats.enabled;
  if (!wantsNats && t.webhooks.destinations.length === 0) return none();
  if (wantsNats) checkOutboxCarries(t);
  const suppression =
    opts.suppression ??
    (config.alerts.suppression.file === null
      ? SuppressionList.empty
      : await loadSuppressionFile(config.alerts.suppression.file, config.alerts.suppression));
  const gate = MarketingGate.of(suppression, t.pseudonymise.secret);
  const sinks: BatchSink<Batch & AlertOutput>[] = [];

  let triggers: NatsTriggerSink | undefined;
  let own: NatsConnection | undefined;
  let nc: NatsConnection | undefined;
  if (wantsNats) {
    const url = t.nats.url ?? config.nats.url;
    if (url === null)
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        'triggers.nats.enabled needs a server: set triggers.nats.url or nats.url',
      );
    const reuse = opts.nc !== undefined && (t.nats.url === null || t.nats.url === config.nats.url);
    nc = reuse ? opts.nc! : (own = await connectNats(url, 'jetstream', log));
    triggers = new NatsTriggerSink(nc, { ...t.nats, source: t.source }, gate, { log, durable: opts.durable === true });
    if (t.nats.createStream) await triggers.ensureStream();
    sinks.push(triggers);
    log(
      `triggers: ${t.nats.subjectPrefix}.<type> on stream ${t.nats.stream}${gate.pseudonymising ? ', pseudonymised' : ''}`,
    );
  }
  let webhooks: WebhookDeliveries | undefined;
  const destinations = t.webhooks.destinations;
  if (destinations.length > 0) {
    const specs = resolveWebhooks(t.webhooks, opts.env ?? process.env);
    const names = destinations.map((d) => d.name).join(', ');
    if (nc !== undefined) {
      // The trigger stream is the outbox: the gate ran once, before publishing.
      const outbox = new WebhookOutbox(
        nc,
        specs,
        { stream: t.nats.stream, subjectPrefix: t.nats.subjectPrefix, deadLetterPrefix: config.nats.deadLetterPrefix },
        { log },
      );
      await outbox.start().catch(async (e: unknown) => {
        await own?.drain();
        throw e;
      });
      webhooks = outbox;
      log(
        `webhooks: ${names}, durable: each a consumer (${webhookConsumerName('<name>')}) of stream ${t.nats.stream}, failures to ${config.nats.deadLetterPrefix}.webhook.<name>`,
      );
    } else {
      const sink = new WebhookSink(specs, gate, t.source, { log });
      sinks.push(sink);
      webhooks = sink;
      log(
        `webhooks: ${names}${gate.pseudonymising ? ', pseudonymised' : ''}; best-effort: delivered from memory, ` +
          'what is queued or being retried is lost when the engine stops (triggers.nats.enabled makes them durable)',
      );
    }
  }
  return {
    sinks,
    triggers,
    webhooks,
    status() {
      let line = '';
      if (triggers !== undefined) {
        const s = triggers.stats();
        line += ` | triggers ${s.published + s.duplicates}${s.overflow > 0 ? ` overflow ${s.overflow}` : ''}`;
      }
      if (webhooks !== undefined) {
        const all = Object.values(webhooks.stats());
        const sum = (k: 'delivered' | 'failed' | 'overflow') => all.reduce((n, s) => n + s[k], 0);
        line += ` | webhooks ${sum('delivered')} failed ${sum('failed')}${sum('overflow') > 0 ? ` overflow ${sum('overflow')}` : ''}`;
      }
      return line;
    },
    registerMetrics: (registry) => registerMarketingMetrics(registry, { triggers, webhooks }),
    async close(graceMs = 5000) {
      // Triggers first: the outbox delivers what they publish.
      await triggers?.close(graceMs);
      await webhooks?.close(graceMs);
      await own?.drain();
    },
  };
}

function none(): MarketingSinks {
  return {
    sinks: [],
    triggers: undefined,
    webhooks: undefined,
    status: () => '',
    registerMetrics: () => {},
    close: async () => {},
  };
}
