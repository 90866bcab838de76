import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { VigilConfig } from '../../src/app/config/schema.js';
import type { PartitionResult } from '../../src/app/partitions/partition-protocol.js';
import { PartitionedLiveEngine } from '../../src/app/partitions/partitioned-live.js';
import type { CanonicalEvent } from '../../src/core/event.js';
import { SyntheticShop } from '../../src/edges/demo/shop.js';
import { encodePayload } from '../../src/edges/encode.js';
import { NatsJetStreamSource } from '../../src/edges/nats/nats-jetstream.js';

/** The synthetic shop over `days` days, in event order. */
export function shopEvents(opts: {
  seed: number;
  customers: number;
  products: number;
  days: number;
}): CanonicalEvent[] {
  const startTs = Date.UTC(2025, 0, 1);
  const shop = new SyntheticShop({ ...opts, startTs, endTs: startTs + opts.days * 86_400_000 });
  const out: CanonicalEvent[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) out.push(e);
  return out;
}

/** The shop's visits, product views and cart adds as a Segment feed would carry them (JSON calls). */
export function segmentFeed(events: readonly CanonicalEvent[]): { userId: string; bytes: Uint8Array }[] {
  const out: { userId: string; bytes: Uint8Array }[] = [];
  for (const e of events) {
    const common = { messageId: `seg-${e.id}`, userId: e.customerId, timestamp: new Date(e.ts).toISOString() };
    let call: Record<string, unknown> | undefined;
    if (e.type === 'page_view') call = { ...common, type: 'page', properties: { path: '/' } };
    else if (e.type === 'product_view' || e.type === 'add_to_cart')
      call = {
        ...common,
        type: 'track',
        event: e.type === 'product_view' ? 'Product Viewed' : 'Product Added',
        properties: { product_id: e.productId, ...(e.price !== undefined && { price: e.price }) },
      };
    if (call !== undefined) out.push({ userId: e.customerId, bytes: encodePayload(call, 'json') });
  }
  return out;
}

export interface PartitionedOutcome {
  dump: [string, unknown][];
  alertIds: string[];
  counters: { input: number; applied: number; rejected: number };
}

/** The partitions' results as one outcome: the dump and alert ids sorted, the counters added up. */
export function outcomeOf(results: PartitionResult[]): PartitionedOutcome {
  return {
    dump: results.flatMap((r) => r.dump!).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    alertIds: results.flatMap((r) => r.alertIds).sort(),
    counters: {
      input: results.reduce((s, r) => s + r.counters.input, 0),
      applied: results.reduce((s, r) => s + r.counters.applied, 0),
      rejected: results.reduce((s, r) => s + r.counters.rejected, 0),
    },
  };
}

/** Consumes all of `stream` (durable consumer `vigil`) with the live engine on 2 workers, then ends event time. */
export async function consumedOnWorkers(
  nc: NatsConnection,
  config: VigilConfig,
  stream: string,
  subject: string,
  wallClock: number,
): Promise<PartitionedOutcome> {
  const source = new NatsJetStreamSource(nc, {
    stream,
    consumer: 'vigil',
    subjects: [subject],
    createStream: false,
    maxAckPending: 5000,
    ackWaitMs: 60_000,
    pullBatch: 500,
    batchSize: 256,
  });
  const engine = await PartitionedLiveEngine.start(config, { workers: 2, collectAlerts: true, wallClock });
  try {
    const running = engine.run(source, { heartbeatMs: 100 });
    const total = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    // Generous: the machine is shared.
    const deadline = Date.now() + 180_000;
    while (engine.front.counters.input < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await source.stop();
    await running;
    await engine.endEventTime();
    return outcomeOf(await engine.results(true));
  } finally {
    await engine.close();
  }
}
