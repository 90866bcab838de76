import { Counter, Gauge, type Registry } from 'prom-client';
import type { Checkpointer } from './checkpointer.js';

/**
 * Checkpointing as Prometheus metrics, read from `Checkpointer.stats` at each scrape:
 *
 * - `vigil_checkpoints_total{outcome}`: written, failed
 * - `vigil_checkpoint_last_number`, `vigil_checkpoint_last_bytes`
 * - `vigil_checkpoint_last_write_seconds`: capture to commit of the last checkpoint
 * - `vigil_checkpoint_capture_seconds{which}`: the engine's pause for a capture, last and longest
 *   (with workers, the longest worker's pause: the main thread does not pause)
 * - `vigil_checkpoint_position_seq`: the stream sequence the last checkpoint covers
 */
export function registerCheckpointMetrics(registry: Registry, checkpointer: Checkpointer): void {
  const s = checkpointer.stats;
  new Counter({
    name: 'vigil_checkpoints_total',
    help: 'Checkpoints committed (written) or given up (failed)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'written' }, s.written);
      this.inc({ outcome: 'failed' }, s.failed);
    },
  });
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  gauge('vigil_checkpoint_last_number', 'Number of the latest committed checkpoint (0: none)', () => s.lastNumber);
  gauge('vigil_checkpoint_last_bytes', 'Size of the latest committed checkpoint', () => s.lastBytes);
  gauge(
    'vigil_checkpoint_last_write_seconds',
    'Capture to commit of the latest checkpoint this run wrote',
    () => s.lastWriteMs / 1000,
  );
  gauge(
    'vigil_checkpoint_position_seq',
    'Stream sequence the latest checkpoint covers',
    () => s.lastPosition?.seq ?? 0,
  );
  new Gauge({
    name: 'vigil_checkpoint_capture_seconds',
    help: "The engine's pause to capture a checkpoint: the last one and the longest this run",
    labelNames: ['which'],
    registers: [registry],
    collect() {
      this.set({ which: 'last' }, s.lastCaptureMs / 1000);
      this.set({ which: 'max' }, s.maxCaptureMs / 1000);
    },
  });
}
