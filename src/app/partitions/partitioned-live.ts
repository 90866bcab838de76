import { availableParallelism } from 'node:os';
import type { Subscription } from 'rxjs';
import { newBatch } from '../../core/batch.js';
import type { RejectReason } from '../../core/errors.js';
import type { RawBatch, Source } from '../../core/source.js';
import { tallyBatch } from '../../state/operators/tally.js';
import type { VigilConfig } from '../config/schema.js';
import type { EngineBatch } from '../engine-batch.js';
import type { RunOptions } from '../engine.js';
import { EngineState } from '../engine-state.js';
import { BatchBuilder } from './batch-builder.js';
import { DEFAULT_PARTITIONS, partitionOfId, partitionOfMessage } from './partition-of.js';
import type { LiveOutputs, PartitionResult } from './partition-protocol.js';
import { startWorkers, type WorkerLink } from './worker-link.js';
import { GlobalSync } from './global-sync.js';

export interface PartitionedLiveOptions {
  /** P, fixed per deployment (default 32). */
  readonly partitions?: number;
  /** W worker threads (default: the machine's available parallelism). */
  readonly workers?: number;
  /** Keep every alert id per partition (tests: `results`). */
  readonly collectAlerts?: boolean;
  /** A fixed wall clock for validation's future-time check (tests). */
  readonly wallClock?: number;
}

/**
 * The live engine spread over W worker threads by customer partition. This thread runs the
 * transport and the delivery; the workers run the graph:
 *
 * - each batch the source hands over is routed as it arrives: every message's partition from
 *   its raw bytes (`partitionOfMessage`, no decode), its bytes appended to the sub-batch of
 *   the worker owning the partition, one transferred buffer per worker;
 * - each worker runs its partitions' graphs and answers with the outputs (outcomes,
 *   rejections, late events, alerts, signals), which are put back at their messages'
 *   places into one `EngineBatch` for the sinks: dead letters, late events, the ops
 *   server's WebSocket hub, NATS triggers, webhooks. No worker writes to a socket;
 * - batches are routed as soon as they arrive, so the graph works on one while the sinks
 *   deliver another; sinks and commits run one batch at a time in arrival order, and a
 *   batch is committed (its JetStream messages acked) only after the workers applied it
 *   and every sink is done: at least once, as with the single-threaded `Engine`.
 *
 * A customer's messages all go to one partition, in their order, so per-customer state,
 * alert ids and per-customer alert order do not depend on W (tested through nats-server).
 * In flight is bounded by the transport (JetStream's max_ack_pending).
 */
export class PartitionedLiveEngine {
  /**
   * What this thread knows of the state, for the ops server and erasure: the outcome
   * counters and alert counts of every batch, the highest event time per worker as a
   * watermark, and the suppression list. It holds no customer: they live in the workers.
   */
  readonly front: EngineState;
  batchesCompleted = 0;
  private readonly owner: Int32Array;
  /** Merges the state across customers at event-time sync points; undefined with `engine.globalSyncMs` 0. */
  private readonly sync: GlobalSync | undefined;

  private constructor(
    readonly config: VigilConfig,
    private readonly links: WorkerLink[],
    readonly partitions: number,
    wallClock: number | undefined,
  ) {
    this.front = new EngineState(config);
    this.owner = new Int32Array(partitions).map((_, p) => p % links.length);
    const everyMs = config.engine.globalSyncMs;
    this.sync =
      everyMs > 0 && config.analytics.enabled
        ? new GlobalSync(links, this.owner, {
            partitions,
            everyMs,
            maxPayloadBytes: config.limits.maxPayloadBytes,
            futureLimit: () => (wallClock ?? Date.now()) + config.limits.maxFutureSkewMs,
          })
        : undefined;
  }

  static async start(config: VigilConfig, opts: PartitionedLiveOptions = {}): Promise<PartitionedLiveEngine> {
    const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
    const workers = Math.max(1, Math.min(partitions, opts.workers ?? availableParallelism()));
    const links = await startWorkers(config, partitions, workers, {
      collectAlerts: opts.collectAlerts ?? false,
      ...(opts.wallClock !== undefined && { wallClock: opts.wallClock }),
    });
    return new PartitionedLiveEngine(config, links, partitions, opts.wallClock);
  }

