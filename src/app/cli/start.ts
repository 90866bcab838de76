import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../config/load.js';
import type { VigilConfig } from '../config/schema.js';
import { alertTypeSpecs } from '../../alerts/registry.js';
import { Engine, type EngineBatch, type RunOptions } from '../engine.js';
import type { EngineState } from '../engine-state.js';
import { PartitionedLiveEngine } from '../partitions/partitioned-live.js';
import type { BatchSink } from '../../core/batch-sink.js';
import { openErasure } from '../erasure/wiring.js';
import { openMarketingSinks } from '../../delivery/sinks/marketing-sinks.js';
import { openSideOutputs, type SideOutputs } from '../../delivery/sinks/side-outputs.js';
import { InProcessSource } from '../../edges/in-process.js';
import { connectNats } from '../../edges/nats/nats-connection.js';
import { NatsCoreSource } from '../../edges/nats/nats-core.js';
import { NatsJetStreamSource } from '../../edges/nats/nats-jetstream.js';
import type { Source } from '../../core/source.js';
import { startOpsServer } from '../../server/ops-server.js';
import { demoFeed } from '../../edges/demo/demo-feed.js';
import { compact } from './progress.js';
import type { StateSignal } from '../../state/signals.js';
import type { Checkpointer } from '../checkpoint/checkpointer.js';
import { registerCheckpointMetrics } from '../checkpoint/checkpoint-metrics.js';
import { skipMessages } from '../../edges/skip-messages.js';
import {
  checkpointStatus,
  fileCheckpoints,
  objectStoreCheckpoints,
  restoreAndCheckpoint,
  type InputCheckpoints,
} from './durable-state.js';

export interface StartOptions {
  readonly configFile?: string | undefined;
  /** `--nats-url` and `--mode`: consume from a NATS server instead of running the demo. */
  readonly natsUrl?: string | undefined;
  readonly mode?: string | undefined;
  /** `--port`: the ops server's port (0 picks a free one); `server.port` otherwise. */
  readonly port?: string | number | undefined;
  /** Stop after this many wall-clock ms (tests); otherwise run until SIGINT/SIGTERM. */
  readonly runForMs?: number;
  /** Stops like SIGINT when aborted (tests, embedding). */
  readonly signal?: AbortSignal;
  readonly out?: NodeJS.WritableStream;
  /** `--state-dir`: checkpoints as local files (without NATS); `checkpoint.dir` otherwise. */
  readonly stateDir?: string | undefined;
  /** `--fresh-state`: discard existing checkpoints and start empty. */
  readonly freshState?: boolean;
  /** `--workers`: worker threads running the graph; `engine.workers` otherwise. */
  readonly workers?: string | number | undefined;
}

interface LiveInput {
  source: Source;
  sinks: BatchSink<EngineBatch>[];
  /** For /readyz: the input is connected. */
  connected(): boolean;
  /** Shown at the end of each summary line. */
  status(): string;
  /** The input's connection, for sinks that publish to the same server. */
  nc?: NatsConnection;
  /** Where this input's checkpoints go; absent when it keeps none. */
  checkpoints?: InputCheckpoints;
  /** Dead letters and late events (NATS only): /readyz and /metrics report them. */
  outputs?: SideOutputs;
  close(): Promise<void>;
}

/** The demo's input name in checkpoints: its settings and the wall-clock start its feed is anchored to. */
function demoSourceName(demo: VigilConfig['demo'], start: number): string {
  return `demo:seed=${demo.seed},customers=${demo.customers},products=${demo.products},historyDays=${demo.historyDays},start=${start}`;
}

/**
 * The embedded demo shop, when no NATS server is configured. With a state directory its
 * checkpoints resume it: the feed is deterministic given its start, so it is rebuilt from
 * the checkpoint's start and the messages the checkpoint covers are skipped.
 */
async function demoInput(
  config: VigilConfig,
  out: NodeJS.WritableStream,
  stateDir: string | null,
  fresh: boolean,
): Promise<LiveInput> {
  const store = stateDir === null || !config.checkpoint.enabled ? undefined : fileCheckpoints(stateDir, 'demo');
  const latest = store === undefined || fresh ? undefined : await store.latest();
  const prefix = demoSourceName(config.demo, 0).replace(/0$/, '');
  const start = latest?.position.source.startsWith(prefix)
    ? Number(latest.position.source.slice(prefix.length))
    : Date.now();
  const feed = demoFeed(config.demo, start);
  let skip = 0;
  out.write(
    `vigil demo: ${config.demo.customers} customers, ${config.demo.products} products, ` +
      `${config.demo.historyDays} days of history at up to ${config.demo.eventsPerSecond} events/s (Ctrl-C stops)\n`,
  );
  return {
    ...(store !== undefined && {
      checkpoints: {
        store,
        scope: 'demo',
        source: demoSourceName(config.demo, start),
        resume: (m) => void (skip = m?.position.messages ?? 0),
      },
    }),
    source: new InProcessSource(
      skipMessages(feed.messages, () => skip),
      {
        name: 'demo',
        batchSize: config.pipeline.liveBatchSize,
        finite: false,
        messagesPerSecond: config.demo.eventsPerSecond,
      },
    ),
    sinks: [],
    connected: () => true,
    status: () => (feed.caughtUp() ? ' (live)' : ' (catching up)'),
    close: async () => {},
  };
}

