import type { KeyedBatch, KeyedProcess } from './keyed-state.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { StateSignal } from '../signals.js';

/**
 * Several keyed processes as one, called in the given order at each point: each concern
 * stays its own process (its fields, timers and global state) and the keyed-state stage
 * still sees one. Undefined when there is none.
 */
export function keyedProcesses<Out>(
  processes: readonly (KeyedProcess<Out> | undefined)[],
): KeyedProcess<Out> | undefined {
  const ps = processes.filter((p): p is KeyedProcess<Out> => p !== undefined);
  if (ps.length <= 1) return ps[0];
  return {
    begin(batch: KeyedBatch<Out>): void {
      for (const p of ps) p.begin(batch);
    },
    onSignals(signals: readonly StateSignal[], from: number, watermark: number): void {
      for (const p of ps) p.onSignals(signals, from, watermark);
    },
    onApplied(slot: number, event: CanonicalEvent, watermark: number): void {
      for (const p of ps) p.onApplied(slot, event, watermark);
    },
    onWatermark(watermark: number): void {
      for (const p of ps) p.onWatermark?.(watermark);
    },
  };
}