  get workers(): number {
    return this.links.length;
  }

  /**
   * Runs a live source until `source.stop()` (or its end); `heartbeatMs` empty batches keep
   * idleness and timers moving in every partition on a quiet input. Rejects with the first
   * failure of a worker, a sink or a commit, after stopping the source.
   */
  async run(source: Source, opts: RunOptions = {}): Promise<void> {
    const sinks = opts.sinks ?? [];
    let chain: Promise<void> = Promise.resolve();
    let failure: unknown;
    const deliver = (messages: RawBatch, routing: () => Promise<EngineBatch>) => {
      let outputs: Promise<EngineBatch>;
      try {
        outputs = routing(); // now, so workers get batches in arrival order
      } catch (e) {
        outputs = Promise.reject(e as Error);
      }
      // Awaited in turn below, or dropped after a failure: never an unhandled rejection.
      outputs.catch(() => {});
      chain = chain
        .then(async () => {
          if (failure !== undefined) return;
          const batch = await outputs;
          for (const sink of sinks) await sink.handle(batch);
          if (messages.length > 0) await source.commit(messages);
          this.batchesCompleted++;
          opts.onBatchCompleted?.(this.batchesCompleted);
        })
        .catch((e: unknown) => {
          if (failure === undefined) {
            failure = e;
            void source.stop();
          }
        });
    };
    const heartbeat = setInterval(() => deliver([], () => this.tick()), opts.heartbeatMs ?? 1000);
    let subscription: Subscription | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        subscription = source.batches().subscribe({
          next: (messages) => deliver(messages, () => this.route(messages)),
          error: reject,
          complete: resolve,
        });
      });
    } finally {
      clearInterval(heartbeat);
      subscription?.unsubscribe();
    }
    await chain;
    if (failure !== undefined) throw failure;
  }

  /**
   * Erasure: the partition owning the customer forgets it and rejects its later events,
   * between two of its batches (`front` keeps the suppression list for the delivery side).
   */
  erase(customerId: string): void {
    const p = partitionOfId(customerId, this.partitions);
    this.links[this.owner[p]!]!.post({ type: 'erase', partition: p, customerId });
  }

  /**
   * The end of event time (tests, and a replay's end): every partition's watermark moves to
   * the last event time over all partitions, firing the timers up to it. Call after `run`.
   */
  async endEventTime(): Promise<void> {
    const ends = await Promise.all(this.links.map((l) => l.ask({ type: 'maxEventTime' })));
    const eventTimeEnd = Math.max(...ends.map((m) => (m.type === 'maxEventTime' ? m.value : -Infinity)));
    await Promise.all(this.links.map((l) => l.ask({ type: 'finish', eventTimeEnd })));
  }

  /** Per partition: state dump (with `dump`), alert ids (with `collectAlerts`), counters. */
  async results(dump = false): Promise<PartitionResult[]> {
    const replies = await Promise.all(this.links.map((l) => l.ask({ type: 'results', dump })));
    return replies
      .flatMap((r, w) => {
        if (r.type !== 'results') throw new Error(`worker ${w}: unexpected reply ${r.type}`);
        return r.partitions;
      })
      .sort((a, b) => a.partition - b.partition);
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.worker.terminate()));
  }

  /**
   * Sends each worker its share of `messages` now; resolves to the batch with every output in
   * place. A sync point falling inside the batch splits it there: the share before it, the
   * marker, then the share after it.
   */
  private route(messages: RawBatch): Promise<EngineBatch> {
    const batch = outputBatch(messages);
    const replies: Reply[] = [];
    const sync = this.sync;
    let from = 0;
    if (sync !== undefined)
      for (let i = 0; i < messages.length; i++)
        if (sync.crosses(messages[i]!.bytes)) {
          this.routeSpan(messages, from, i, replies);
          sync.mark();
          from = i;
        }
    this.routeSpan(messages, from, messages.length, replies);
    return this.assemble(batch, replies);
  }

  /** Sends each worker its share of `messages[from, to)`, adding the replies to come. */
  private routeSpan(messages: RawBatch, from: number, to: number, replies: Reply[]): void {
    const w = this.links.length;
    const builders = Array.from({ length: w }, () => new BatchBuilder());
    const at: number[][] = Array.from({ length: w }, () => []);
    const maxPayload = this.config.limits.maxPayloadBytes;
    for (let i = from; i < to; i++) {
      const p = partitionOfMessage(messages[i]!.bytes, this.partitions, maxPayload);
      const owner = this.owner[p]!;
      builders[owner]!.add(p, messages[i]!.bytes);
      at[owner]!.push(i);
    }
    for (let t = 0; t < w; t++) {
      const mine = at[t]!;
      if (mine.length === 0) continue;
      const { bytes, index } = builders[t]!.take();
      const receivedAt = new Float64Array(mine.length);
      const rejectedBy: [number, RejectReason][] = [];
      mine.forEach((i, k) => {
        const m = messages[i]!;
        receivedAt[k] = m.receivedAt;
        if (m.rejectedBy !== undefined) rejectedBy.push([k, m.rejectedBy]);
      });
      const transfer = [bytes, index.buffer as ArrayBuffer, receivedAt.buffer];
      const outputs = this.links[t]!.ask({ type: 'live', bytes, index, receivedAt, rejectedBy }, transfer);
      replies.push({ worker: t, at: mine, outputs: outputs as Promise<LiveOutputs> });
    }
  }

  private tick(): Promise<EngineBatch> {
    const replies = this.links.map((l, worker) => ({
      worker,
      at: [],
      outputs: l.ask({ type: 'tick' }) as Promise<LiveOutputs>,
    }));
    return this.assemble(outputBatch([]), replies);
  }

  /** The workers' outputs put in `batch` at their messages' places, and counted on `front`. */
  private async assemble(batch: EngineBatch, replies: Reply[]): Promise<EngineBatch> {
    const outputs = await Promise.all(replies.map((r) => r.outputs));
    const now = performance.now();
    replies.forEach(({ worker, at }, n) => {
      const r = outputs[n]!;
      for (let k = 0; k < at.length; k++) {
        const i = at[k]!;
        batch.outcome[i] = r.outcome[k]!;
        batch.watermarkAt[i] = r.watermarkAt[k]!;
        batch.events[i] = r.events[k];
      }
      for (const x of r.rejections) batch.rejections.push({ index: at[x.index]!, reason: x.reason, path: x.path });
      for (let j = 0; j < r.late.length; j++) {
        batch.late.push(r.late[j]!);
        batch.lateIndex.push(at[r.lateIndex[j]!]!);
      }
      for (let j = 0; j < r.alerts.length; j++) {
        batch.alerts.push(r.alerts[j]!);
        batch.alertEnteredAt.push(r.alertEnteredAt[j]!);
      }
      batch.signals.push(...r.signals);
      if (Number.isFinite(r.maxEventTime)) this.front.watermark.observe(`worker-${worker}`, r.maxEventTime, now);
    });
    const emitted = this.front.alerts?.emitted;
    if (emitted !== undefined) for (const a of batch.alerts) emitted[a.type]++;
    batch.watermark = this.front.watermark.refresh(now);
    return tallyBatch(batch, this.front.counters);
  }
}

/** A worker's share of a batch: `at[k]` is the batch position of the worker's message k. */
interface Reply {
  worker: number;
  at: readonly number[];
  outputs: Promise<LiveOutputs>;
}

/**
 * The workers ran the global processes already, so no stage here places outputs by message:
 * `alertsThrough` is left at zero (read only by `globalProcesses`, which the main thread does not run).
 */
function outputBatch(messages: RawBatch): EngineBatch {
  return {
    ...newBatch(messages),
    signals: [],
    alerts: [],
    alertEnteredAt: [],
    alertsThrough: new Uint32Array(messages.length),
  };
}
