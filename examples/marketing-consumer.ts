/**
 * A small marketing-automation consumer of Vigil's triggers: a durable JetStream consumer on
 * `vigil.triggers.>` that reacts to each trigger by type and acknowledges it. Durable means
 * a restart resumes where it left off; a trigger whose handling failed is not acked and
 * comes back. Vigil publishes each trigger once (Nats-Msg-Id de-duplication), but a
 * redelivery to this consumer is possible, so reactions key on the CloudEvent `id`.
 *
 *   NATS_URL=nats://127.0.0.1:4222 npx tsx examples/marketing-consumer.ts
 */
import { pathToFileURL } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { vigilCloudEvent, type VigilCloudEvent } from 'vigil-engine/client';

export interface ConsumerOptions {
  readonly stream: string;
  readonly durable: string;
  readonly subjects: string;
}

/** What the automation does with one trigger; `subject` is the customer key (a pseudonym if Vigil pseudonymises). */
export function reactTo(event: VigilCloudEvent): string {
  const a = event.data;
  switch (a.type) {
    case 'churn.risk':
      return `${event.subject}: win-back offer (${a.severity === 'critical' ? 'top customer, 20% coupon' : '10% coupon'}; P(alive) ${a.data.pAlive.toFixed(2)})`;
    case 'cart.abandoned':
      return `${event.subject}: cart reminder for ${a.data.items.length} product(s), suggest ${a.data.recommendations.slice(0, 3).join(', ') || 'nothing'}`;
    case 'recommendation.cross_sell':
      return `${event.subject}: cross-sell after order ${a.data.orderId}: ${a.data.recommendations
        .map((r) => r.productId)
        .slice(0, 3)
        .join(', ')}`;
    case 'value.tier_changed':
      return `${event.subject}: tier ${a.data.from} → ${a.data.to} (move to the ${a.data.to} journey)`;
    case 'segment.changed':
      return `${event.subject}: segment ${a.data.from} → ${a.data.to} (update audience)`;
    case 'demand.spike':
    case 'demand.drop':
      // An ops alert (a category's demand); a marketing destination never receives it.
      return `${a.data.category}: ${a.type === 'demand.spike' ? 'demand above' : 'demand below'} its forecast (${a.data.actual} vs ${a.data.forecast.toFixed(1)})`;
    case 'campaign.report':
      // An ops alert too (a campaign's cohort): for whoever plans the next promotion.
      return `${a.data.campaign}: ${a.data.verdict} (${a.data.firstTimeBuyers} first-time buyers)`;
  }
}

/**
 * Consumes triggers until `signal` aborts, calling `react` once per trigger id (a redelivered
 * id is acked without reacting again). Returns how many triggers were handled.
 */
export async function consumeTriggers(
  nc: NatsConnection,
  opts: ConsumerOptions,
  react: (event: VigilCloudEvent) => void | Promise<void>,
  signal: AbortSignal,
): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(opts.stream, {
    durable_name: opts.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: opts.subjects,
  });
  const consumer = await jetstream(nc).consumers.get(opts.stream, opts.durable);
  const messages = await consumer.consume({ max_messages: 256 });
  signal.addEventListener('abort', () => void messages.close(), { once: true });
  // A real automation keeps this in its database; a bounded set suffices for the example.
  const seen = new Set<string>();
  let handled = 0;
  for await (const m of messages) {
    const parsed = vigilCloudEvent.safeParse(m.json());
    if (!parsed.success) {
      m.term(); // not a trigger this consumer understands: never redeliver it
      continue;
    }
    if (!seen.has(parsed.data.id)) {
      await react(parsed.data);
      seen.add(parsed.data.id);
      if (seen.size > 100_000) seen.delete(seen.values().next().value!);
      handled++;
    }
    m.ack();
  }
  return handled;
}

async function main(): Promise<void> {
  const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  const n = await consumeTriggers(
    nc,
    { stream: process.env.STREAM ?? 'VIGIL_TRIGGERS', durable: 'marketing', subjects: 'vigil.triggers.>' },
    (e) => void process.stdout.write(reactTo(e) + '\n'),
    stop.signal,
  );
  process.stdout.write(`handled ${n} triggers\n`);
  await nc.drain();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
