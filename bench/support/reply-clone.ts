import type { VigilConfig } from '../../src/app/config/schema.js';
import { Outcome } from '../../src/core/batch.js';
import { PartitionGraph } from '../../src/app/partitions/partition-graph.js';
import { median } from '../report.js';

/**
 * What a worker's reply to a live batch costs to copy between threads: the shop's events
 * through one partition's graph in live-sized batches, and each batch's outputs (as
 * partition-worker.ts sends them: outcomes, watermark times, applied events, rejections,
 * late events, alerts, signals) through `structuredClone`. That is the serialization on the
 * worker and the deserialization on the main thread together, so it bounds the main thread's
 * share from above. Medians over the batches after the first quarter (warm-up).
 */
export interface ReplyClone {
  readonly batches: number;
  readonly batchSize: number;
  readonly microsPerBatch: number;
  readonly microsPerEvent: number;
}

export function measureReplyClone(config: VigilConfig, payloads: readonly Uint8Array[], batchSize: number): ReplyClone {
  const graph = new PartitionGraph(0, 1, config);
  const times: number[] = [];
  for (let i = 0; i < payloads.length; i += batchSize) {
    const messages = payloads
      .slice(i, i + batchSize)
      .map((bytes) => ({ bytes, subject: 'bench', receivedAt: performance.now() }));
    const b = graph.run(messages);
    const reply = {
      type: 'applied',
      outcome: b.outcome,
      watermarkAt: b.watermarkAt,
      events: b.events.map((e, k) => (b.outcome[k] === Outcome.applied ? e : undefined)),
      rejections: b.rejections,
      late: b.late,
      lateIndex: b.lateIndex,
      alerts: b.alerts,
      alertEnteredAt: b.alertEnteredAt,
      signals: b.signals,
      maxEventTime: graph.maxEventTime,
    };
    const t = performance.now();
    structuredClone(reply);
    times.push(performance.now() - t);
  }
  const measured = times.slice(Math.floor(times.length / 4));
  const perBatch = median(measured) * 1000;
  return {
    batches: measured.length,
    batchSize,
    microsPerBatch: perBatch,
    microsPerEvent: perBatch / batchSize,
  };
}
