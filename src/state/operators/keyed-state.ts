import { map, type OperatorFunction } from 'rxjs';
import type { CanonicalEvent } from '../../core/event.js';
import type { CustomerStore } from '../customer-store.js';
import type { StateSignal } from '../signals.js';
import { Outcome, reject, type Batch } from '../../core/batch.js';
import { poisonMessage } from '../../ingest/operators/poison.js';

/**
 * What the keyed-state stage adds to a batch: keyed state's signals and, stamped with the
 * message each came from, the keyed process's outputs (`Out`: the app's alerts).
 */
export interface KeyedOutputs<Out> {
  /** What keyed state noticed: sessions closed, timers fired, customers evicted. */
  readonly signals: StateSignal[];
  /** What the keyed process concluded (analytics: alerts past their cooldown, with deterministic ids). */
  readonly alerts: Out[];
  /**
   * Index aligned with `alerts`: `receivedAt` (performance.now(), ms) of the message whose
   * processing emitted each output, for the message-in → frame-out latency. Timers fired by
   * the batch's closing watermark take its last message's (in an empty batch, `startedAt`).
   */
  readonly alertEnteredAt: number[];
  /**
   * Per message: how many of `alerts` were out once its processing (the timers its watermark
   * fired, then its event) was done. Alerts past the last entry came from the batch's closing
   * watermark. Later stages use it to put their own outputs at the message they came from.
   */
  readonly alertsThrough: Uint32Array;
}
export type KeyedBatch<Out = unknown> = Batch & KeyedOutputs<Out>;

/**
 * Per-customer logic that runs inside the keyed-state stage, like a Flink
 * KeyedProcessFunction: it sees each applied event and each signal (session closed, timer
 * fired, customer evicted) at the exact point of the stream where it happened, so what it
 * concludes does not depend on batch boundaries.
 */
export interface KeyedProcess<Out = unknown> {
  /** Before the batch's first event; the process writes its outputs into the batch. */
  begin(batch: KeyedBatch<Out>): void;
  /** Signals `signals[from..]`, just emitted, with the watermark in force. */
  onSignals(signals: readonly StateSignal[], from: number, watermark: number): void;
  /** After `event` was applied to the customer in `slot`. */
  onApplied(slot: number, event: CanonicalEvent, watermark: number): void;
  /** The batch's closing watermark (at end of input: the last event time), after its timers. */
  onWatermark?(watermark: number): void;
}

/**
 * Applies surviving events to keyed per-customer state. Before each event, timers the
 * watermark has passed are fired, at the same points whatever the batch boundaries; at the
 * end of the batch, those passed by the batch's final watermark. A message whose timers or
 * event throw is rejected as poison (`poison.ts`) and the stage goes on with the next one.
 */
export function keyedStateBatch<Out>(input: Batch, store: CustomerStore, process?: KeyedProcess<Out>): KeyedBatch<Out> {
  const batch = withKeyedOutputs<Out>(input);
  const { outcome, signals, alerts, alertEnteredAt, alertsThrough, messages } = batch;
  process?.begin(batch);
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] === Outcome.pending) {
      try {
        applyOne(batch, i, store, process);
      } catch {
        // The timers its watermark fired and the event itself count as its processing.
        poisonMessage(batch, i);
        stampAlerts(alerts, alertEnteredAt, messages[i]!.receivedAt);
      }
    }
    alertsThrough[i] = alerts.length;
  }
  const seen = signals.length;
  store.advanceTo(batch.watermark, signals);
  if (process && signals.length > seen) process.onSignals(signals, seen, batch.watermark);
  process?.onWatermark?.(batch.watermark);
  stampAlerts(
    alerts,
    alertEnteredAt,
    messages.length > 0 ? messages[messages.length - 1]!.receivedAt : batch.startedAt,
  );
  return batch;
}

/** Message `i`: the timers its watermark has passed, then its event. */
function applyOne<Out>(
  batch: KeyedBatch<Out>,
  i: number,
  store: CustomerStore,
  process: KeyedProcess<Out> | undefined,
): void {
  const { outcome, events, watermarkAt, signals, alerts, alertEnteredAt, messages } = batch;
  const wm = watermarkAt[i]!;
  let seen = signals.length;
  store.advanceTo(wm, signals);
  if (process && signals.length > seen) process.onSignals(signals, seen, wm);
  seen = signals.length;
  const slot = store.apply(events[i]!, signals);
  if (slot < 0) {
    reject(batch, i, 'VIGIL_ERR_STATE_FULL', 'customerId');
    stampAlerts(alerts, alertEnteredAt, messages[i]!.receivedAt); // timers its watermark fired
    return;
  }
  outcome[i] = Outcome.applied;
  if (process) {
    if (signals.length > seen) process.onSignals(signals, seen, wm);
    process.onApplied(slot, events[i]!, wm);
    stampAlerts(alerts, alertEnteredAt, messages[i]!.receivedAt);
  }
}

/** Alerts emitted since the last stamp came from the message that entered at `enteredAt`. */
export function stampAlerts(alerts: readonly unknown[], enteredAt: number[], at: number): void {
  while (enteredAt.length < alerts.length) enteredAt.push(at);
}

/** The batch with this stage's outputs, empty; the same object, so the stages before it keep their view. */
function withKeyedOutputs<Out>(batch: Batch): KeyedBatch<Out> {
  const outputs: KeyedOutputs<Out> = {
    signals: [],
    alerts: [],
    alertEnteredAt: [],
    alertsThrough: new Uint32Array(batch.messages.length),
  };
  return Object.assign(batch, outputs);
}

export function keyedState<Out>(
  store: CustomerStore,
  process?: KeyedProcess<Out>,
): OperatorFunction<Batch, KeyedBatch<Out>> {
  return map((batch) => keyedStateBatch(batch, store, process));
}