/** A NATS server: core subscriptions or a JetStream durable consumer, with dead letters. */
async function natsInput(config: VigilConfig, url: string, out: NodeJS.WritableStream): Promise<LiveInput> {
  const { nats } = config;
  const nc: NatsConnection = await connectNats(url, nats.mode);
  const source =
    nats.mode === 'core'
      ? new NatsCoreSource(nc, { subjects: nats.subjects, batchSize: config.pipeline.liveBatchSize })
      : new NatsJetStreamSource(nc, { ...nats, batchSize: config.pipeline.liveBatchSize });
  const outputs = openSideOutputs(nc, nats);
  // For /readyz: down from a disconnect until the client has reconnected (it retries forever).
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') connected = false;
      else if (s.type === 'reconnect') connected = true;
    }
  })();
  out.write(
    `vigil: consuming ${nats.subjects.join(', ')} from ${url} (${nats.mode}); dead letters to ${nats.deadLetterPrefix}.<reason>, late events to ${nats.lateSubjectPrefix}.<type> (Ctrl-C stops)\n`,
  );
  let checkpoints: InputCheckpoints | undefined;
  if (source instanceof NatsJetStreamSource && config.checkpoint.enabled) {
    const store = await objectStoreCheckpoints(config, nc, url).catch(async (e: unknown) => {
      await nc.close();
      throw e;
    });
    checkpoints = {
      store,
      scope: nats.consumer,
      source: `jetstream:${nats.stream}/${nats.consumer}`,
      resume: (m) => source.resumeAfter({ afterSeq: m?.position.seq ?? 0 }),
    };
  } else if (nats.mode === 'core') {
    out.write(
      'vigil: core NATS keeps no stream to resume from, so no checkpoints are taken: state starts empty at every start\n',
    );
  }
  return {
    ...(checkpoints !== undefined && { checkpoints }),
    source,
    sinks: outputs.sinks,
    nc,
    outputs,
    connected: () => connected && !nc.isClosed(),
    status: () =>
      ` | dead letters ${compact(outputs.deadLetters.published)} late out ${compact(outputs.late.published)}`,
    close: () => nc.drain(),
  };
}

/**
 * Runs the engine live: on the embedded demo (the synthetic shop's last `demo.historyDays`
 * of activity at `demo.eventsPerSecond` until it catches up with the wall clock, then live),
 * or on NATS when `nats.url` or `--nats-url` is set. A summary line each second; Ctrl-C
 * stops the input, lets in-flight batches finish (and be acknowledged), then closes.
 */
