import type { OperatorFunction } from 'rxjs';
import type { VigilConfig } from './config/schema.js';
import { adapt } from './operators/adapt.js';
import type { Batch } from './operators/batch.js';
import { decode } from './operators/decode.js';
import { dedupe } from './operators/dedupe.js';
import { eventTime } from './operators/event-time.js';
import { globalProcesses } from './operators/global-process.js';
import { keyedState } from './operators/keyed-state.js';
import { tally } from './operators/tally.js';
import { validate } from './operators/validate.js';
import type { EngineState } from './state/engine-state.js';

export interface PipelineClocks {
  /** Wall clock (ms since epoch) for the future-timestamp check. */
  readonly wallClock?: () => number;
  /** Monotonic clock (ms) for partition idleness. */
  readonly processingClock?: () => number;
}

/**
 * The operator graph, the one place that wires the stages. A batch of raw messages goes:
 *
 *   decode → adapt → validate → dedupe → eventTime → keyedState → globalProcesses → tally
 *      │       │        │          │         │            │
 *      └───────┴─ rejected (reason, path)    └─ late side output
 *                                  └─ duplicate  └─ signals: sessions closed, timers, evictions
 *
 * `adapt` maps Segment / RudderStack calls to canonical candidates; canonical input passes.
 * `globalProcesses` (demand series) see the applied events in stream order, with their watermarks.
 *
 * Every message leaves with exactly one outcome: applied, duplicate, late or rejected.
 */
export function pipeline(config: VigilConfig, state: EngineState, clocks: PipelineClocks = {}): OperatorFunction<Batch, Batch> {
  return (batches) =>
    batches.pipe(
      decode({ maxPayloadBytes: config.limits.maxPayloadBytes }),
      adapt(),
      validate({ maxFutureSkewMs: config.limits.maxFutureSkewMs, ...(clocks.wallClock && { now: clocks.wallClock }) }),
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
