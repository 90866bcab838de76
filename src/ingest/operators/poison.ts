import { newBatch, Outcome, reject, type Batch } from '../../core/batch.js';

/**
 * Poison messages: one message whose processing throws must not stop the stream (nor, on
 * JetStream, come back at every restart and stop it again). It is rejected as
 * `VIGIL_ERR_POISON` (dead-lettered like any rejected message) and the rest go on.
 *
 * Where the throw happens decides how it is isolated without applying anything twice:
 * - the pure stages (decode, adapt, validate) change nothing outside the batch, so a batch
 *   that throws there is run again message by message on fresh batches (`isolatingPure`);
 * - the stateful stages (dedupe, event time, keyed state) catch per message
 *   (`poisonMessage`): messages before the offender are applied once, it is rejected, the
 *   stage goes on after it. What the offender changed in state before it threw stays.
 */
export function poisonMessage(batch: Batch, index: number): void {
  if (batch.outcome[index] === Outcome.rejected) return; // rejected already: counted once
  reject(batch, index, 'VIGIL_ERR_POISON');
  batch.events[index] = undefined;
}

/**
 * Wraps a pure batch stage (one that writes only the batch's `outcome`, `decoded`, `events`
 * and `rejections`): when it throws on a batch, each message is run alone through it, and
 * those that throw alone are rejected as poison. The partly processed batch is dropped for a
 * fresh one over the same messages (same `messages` array, so the source commits it as usual).
 */
export function isolatingPure(stage: (batch: Batch) => Batch): (batch: Batch) => Batch {
  return (batch) => {
    try {
      return stage(batch);
    } catch {
      const fresh: Batch = { ...newBatch(batch.messages, batch.endOfInput), startedAt: batch.startedAt };
      for (let i = 0; i < batch.messages.length; i++) {
        const one = newBatch([batch.messages[i]!]);
        try {
          stage(one);
        } catch {
          poisonMessage(fresh, i);
          continue;
        }
        fresh.outcome[i] = one.outcome[0]!;
        fresh.decoded[i] = one.decoded[0];
        fresh.events[i] = one.events[0];
        for (const r of one.rejections) fresh.rejections.push({ ...r, index: i });
      }
      return fresh;
    }
  };
}
