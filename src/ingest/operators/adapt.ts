import { map, type OperatorFunction } from 'rxjs';
import { fromSegment, isSegmentMessage } from '../adapters/segment.js';
import { Outcome, reject, type Batch } from '../../core/batch.js';

/**
 * Decoded values in a foreign format → canonical event candidates, which `validate` then
 * checks like any other input. Recognition is one property read per message, so canonical
 * traffic pays next to nothing for it. Today the one foreign format is the Segment /
 * RudderStack e-commerce spec.
 */
export function adaptBatch(batch: Batch): Batch {
  const { outcome, decoded } = batch;
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] !== Outcome.pending) continue;
    const value = decoded[i];
    if (!isSegmentMessage(value)) continue;
    const r = fromSegment(value);
    if (r.ok) decoded[i] = r.event;
    else reject(batch, i, r.reason, r.path);
  }
  return batch;
}

export function adapt(): OperatorFunction<Batch, Batch> {
  return map(adaptBatch);
}
