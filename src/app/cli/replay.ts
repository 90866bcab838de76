import { loadConfig } from '../config/load.js';
import type { VigilConfig } from '../config/schema.js';
import { eventTimeOf, eventTimeOrderedRuns } from './event-time-order.js';
import type { RawMessage } from '../../core/source.js';
import { Engine } from '../engine.js';
import { InProcessSource } from '../../edges/in-process.js';
import { readEventFile, type EventFileProgress } from '../../edges/files/event-file.js';
import { dumpState, writeDumpLines } from './dump-state.js';
import { replayOnWorkers } from './replay-on-workers.js';
import { workersFor } from './workers-option.js';
import { openMarketingSinks } from '../../delivery/sinks/marketing-sinks.js';
import type { TriggerStats } from '../../delivery/sinks/nats-triggers.js';
import type { WebhookStats } from '../../delivery/sinks/webhooks.js';
import { bar, compact, ProgressLine } from './progress.js';
import type { OutcomeCountsJson } from '../../state/outcome-counters.js';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Checkpointer } from '../checkpoint/checkpointer.js';
import { VigilError } from '../../core/errors.js';
import { skipMessages } from '../../edges/skip-messages.js';
import { fileCheckpoints, restoreAndCheckpoint } from './durable-state.js';

export interface ReplayOptions {
  readonly file: string;
  readonly configFile?: string | undefined;
  readonly dumpState?: string | undefined;
  readonly progress?: boolean;
  /** Replay only events before this event time (epoch ms); undecodable messages still pass, to be rejected. */
  readonly until?: number | undefined;
  /**
   * Deliver the replay's alerts to the marketing destinations configured in `triggers`
   * (NATS when `triggers.nats.enabled`, webhooks). Alert ids are deterministic, so replaying
   * again leaves each trigger once in the stream, and receivers de-duplicate by webhook-id.
   */
  readonly triggers?: boolean;
  /**
   * `eventTime`: read the whole file and feed it sorted by event time (the batch commands,
   * whose answer must not depend on the file's order); `file` (default): as it comes, as a
   * live stream would deliver it, late events judged late.
   */
  readonly order?: 'file' | 'eventTime';
  /**
   * Keep checkpoints in this directory (else `checkpoint.dir`), and resume from the latest:
   * a replay stopped or killed half-way goes on where its last checkpoint ended.
   */
  readonly stateDir?: string | undefined;
  /** Discard the checkpoints of `stateDir` and replay from the start. */
  readonly freshState?: boolean;
  /** Where checkpoint trouble is reported (stderr by default). */
  readonly log?: (line: string) => void;
  /** Stops the replay early, as Ctrl-C does: in-flight batches finish and a final checkpoint is written. */
  readonly signal?: AbortSignal;
  /**
   * `runReplay` only: worker threads (`--workers`, else `engine.workers`). 1 runs the
   * single-threaded `Engine`; more run `PartitionedEngine`, without checkpoints or triggers.
   */
  readonly workers?: string | number | undefined;
}

export interface ReplayResult {
  counts: OutcomeCountsJson;
  customers: number;
  watermark: number;
  unreadableBytes: number;
  /** How the file was read (messages cut, bytes that could not be). */
  file: EventFileProgress;
  seconds: number;
  /** The engine as the replay left it, for commands that read its state. */
  engine: Engine;
  /** With `triggers`: what the marketing sinks did. */
  triggers?: TriggerStats | undefined;
  webhooks?: Record<string, WebhookStats> | undefined;
  /** What the caller should be told loudly (e.g. much of the input was late). */
  warnings: string[];
  /** With a state directory: the last checkpoint written (0: none). */
  checkpoint?: number;
  /** Stopped before the end of the file (signal); resumable with the same state directory. */
  stopped: boolean;
}

/**
 * Runs a file of canonical events through the same graph as live input, as fast as it
 * can. The end of the file is the end of event time, so the result does not depend on
 * the wall clock or on batch boundaries: same input, same output.
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const config = loadConfig({ file: opts.configFile, env: process.env });
  return replayWith(config, opts);
}

/** What a replay on one thread or on workers leaves: a single-threaded replay's result, its engine only with one thread. */
export type ReplaySummary = Omit<ReplayResult, 'engine'> & {
  /** The single-threaded engine (one worker); undefined with workers. */
  engine: Engine | undefined;
  workers: number;
  /** With workers: P. */
  partitions?: number;
  /** With workers and `customerLines`: every customer's dump line, sorted by id. */
  lines?: [string, unknown][];
};

