import { map, type OperatorFunction } from 'rxjs';
import type { CanonicalEvent } from '../schema/event.js';
import { Outcome, type Batch } from './batch.js';
import { poisonMessage } from './poison.js';
import { stampAlerts } from './keyed-state.js';

/**
 * Logic over the whole stream rather than one customer (demand series, campaign cohorts'
 * totals): it sees each applied event with the watermark in force after it, and the
 * batch's closing watermark. What it concludes must depend only on those, never on where
 * a batch ended, so its state moves on watermark-aligned points (closed buckets).
 */
export interface GlobalProcess {
  /** Called first for each batch (alerts it concludes go to `batch.alerts`). */
  begin?(batch: Batch): void;
  onApplied(event: CanonicalEvent, watermark: number): void;
  /** The batch's closing watermark (at end of input: the last event time). */
  onWatermark(watermark: number): void;
}

/** Runs the global processes over a batch's applied events, in stream order. */
export function globalProcessBatch(batch: Batch, processes: readonly GlobalProcess[]): Batch {
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
  stampAlerts(alerts, alertEnteredAt, messages.length > 0 ? messages[messages.length - 1]!.receivedAt : batch.startedAt);
  return batch;
}

export function globalProcesses(processes: readonly GlobalProcess[]): OperatorFunction<Batch, Batch> {
  return map((batch) => globalProcessBatch(batch, processes));
}
