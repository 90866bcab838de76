import type { Batch } from './batch.js';

/**
 * Where a processed batch goes next: dead letters, late events, alerts to the stream and to
 * marketing. A sink may be asynchronous; the source commits (acks) a batch only after every
 * sink is done. `B` names the stage outputs the sink reads (`Batch & AlertOutput`, ...).
 */
export interface BatchSink<B extends Batch = Batch> {
  handle(batch: B): void | Promise<void>;
}
