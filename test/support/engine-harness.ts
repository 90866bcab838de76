import { loadConfig } from '../../src/app/config/load.js';
import type { VigilConfig } from '../../src/app/config/schema.js';
import { encodePayload, type PayloadFormat } from '../../src/edges/encode.js';
import { Engine } from '../../src/app/engine.js';
import type { EngineBatch as Batch } from '../../src/app/engine.js';
import { InProcessSource } from '../../src/edges/in-process.js';
import type { RawMessage } from '../../src/core/source.js';
import type { StateSignal } from '../../src/state/signals.js';

/** The default config with overrides, as a test would write them in a config file. */
export function testConfig(overrides: Record<string, unknown> = {}): VigilConfig {
  return loadConfig({ env: {}, overrides });
}

export function message(value: unknown, format: PayloadFormat = 'msgpack', partition?: string): RawMessage {
  return {
    bytes: encodePayload(value, format),
    subject: 'test',
    receivedAt: 0,
    ...(partition !== undefined && { partition }),
  };
}

export function rawMessage(bytes: Uint8Array | string): RawMessage {
  return { bytes: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes, subject: 'test', receivedAt: 0 };
}

export interface RunResult {
  engine: Engine;
  signals: StateSignal[];
  batches: Batch[];
}

/** Runs messages through a fresh (or given) engine as a finite input, in batches of `batchSize`. */
export async function runMessages(
  config: VigilConfig,
  messages: readonly RawMessage[],
  opts: { batchSize?: number; engine?: Engine; finite?: boolean; onBatch?: (batch: Batch) => void } = {},
): Promise<RunResult> {
  const engine = opts.engine ?? new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
  const signals: StateSignal[] = [];
  const batches: Batch[] = [];
  const source = new InProcessSource(messages, {
    name: 'test',
    batchSize: opts.batchSize ?? config.pipeline.batchSize,
    finite: opts.finite ?? true,
  });
  await engine.run(source, {
    sinks: [
      {
        handle: (b) => {
          signals.push(...b.signals);
          batches.push(b);
          opts.onBatch?.(b);
        },
      },
    ],
  });
  return { engine, signals, batches };
}

/** Every customer's view, sorted by id, as of the final watermark: the state dump as data. */
export function dump(engine: Engine): unknown[] {
  const store = engine.state.store;
  const asOf = engine.state.watermark.watermark;
  return [...store.customerIds()].sort().map((id) => store.view(id, asOf));
}
