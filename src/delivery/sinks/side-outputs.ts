import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NatsConfig } from '../../edges/nats/config.js';
import type { BatchSink } from '../../core/batch-sink.js';
import { ConfirmedPublisher } from './confirmed-publisher.js';
import { DeadLetterSink } from './dead-letters.js';
import { LateEventSink } from './late-events.js';

/**
 * The engine's side outputs on NATS: dead letters (`nats.deadLetterPrefix`) and late events
 * (`nats.lateSubjectPrefix`), through one `ConfirmedPublisher`, so the input is acknowledged
 * only once they are stored. `flowing()` is false while a stream refuses them (for /readyz).
 *
 * Metrics: `vigil_side_outputs_total{output}` (dead_letter, late: handed to the server),
 * `vigil_side_output_publishes_total{result}` (confirmed, unconfirmed, truncated, refused),
 * `vigil_side_outputs_blocked` (1 while refused: input waits).
 */
export interface SideOutputs {
  readonly sinks: BatchSink[];
  readonly deadLetters: DeadLetterSink;
  readonly late: LateEventSink;
  readonly publisher: ConfirmedPublisher;
  flowing(): boolean;
  registerMetrics(registry: Registry): void;
}

export function openSideOutputs(nc: NatsConnection, nats: NatsConfig, log?: (line: string) => void): SideOutputs {
  const publisher = new ConfirmedPublisher(nc, {
    requireCaptureStream: nats.requireCaptureStream,
    ackTimeoutMs: nats.outputAckTimeoutMs,
    retry: nats.outputRetry,
    ...(log && { log }),
  });
  const deadLetters = new DeadLetterSink(publisher, nats.deadLetterPrefix);
  const late = new LateEventSink(publisher, nats.lateSubjectPrefix);
  return {
    sinks: [deadLetters, late],
    deadLetters,
    late,
    publisher,
    flowing: () => !publisher.stats().blocked,
    registerMetrics(registry) {
      const registers = [registry];
      new Counter({
        name: 'vigil_side_outputs_total',
        help: 'Side outputs handed to the server, by output (dead_letter, late).',
        labelNames: ['output'],
        registers,
        collect() {
          this.reset();
          this.inc({ output: 'dead_letter' }, deadLetters.published);
          this.inc({ output: 'late' }, late.published);
        },
      });
      new Counter({
        name: 'vigil_side_output_publishes_total',
        help: 'Side output publishes: confirmed by a stream, unconfirmed (core NATS, no capture stream), truncated to max_payload, refused and retried.',
        labelNames: ['result'],
        registers,
        collect() {
          const s = publisher.stats();
          this.reset();
          for (const result of ['confirmed', 'unconfirmed', 'truncated', 'refused'] as const)
            this.inc({ result }, s[result]);
        },
      });
      new Gauge({
        name: 'vigil_side_outputs_blocked',
        help: '1 while a stream refuses side outputs: input is not acknowledged until they are stored.',
        registers,
        collect() {
          this.set(publisher.stats().blocked ? 1 : 0);
        },
      });
    },
  };
}
