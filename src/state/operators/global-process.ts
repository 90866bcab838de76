import { map, type OperatorFunction } from 'rxjs';
import type { CanonicalEvent } from '../../core/event.js';
import { Outcome } from '../../core/batch.js';
import { poisonMessage } from '../../ingest/operators/poison.js';
import { stampAlerts, type KeyedBatch } from './keyed-state.js';

/**
 * Logic over the whole stream rather than one customer (demand series, campaign cohorts'
 * totals): it sees each applied event with the watermark in force after it, each rise of the
 * watermark by a message it does not see (rejected by keyed state, late, duplicate), and the
 * batch's closing watermark. What it concludes must depend only on those, never on where a
 * batch ended, so its state moves on watermark-aligned points (closed buckets).
 */
export interface GlobalProcess<Out = unknown> {
  /** Called first for each batch; what it concludes goes to `out` (the stage places it in the batch). */
  begin?(out: { alerts: Out[] }): void;
  onApplied(event: CanonicalEvent, watermark: number): void;
  /** The watermark rose without an applied event, or the batch closed (at end of input: the last event time). */
  onWatermark(watermark: number): void;
}

/**
 * Runs the global processes over a batch's messages, in stream order, and puts what each
 * message made them conclude right after the keyed outputs of that message
 * (`alertsThrough`); what the closing watermark concludes goes last. So the batch's outputs
 * are in one order that does not depend on batch boundaries: per message, keyed state's
 * (timers, then the event), then the global processes'; a batch end adds keyed state's timers
 * that the next message would have fired first anyway.
 */
export function globalProcessBatch<Out>(
  batch: KeyedBatch<Out>,
  processes: readonly GlobalProcess<Out>[],
): KeyedBatch<Out> {
  if (processes.length === 0) return batch;
  const { outcome, events, watermarkAt, alerts, alertEnteredAt, alertsThrough, messages } = batch;
  const own = { alerts: [] as Out[] };
  for (const p of processes) p.begin?.(own);
  const keyed = alerts.splice(0);
  const keyedEnteredAt = alertEnteredAt.splice(0);
  let k = 0;
  let watermark = -Infinity;
  for (let i = 0; i < outcome.length; i++) {
    for (const n = alertsThrough[i]!; k < n; k++) {
      alerts.push(keyed[k]!);
      alertEnteredAt.push(keyedEnteredAt[k]!);
    }
    const applied = outcome[i] === Outcome.applied;
    const wm = watermarkAt[i]!;
    if (!applied && !(wm > watermark)) continue;
    watermark = Math.max(watermark, wm);
    if (applied) {
      try {
        for (const p of processes) p.onApplied(events[i]!, wm);
      } catch {
        // As in keyed state: the message is rejected as poison, what it changed stays.
        poisonMessage(batch, i);
      }
    } else for (const p of processes) p.onWatermark(wm);
    place(own.alerts, alerts, alertEnteredAt, messages[i]!.receivedAt);
  }
  for (; k < keyed.length; k++) {
    alerts.push(keyed[k]!);
    alertEnteredAt.push(keyedEnteredAt[k]!);
  }
  for (const p of processes) p.onWatermark(batch.watermark);
  place(
    own.alerts,
    alerts,
    alertEnteredAt,
    messages.length > 0 ? messages[messages.length - 1]!.receivedAt : batch.startedAt,
  );
  return batch;
}

/** Moves the processes' new outputs into the batch, stamped with the message they came from. */
function place<Out>(from: Out[], alerts: Out[], enteredAt: number[], at: number): void {
  for (const a of from) alerts.push(a);
  from.length = 0;
  stampAlerts(alerts, enteredAt, at);
}

export function globalProcesses<Out>(
  processes: readonly GlobalProcess<Out>[],
): OperatorFunction<KeyedBatch<Out>, KeyedBatch<Out>> {
  return map((batch) => globalProcessBatch(batch, processes));
}
