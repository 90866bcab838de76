import type { Alert } from '../alerts/alert.js';
import type { BatchSink } from '../core/batch-sink.js';
import type { KeyedBatch } from '../state/operators/keyed-state.js';

/** A batch that has left the operator graph: every stage's outputs, the alerts among them. */
export type EngineBatch = KeyedBatch<Alert>;

/** A sink of the engine's batches. */
export type EngineSink = BatchSink<EngineBatch>;
