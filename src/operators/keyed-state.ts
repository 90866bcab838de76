import { map, type OperatorFunction } from 'rxjs';
import type { CustomerStore } from '../state/customer-store.js';
import { Outcome, reject, type Batch } from './batch.js';

/**
 * Applies surviving events to keyed per-customer state. Before each event, timers the
 * watermark has passed are fired, at the same points whatever the batch boundaries; at the
 * end of the batch, those passed by the batch's final watermark.
 */
export function keyedStateBatch(batch: Batch, store: CustomerStore): Batch {
  const { outcome, events, watermarkAt, signals } = batch;
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] !== Outcome.pending) continue;
    store.advanceTo(watermarkAt[i]!, signals);
    if (store.apply(events[i]!, signals)) outcome[i] = Outcome.applied;
    else reject(batch, i, 'VIGIL_ERR_STATE_FULL', 'customerId');
  }
  store.advanceTo(batch.watermark, signals);
  return batch;
}

export function keyedState(store: CustomerStore): OperatorFunction<Batch, Batch> {
  return map((batch) => keyedStateBatch(batch, store));
}
