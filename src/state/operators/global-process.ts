import { map, type OperatorFunction } from 'rxjs';
import type { CanonicalEvent } from '../../core/event.js';
import { Outcome } from '../../core/batch.js';
import { poisonMessage } from '../../ingest/operators/poison.js';
import { stampAlerts, type KeyedBatch } from './keyed-state.js';

/**
 * Logic over the whole stream rather than one customer (demand series, campaign cohorts'
 * totals): it sees each applied event with the watermark in force after it, and the
 * batch's closing watermark. What it concludes must depend only on those, never on where
 * a batch ended, so its state moves on watermark-aligned points (closed buckets).
 */
export interface GlobalProcess<Out = unknown> {
  /** Called first for each batch (alerts it concludes go to `batch.alerts`). */
  begin?(batch: KeyedBatch<Out>): void;
  onApplied(event: CanonicalEvent, watermark: number): void;
  /** The batch's closing watermark (at end of input: the last event time). */
  onWatermark(watermark: number): void;
}

/** Runs the global processes over a batch's applied events, in stream order. */
export function globalProcessBatch<Out>(
  batch: KeyedBatch<Out>,
  processes: readonly GlobalProcess<Out>[],
): KeyedBatch<Out> {
  if (processes.length === 0) return batch;
  const { outcome, events, watermarkAt, alerts, alertEnteredAt, messages } = batch;
  for (const p of processes) p.begin?.(batch);
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] !== Outcome.applied) continue;
    const e = events[i]!;
    try {
      for (const p of processes) p.onApplied(e, watermarkAt[i]!);
    } catch {
      // As in keyed state: the message is rejected as poison, what it changed stays.
      poisonMessage(batch, i);
    }
    stampAlerts(alerts, alertEnteredAt, messages[i]!.receivedAt);
  }
  for (const p of processes) p.onWatermark(batch.watermark);
  stampAlerts(
    alerts,
    alertEnteredAt,
    messages.length > 0 ? messages[messages.length - 1]!.receivedAt : batch.startedAt,
  );
  return batch;
}

export function globalProcesses<Out>(
  processes: readonly GlobalProcess<Out>[],
): OperatorFunction<KeyedBatch<Out>, KeyedBatch<Out>> {
  return map((batch) => globalProcessBatch(batch, processes));
}
