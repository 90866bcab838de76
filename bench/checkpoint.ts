import { connect } from '@nats-io/transport-node';
import { Checkpointer } from '../src/app/checkpoint/checkpointer.js';
import type { CheckpointStore } from '../src/app/checkpoint/checkpoint-store.js';
import { ObjectStoreCheckpoints } from '../src/app/checkpoint/object-store-checkpoints.js';
import { restoreLatest } from '../src/app/checkpoint/restore.js';
import { loadConfig } from '../src/app/config/load.js';
import { Engine } from '../src/app/engine.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import { median, settleHeap } from './report.js';
import { NatsServer } from './support/nats-server.js';
import { shopInput } from './support/shop-input.js';

export interface CheckpointBenchOptions {
  readonly customers: number;
  readonly days: number;
  readonly intervalMs: number;
  /** Runs with and without checkpoints, alternated. */
  readonly pairs: number;
}

interface RunFigures {
  seconds: number;
  /** Longest time between two batches completing: the engine's longest stall. */
  longestGapMs: number;
}

/**
 * What checkpoints cost a running engine (docs/nats.md): the core bench's input through the
 * engine with checkpoints every `intervalMs` to a JetStream Object Store on a local
 * nats-server, against the same run without, alternated; then one checkpoint of the final
 * state written and restored on its own. The engine's longest stall is the longest gap
 * between two batches completing, in both kinds of run.
 */
export async function checkpointBench(opts: CheckpointBenchOptions): Promise<Record<string, string | number>> {
  const { messages, customers } = shopInput({ customers: opts.customers, days: opts.days, format: 'msgpack' });
  const config = loadConfig({ env: {}, overrides: {} });
  const server = await NatsServer.start();
  const nc = await connect({ servers: server.url });
  try {
    const store = await ObjectStoreCheckpoints.open(
      nc,
      server.url,
      config.checkpoint.bucket,
      'bench',
      config.checkpoint.chunkBytes,
    );
    const off: RunFigures[] = [];
    const on: RunFigures[] = [];
    let checkpointed: { engine: Engine; checkpointer: Checkpointer } | undefined;
    for (let pair = 0; pair < opts.pairs; pair++) {
      off.push((await run(messages, undefined, opts.intervalMs)).figures);
      await store.clear();
      const r = await run(messages, store, opts.intervalMs);
      on.push(r.figures);
      checkpointed = { engine: r.engine, checkpointer: r.checkpointer! };
    }
    const { engine, checkpointer } = checkpointed!;
    const during = { ...checkpointer.stats };
    // One checkpoint of the final state on its own: its size and write time.
    const started = performance.now();
    await checkpointer.checkpointNow();
    const writeMs = performance.now() - started;
    const s = checkpointer.stats;
    await settleHeap();
    const restored = new Engine(config);
    const restoreStarted = performance.now();
    await restoreLatest(restored, store, 'bench');
    const restoreMs = performance.now() - restoreStarted;
    if (restored.state.store.size !== engine.state.store.size) throw new Error('restored state differs in size');
    const rate = (f: RunFigures[]) => messages.length / median(f.map((x) => x.seconds));
    return {
      suite: `checkpoint ${compactCount(customers)} customers`,
      messages: messages.length,
      'customers in state': engine.state.store.size,
      'checkpoint MB': (s.lastBytes / 1e6).toFixed(1),
      'B/customer': Math.round(s.lastBytes / engine.state.store.size),
      'write s (capture → commit)': (writeMs / 1000).toFixed(2),
      'capture (engine pause) ms': s.lastCaptureMs.toFixed(0),
      'restore s': (restoreMs / 1000).toFixed(2),
      [`checkpoints during a run (every ${opts.intervalMs / 1000} s)`]: during.written,
      'capture ms, longest during runs': during.maxCaptureMs.toFixed(0),
      'prepare walk ms, longest during runs': during.maxPrepareMs.toFixed(0),
      'captures that allocated': during.capturesGrown,
      'engine-thread ms per checkpoint (capture + pieces)': s.lastEngineMs.toFixed(0),
      'ev/s, checkpoints off (median)': Math.round(rate(off)),
      'ev/s, checkpoints on (median)': Math.round(rate(on)),
      'throughput on/off': (rate(on) / rate(off)).toFixed(3),
      'longest stall ms, off (median)': median(off.map((f) => f.longestGapMs)).toFixed(0),
      'longest stall ms, on (median)': median(on.map((f) => f.longestGapMs)).toFixed(0),
      'capture buffers MB (kept)': (checkpointer.retainedBytes / 1e6).toFixed(0),
      pairs: opts.pairs,
    };
  } finally {
    await nc.close();
    await server.stop();
  }

  async function run(messages: RawMessage[], store: CheckpointStore | undefined, intervalMs: number) {
    await settleHeap();
    const engine = new Engine(config);
    const checkpointer =
      store === undefined
        ? undefined
        : new Checkpointer(engine, store, {
            scope: 'bench',
            source: 'bench',
            intervalMs,
            keep: 2,
            chunkBytes: config.checkpoint.chunkBytes,
            last: undefined,
            log: (l) => process.stderr.write(l + '\n'),
          });
    let last = performance.now();
    let longestGapMs = 0;
    const started = performance.now();
    await engine.run(
      new InProcessSource(messages, {
        name: 'bench',
        batchSize: config.pipeline.batchSize,
        finite: false,
        maxInFlight: 4,
      }),
      {
        onBatchCompleted: (n) => {
          const now = performance.now();
          if (now - last > longestGapMs) longestGapMs = now - last;
          last = now;
          checkpointer?.batchCompleted(n);
        },
      },
    );
    const seconds = (performance.now() - started) / 1000;
    return { engine, checkpointer, figures: { seconds, longestGapMs } };
  }
}

function compactCount(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : `${Math.round(n / 1e3)}k`;
}
