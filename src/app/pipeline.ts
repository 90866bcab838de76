import { map, type OperatorFunction } from 'rxjs';
import type { VigilConfig } from './config/schema.js';
import { adaptBatch } from '../ingest/operators/adapt.js';
import type { Batch } from '../core/batch.js';
import type { EngineBatch } from './engine-batch.js';
import { decodeBatch } from '../ingest/operators/decode.js';
import { dedupe } from '../state/operators/dedupe.js';
import { eventTime } from '../state/operators/event-time.js';
import { globalProcesses } from '../state/operators/global-process.js';
import { keyedState } from '../state/operators/keyed-state.js';
import { tally } from '../state/operators/tally.js';
import { isolatingPure } from '../ingest/operators/poison.js';
import { suppress } from '../state/operators/suppress.js';
import { validateBatch } from '../ingest/operators/validate.js';
import type { EngineState } from './engine-state.js';

export interface PipelineClocks {
  /** Wall clock (ms since epoch) for the future-timestamp check. */
  readonly wallClock?: () => number;
  /** Monotonic clock (ms) for partition idleness. */
  readonly processingClock?: () => number;
}

/**
 * The operator graph, the one place that wires the stages. A batch of raw messages goes:
 *
 *   decode → adapt → validate → suppress → dedupe → eventTime → keyedState → globalProcesses → tally
 *      │       │        │          │          │         │            │
 *      └───────┴────────┴──────────┴─ rejected (reason, path)       └─ signals: sessions closed, timers, evictions
 *                                             └─ duplicate  └─ late side output
 *
 * `adapt` maps Segment / RudderStack calls to canonical candidates; canonical input passes.
 * `suppress` rejects events about erased customers (src/app/erasure/).
 * `globalProcesses` (demand series) see the applied events in stream order, with their watermarks;
 * what they conclude is placed at the message it came from, after keyed state's outputs.
 *
 * Every message leaves with exactly one outcome: applied, duplicate, late or rejected. A
 * message whose processing throws is rejected as VIGIL_ERR_POISON (`operators/poison.ts`):
 * the pure stages are isolated by re-running their batch message by message, the stateful
 * ones catch per message.
 */
export function pipeline(
  config: VigilConfig,
  state: EngineState,
  clocks: PipelineClocks = {},
): OperatorFunction<Batch, EngineBatch> {
  const validation = {
    maxFutureSkewMs: config.limits.maxFutureSkewMs,
    ...(clocks.wallClock && { now: clocks.wallClock }),
  };
  const decodeOptions = { maxPayloadBytes: config.limits.maxPayloadBytes };
  const pure = isolatingPure((b) => validateBatch(adaptBatch(decodeBatch(b, decodeOptions)), validation));
  return (batches) =>
    batches.pipe(
      map(pure),
      suppress(state.suppressed),
      dedupe(state.seen),
      eventTime(state.watermark, {
        allowedLatenessMs: config.eventTime.allowedLatenessMs,
        ...(clocks.processingClock && { now: clocks.processingClock }),
      }),
      keyedState(state.store, state.keyedProcess),
      globalProcesses(state.globalProcesses),
      tally(state.counters),
    );
}
