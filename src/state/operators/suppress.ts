import { map, type OperatorFunction } from 'rxjs';
import type { SuppressedCustomers } from '../suppressed-customers.js';
import { Outcome, reject, type Batch } from '../../core/batch.js';

/**
 * Validated events → events of customers not erased. An event about an erased customer is
 * rejected with `VIGIL_ERR_SUPPRESSED` (path `customerId`) before it reaches dedupe or keyed
 * state, so it leaves no trace; the dead-letter sink sends its reason without its bytes.
 */
export function suppressBatch(batch: Batch, suppressed: SuppressedCustomers): Batch {
  if (suppressed.size === 0) return batch;
  const { outcome, events } = batch;
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] !== Outcome.pending) continue;
    const e = events[i];
    if (e === undefined || !suppressed.has(e.customerId)) continue;
    events[i] = undefined;
    reject(batch, i, 'VIGIL_ERR_SUPPRESSED', 'customerId');
  }
  return batch;
}

export function suppress(suppressed: SuppressedCustomers): OperatorFunction<Batch, Batch> {
  return map((batch) => suppressBatch(batch, suppressed));
}