export async function startDemo(opts: StartOptions): Promise<void> {
  const out = opts.out ?? process.stdout;
  const overrides: Record<string, unknown> = {};
  if (opts.natsUrl !== undefined || opts.mode !== undefined) {
    overrides.nats = {
      ...(opts.natsUrl !== undefined && { url: opts.natsUrl }),
      ...(opts.mode !== undefined && { mode: opts.mode }),
    };
  }
  if (opts.port !== undefined) overrides.server = { port: Number(opts.port) };
  if (opts.stateDir !== undefined) overrides.checkpoint = { dir: opts.stateDir };
  if (opts.workers !== undefined) overrides.engine = { workers: Number(opts.workers) };
  const config = loadConfig({ file: opts.configFile, env: process.env, overrides });
  const fresh = opts.freshState === true;
  const input =
    config.nats.url === null
      ? await demoInput(config, out, config.checkpoint.dir, fresh)
      : await natsInput(config, config.nats.url, out);
  const workers = config.engine.workers;
  // One thread (`Engine`), or the graph on partition workers with transport and delivery here.
  let engine: Engine | undefined;
  let partitioned: PartitionedLiveEngine | undefined;
  if (workers > 1) {
    partitioned = await PartitionedLiveEngine.start(config, { workers }).catch(async (e: unknown) => {
      await input.close();
      throw e;
    });
    out.write(
      `vigil: the graph runs on ${workers} worker threads (${partitioned.partitions} partitions); this thread consumes and delivers\n`,
    );
  } else engine = new Engine(config);
  /** What this thread sees of the state: all of it, or with workers the counters and alert counts (`front`). */
  const view: EngineState = engine?.state ?? partitioned!.front;
  const closeEngine = () => partitioned?.close() ?? Promise.resolve();
  let checkpointer: Checkpointer | undefined;
  if (input.checkpoints !== undefined) {
    const log = (line: string) => process.stderr.write(`vigil: ${line}\n`);
    checkpointer = await restoreAndCheckpoint(engine ?? partitioned!, config, input.checkpoints, {
      fresh,
      out,
      log,
    }).catch(async (e: unknown) => {
      await input.close();
      await closeEngine();
      throw e;
    });
  }
  // Erasure: the suppression list (KV with NATS, else erasure.file), followed live; DELETE on the API; requests on NATS.
  const erasure = await openErasure(config, view, {
    nc: input.nc,
    ...(partitioned !== undefined && { held: (id: string) => partitioned.eraseHeld(id) }),
  });
  let ops;
  try {
    ops = await startOpsServer({
      config,
      engine: { state: view },
      readiness: {
        sourceConnected: () => input.connected(),
        stateReady: () => true,
        outputsFlowing: () => input.outputs?.flowing() ?? true,
      },
      erasure: erasure.erasure,
    });
  } catch (e) {
    await erasure.close();
    await input.close();
    await closeEngine();
    throw e;
  }
  out.write(`vigil ops: ${ops.url}/${ops.generatedToken === undefined ? '' : `#token=${ops.generatedToken}`}\n`);
  const source = input.source;
  // Marketing triggers (NATS) and webhooks, as configured in `triggers`.
  const marketing = await openMarketingSinks(config, { nc: input.nc, durable: checkpointer !== undefined }).catch(
    async (e: unknown) => {
      await ops.close();
      await erasure.close();
      await input.close();
      await closeEngine();
      throw e;
    },
  );
  const triggers = marketing.triggers;
  if (checkpointer !== undefined && triggers !== undefined) checkpointer.addBarrier(() => triggers.barrier());
  // Delivery outcomes (vigil_triggers_*, vigil_webhook_*) on the ops server's /metrics.
  marketing.registerMetrics(ops.metrics.registry);
  if (checkpointer !== undefined) registerCheckpointMetrics(ops.metrics.registry, checkpointer);
  input.outputs?.registerMetrics(ops.metrics.registry);
  const signalCounts = { session_closed: 0, timer: 0, evicted: 0 } satisfies Record<StateSignal['kind'], number>;

  let lastInput = view.counters.input; // restored from a checkpoint, or 0
  let lastTick = performance.now();
  const tick = setInterval(() => {
    const c = view.counters;
    const now = performance.now();
    const rate = ((c.input - lastInput) * 1000) / (now - lastTick);
    lastInput = c.input;
    lastTick = now;
    const wm = view.watermark.watermark;
    out.write(
      `${compact(rate).padStart(6)} ev/s | customers ${compact(partitioned?.population().customers ?? view.store.size)} | ` +
        `applied ${compact(c.applied)} dup ${compact(c.duplicate)} late ${compact(c.late)} rejected ${compact(c.rejected)} | ` +
        `sessions closed ${compact(signalCounts.session_closed)} | ${alertSummary(view)} | event time ${Number.isFinite(wm) ? new Date(wm).toISOString().slice(0, 16) : '-'}` +
        `${input.status()}${marketing.status()}${checkpointStatus(checkpointer)}\n`,
    );
  }, 1000);

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= source.stop());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  opts.signal?.addEventListener('abort', stop, { once: true });
  const timer = opts.runForMs === undefined ? undefined : setTimeout(stop, opts.runForMs);
  try {
    const run: RunOptions = {
      // The ops server first: its fan-out is the latency the stream measures.
      sinks: [
        ops.sink,
        ...input.sinks,
        ...marketing.sinks,
        { handle: (b) => b.signals.forEach((s) => signalCounts[s.kind]++) },
      ],
      ...(checkpointer !== undefined && { onBatchCompleted: checkpointer.batchCompleted }),
    };
    await (engine ?? partitioned!).run(source, run);
    if (checkpointer !== undefined) {
      const ok = await checkpointer.final();
      const s = checkpointer.stats;
      out.write(
        ok
          ? `final checkpoint ${s.lastNumber}: ${s.lastBytes} bytes in ${Math.round(s.lastWriteMs)} ms\n`
          : 'final checkpoint failed: a restart resumes from the previous one\n',
      );
    }
  } finally {
    await ops.close();
    await marketing.close();
    await erasure.close();
    await input.close();
    await closeEngine();
    clearInterval(tick);
    if (timer) clearTimeout(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    opts.signal?.removeEventListener('abort', stop);
  }
  const c = view.counters;
  out.write(`alerts: ${JSON.stringify(view.alerts?.emitted ?? {})}\n`);
  out.write(`stopped cleanly: ${JSON.stringify(c.toJSON())}; balanced=${c.balanced}\n`);
}

/** Alerts so far by type, in short, in the registry's order: "alerts churn 12 tier 30 seg 9 cart 340 xsell 210". */
function alertSummary(state: EngineState): string {
  const e = state.alerts?.emitted;
  if (e === undefined) return 'analytics off';
  return 'alerts ' + alertTypeSpecs.map((s) => `${s.status} ${compact(e[s.type])}`).join(' ');
}