/**
 * `vigil replay` with `--workers`: one worker (the default `engine.workers`) is `replay`
 * itself; more run the same input through `PartitionedEngine` (`replay-on-workers.ts`).
 * Checkpoints (`--state-dir`) and `--triggers` are not run on workers yet:
 * `VIGIL_ERR_WORKERS_UNSUPPORTED`.
 */
export async function runReplay(opts: ReplayOptions & { customerLines?: boolean }): Promise<ReplaySummary> {
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const workers = workersFor(config, opts.workers);
  if (workers === 1) return { ...(await replayWith(config, opts)), workers };
  const stateDir = opts.stateDir ?? config.checkpoint.dir ?? undefined;
  if (stateDir !== undefined && config.checkpoint.enabled)
    throw new VigilError(
      'VIGIL_ERR_WORKERS_UNSUPPORTED',
      `replay with ${workers} workers and checkpoints (--state-dir or checkpoint.dir): the partitioned engine does not take checkpoints yet; drop --state-dir (or set checkpoint.enabled false), or use --workers 1`,
    );
  if (opts.triggers === true)
    throw new VigilError(
      'VIGIL_ERR_WORKERS_UNSUPPORTED',
      `replay with ${workers} workers and --triggers: the partitioned replay does not deliver alerts yet; use --workers 1`,
    );
  const started = performance.now();
  const { runs, progress } = replayInput(config, opts);
  const r = await replayOnWorkers(config, runs, {
    workers,
    progress: opts.progress !== false,
    file: progress,
    dumpLines: opts.dumpState !== undefined || opts.customerLines === true,
    signal: opts.signal,
  });
  if (opts.dumpState !== undefined && r.lines !== undefined) await writeDumpLines(r.lines, opts.dumpState);
  return {
    counts: r.counts,
    customers: r.customers,
    watermark: r.watermark,
    unreadableBytes: progress.unreadableBytes,
    file: progress,
    seconds: (performance.now() - started) / 1000,
    engine: undefined,
    warnings: lateInputWarnings(r.counts, config),
    stopped: r.stopped,
    workers,
    partitions: r.partitions,
    ...(opts.customerLines === true && r.lines !== undefined && { lines: r.lines }),
  };
}

/** The file's messages as a replay feeds them: in file or event-time order, cut at `until`. */
function replayInput(
  config: VigilConfig,
  opts: ReplayOptions,
): { runs: AsyncIterable<readonly RawMessage[]>; progress: EventFileProgress } {
  const progress: EventFileProgress = { bytesRead: 0, totalBytes: undefined, messages: 0, unreadableBytes: 0 };
  const read = readEventFile(opts.file, { maxPayloadBytes: config.limits.maxPayloadBytes, progress });
  const runs = opts.order === 'eventTime' ? eventTimeOrderedRuns(read, config.limits.maxPayloadBytes) : read;
  const limited = opts.until === undefined ? runs : before(runs, opts.until, config.limits.maxPayloadBytes);
  return { runs: limited, progress };
}

