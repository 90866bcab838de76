import { map, type OperatorFunction } from 'rxjs';
import type { OutcomeCounters } from '../outcome-counters.js';
import { Outcome, type Batch } from '../../core/batch.js';

/**
 * The graph's last stage: counts each message's outcome. A message still pending here would
 * be a message lost without trace, which is a bug in the graph, so it fails loudly.
 */
export function tallyBatch<B extends Batch>(batch: B, counters: OutcomeCounters): B {
  const { outcome } = batch;
  let applied = 0;
  let duplicate = 0;
  let late = 0;
  for (let i = 0; i < outcome.length; i++) {
    const o = outcome[i];
    if (o === Outcome.applied) applied++;
    else if (o === Outcome.duplicate) duplicate++;
    else if (o === Outcome.late) late++;
    else if (o !== Outcome.rejected) throw new Error(`message ${i} of a batch left the graph without an outcome`);
  }
  for (const r of batch.rejections) counters.rejectedBy.set(r.reason, (counters.rejectedBy.get(r.reason) ?? 0) + 1);
  counters.input += outcome.length;
  counters.applied += applied;
  counters.duplicate += duplicate;
  counters.late += late;
  counters.rejected += batch.rejections.length;
  counters.batches++;
  return batch;
}

export function tally<B extends Batch>(counters: OutcomeCounters): OperatorFunction<B, B> {
  return map((batch) => tallyBatch(batch, counters));
}
