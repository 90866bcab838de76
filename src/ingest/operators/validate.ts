import { map, type OperatorFunction } from 'rxjs';
import { canonicalEvent } from '../../core/event.js';
import { canonicalInPlace } from '../../core/event-in-place.js';
import { reasonFromIssues } from '../reject-reason.js';
import { Outcome, reject, type Batch } from '../../core/batch.js';

export interface ValidateOptions {
  readonly maxFutureSkewMs: number;
  /** Wall clock, injectable so tests and replays can pin it. */
  readonly now?: () => number;
}

/**
 * Decoded values → canonical events: a value that already is one is taken in place
 * (`canonicalInPlace`), anything else is parsed by the schema. A rejection carries a stable reason and the zod issue
 * path. Events too far ahead of the wall clock are rejected here: one of them would drag the
 * watermark forward and make every honest event after it late.
 */
export function validateBatch(batch: Batch, opts: ValidateOptions): Batch {
  const { outcome, decoded, events } = batch;
  const futureLimit = (opts.now ? opts.now() : Date.now()) + opts.maxFutureSkewMs;
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] !== Outcome.pending) continue;
    let event = canonicalInPlace(decoded[i]);
    if (event === undefined) {
      const r = canonicalEvent.safeParse(decoded[i]);
      if (!r.success) {
        decoded[i] = undefined;
        const { reason, path } = reasonFromIssues(r.error.issues);
        reject(batch, i, reason, path);
        continue;
      }
      event = r.data;
    }
    decoded[i] = undefined; // release the raw value early; the event is what flows on
    if (event.ts > futureLimit) reject(batch, i, 'VIGIL_ERR_TS_FUTURE', 'ts');
    else events[i] = event;
  }
  return batch;
}

export function validate(opts: ValidateOptions): OperatorFunction<Batch, Batch> {
  return map((batch) => validateBatch(batch, opts));
}