async function replayWith(config: VigilConfig, opts: ReplayOptions): Promise<ReplayResult> {
  const engine = new Engine(config);
  const { runs: limited, progress } = replayInput(config, opts);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const stateDir = opts.stateDir ?? config.checkpoint.dir ?? undefined;
  let skip = 0;
  let checkpointer: Checkpointer | undefined;
  if (stateDir !== undefined && config.checkpoint.enabled) {
    if (opts.file === '-')
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        'a replay of stdin cannot resume, so it keeps no checkpoints: give a file, or drop --state-dir',
      );
    const input = {
      store: fileCheckpoints(stateDir, 'replay'),
      scope: 'replay',
      source: replaySourceName(opts),
      resume: (m: { position: { messages: number } } | undefined) => void (skip = m?.position.messages ?? 0),
    };
    checkpointer = await restoreAndCheckpoint(engine, config, input, {
      fresh: opts.freshState === true,
      out: process.stderr,
      log,
    });
  }
  const source = new InProcessSource(
    skipMessages(limited, () => skip),
    {
      name: 'replay',
      batchSize: config.pipeline.batchSize,
      finite: true,
    },
  );
  let stopped = false;
  const stop = () => {
    stopped = true;
    void source.stop();
  };
  opts.signal?.addEventListener('abort', stop, { once: true });
  const started = performance.now();
  const line = new ProgressLine(() => {
    const c = engine.state.counters;
    const secs = (performance.now() - started) / 1000;
    const frac = progress.totalBytes ? progress.bytesRead / progress.totalBytes : 0;
    return (
      `${progress.totalBytes ? bar(frac) + ' ' + (frac * 100).toFixed(0).padStart(3) + '% ' : ''}` +
      `${compact(c.input)} events, ${compact(c.input / Math.max(secs, 1e-3))}/s | ` +
      `applied ${compact(c.applied)} dup ${compact(c.duplicate)} late ${compact(c.late)} rejected ${compact(c.rejected)}`
    );
  });
  const marketing = opts.triggers
    ? await openMarketingSinks(config, { durable: checkpointer !== undefined })
    : undefined;
  if (opts.progress !== false) line.start();
  if (checkpointer !== undefined && marketing?.triggers !== undefined)
    checkpointer.addBarrier(() => marketing.triggers!.barrier());
  try {
    await engine.run(source, {
      sinks: marketing?.sinks ?? [],
      ...(checkpointer !== undefined && { onBatchCompleted: checkpointer.batchCompleted }),
    });
    if (checkpointer !== undefined && !(await checkpointer.final()))
      log('replay: the final checkpoint failed; a rerun resumes from the previous one');
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    if (opts.progress !== false) line.stop();
    // A replay ends when what it produced is out, or given up after the grace period (counted).
    await marketing?.close(60_000);
  }
  const watermark = engine.state.watermark.watermark;
  if (opts.dumpState !== undefined)
    await dumpState(engine.state.store, watermark, opts.dumpState, engine.state.analytics);
  return {
    counts: engine.state.counters.toJSON(),
    customers: engine.state.store.size,
    watermark,
    unreadableBytes: progress.unreadableBytes,
    file: progress,
    seconds: (performance.now() - started) / 1000,
    engine,
    triggers: marketing?.triggers?.stats(),
    webhooks: marketing?.webhooks?.stats(),
    warnings: lateInputWarnings(engine.state.counters.toJSON(), config),
    ...(checkpointer !== undefined && { checkpoint: checkpointer.stats.lastNumber }),
    stopped,
  };
}

/**
 * A replayed file's name in its checkpoints: its path, size and order, so a checkpoint of
 * another file (or of this one changed, or read in another order) is refused at restore.
 */
function replaySourceName(opts: ReplayOptions): string {
  const path = resolve(opts.file);
  return `file:${path}:${statSync(path).size}:${opts.order ?? 'file'}${opts.until === undefined ? '' : `:until=${opts.until}`}`;
}

/** Drops events at or after `until`; anything without a readable `ts` goes on to be judged. */
async function* before(
  runs: AsyncIterable<readonly RawMessage[]>,
  until: number,
  maxPayloadBytes: number,
): AsyncGenerator<RawMessage[]> {
  for await (const run of runs) {
    yield run.filter((m) => {
      const ts = eventTimeOf(m, maxPayloadBytes);
      return ts === undefined || ts < until;
    });
  }
}

/** Share of the input judged late above which a replay says so: a file out of event-time order. */
export const LATE_WARNING_SHARE = 0.01;

/**
 * A replay of a file that is not in event-time order drops most of it as late, silently
 * skewing everything computed after; this names the cause and the cure.
 */
export function lateInputWarnings(counts: OutcomeCountsJson, config: VigilConfig): string[] {
  if (!(counts.late > LATE_WARNING_SHARE * counts.input)) return [];
  const share = ((100 * counts.late) / counts.input).toFixed(1);
  const behind = config.eventTime.maxOutOfOrdernessMs + config.eventTime.allowedLatenessMs;
  return [
    `${counts.late} of ${counts.input} events (${share}%) were late and dropped: they came more than ` +
      `${behind / 1000} s of event time (eventTime.maxOutOfOrdernessMs + allowedLatenessMs) behind the newest event before them. ` +
      'The file is not in event-time order (a log sorted by customer?); sort it by ts, ' +
      'or let vigil fit / vigil eval read it, which sort their input.',
  ];
}
