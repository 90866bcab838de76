import { map, type OperatorFunction } from 'rxjs';
import type { SeenEventIds } from '../seen-event-ids.js';
import { Outcome, type Batch } from '../../core/batch.js';
import { poisonMessage } from '../../ingest/operators/poison.js';

/**
 * Marks repeated event ids as duplicates: a redelivery from the transport or a producer's
 * retry must not be counted twice. The first copy to arrive wins, whatever happens to it later.
 */
export function dedupeBatch(batch: Batch, seen: SeenEventIds): Batch {
  const { outcome, events } = batch;
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] !== Outcome.pending) continue;
    const e = events[i]!;
    try {
      if (seen.checkAndAdd(e.id, e.ts)) {
        outcome[i] = Outcome.duplicate;
        events[i] = undefined;
      }
    } catch {
      poisonMessage(batch, i);
    }
  }
  return batch;
}

export function dedupe(seen: SeenEventIds): OperatorFunction<Batch, Batch> {
  return map((batch) => dedupeBatch(batch, seen));
}
