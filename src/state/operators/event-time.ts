import { map, type OperatorFunction } from 'rxjs';
import type { WatermarkTracker } from '../watermark.js';
import { Outcome, type Batch } from '../../core/batch.js';
import { poisonMessage } from '../../ingest/operators/poison.js';

export interface EventTimeOptions {
  readonly allowedLatenessMs: number;
  /** Processing-time clock for idleness; injectable for tests. */
  readonly now?: () => number;
}

/**
 * Advances the watermark event by event and sends events that are behind it by more than
 * the allowed lateness to the `late` side output. The watermark in force after each event
 * is recorded, so keyed state can fire timers at exactly the same points whatever the
 * batch boundaries were: same input, same output.
 */
export function eventTimeBatch(batch: Batch, tracker: WatermarkTracker, opts: EventTimeOptions): Batch {
  const { outcome, events, messages, watermarkAt, late, lateIndex } = batch;
  const now = opts.now ? opts.now() : performance.now();
  let wm = tracker.refresh(now);
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] === Outcome.pending) {
      const e = events[i]!;
      if (e.ts < wm - opts.allowedLatenessMs) {
        outcome[i] = Outcome.late;
        late.push(e);
        lateIndex.push(i);
        events[i] = undefined;
      } else {
        try {
          wm = tracker.observe(messages[i]!.partition ?? '', e.ts, now);
        } catch {
          poisonMessage(batch, i);
        }
      }
    }
    watermarkAt[i] = wm;
  }
  batch.watermark = batch.endOfInput ? tracker.endOfInput(batch.eventTimeEnd) : wm;
  return batch;
}

export function eventTime(tracker: WatermarkTracker, opts: EventTimeOptions): OperatorFunction<Batch, Batch> {
  return map((batch) => eventTimeBatch(batch, tracker, opts));
}
