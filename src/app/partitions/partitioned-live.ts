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
import { partitionOfId, partitionOfMessage } from './partition-of.js';
import type { FromWorker, LiveOutputs, PartitionResult, Population } from './partition-protocol.js';
import type { PartitionCapture } from './partition-graph.js';
import { OutcomeCounters } from '../../state/outcome-counters.js';
import type { CustomerAnswer } from '../../server/customer-answer.js';

import { dumpLinesOf, QUERY_TIMEOUT_MS, startWorkers, type WorkerLink } from './worker-link.js';
import { GlobalStage, stageBatch, type GlobalStageSnapshot, type PlacedAlert } from './global-stage.js';
import type { Alert } from '../../alerts/alert.js';
import { globalSyncFor, type GlobalSync, type GlobalSyncSnapshot } from './global-sync.js';

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
  /** Demand series and campaign cohorts, once for all partitions, on this thread (`front.demand`, `front.campaigns`). */
  readonly stage: GlobalStage;
  /** With `collectAlerts`: every alert the stage concluded, in order (those of `endEventTime` included). */
  readonly stageAlerts: Alert[] = [];
  batchesCompleted = 0;
  /** Batches (ticks included) posted to the workers: a checkpoint's barrier covers these. */
  batchesRouted = 0;
  /** Highest stream sequence among the messages posted to the workers (0: none). */
  routedSeq = 0;
  private readonly owner: Int32Array;
  private counted: Population = { customers: 0, segments: {} };
  private counting = false;
  /** Merges the state across customers at event-time sync points; undefined with `engine.globalSyncMs` 0. */
  private readonly sync: GlobalSync | undefined;

  private constructor(
    readonly config: VigilConfig,
    private readonly links: WorkerLink[],
    readonly partitions: number,
    private readonly collectAlerts = false,
    wallClock: number | undefined,
  ) {
    this.front = new EngineState(config);
    this.stage = new GlobalStage(this.front, partitions, config.eventTime.idleTimeoutMs);
    this.front.partitions = { customer: (id) => this.customer(id), population: () => this.population() };
    this.owner = new Int32Array(partitions).map((_, p) => p % links.length);
    this.sync = globalSyncFor(config, links, this.owner, partitions, wallClock);
  }

  static async start(config: VigilConfig, opts: PartitionedLiveOptions = {}): Promise<PartitionedLiveEngine> {
    const partitions = opts.partitions ?? config.engine.partitions;
    const workers = Math.max(1, Math.min(partitions, opts.workers ?? availableParallelism()));
    const links = await startWorkers(config, partitions, workers, {
      collectAlerts: opts.collectAlerts ?? false,
      ...(opts.wallClock !== undefined && { wallClock: opts.wallClock }),
    });
    return new PartitionedLiveEngine(config, links, partitions, opts.collectAlerts ?? false, opts.wallClock);
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
      this.batchesRouted++;
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
    const heartbeat = setInterval(() => {
      deliver([], () => this.tick());
      if (!this.counting) {
        // Population for the ops server's kpi frame and metrics; a worker that does not answer keeps the last count.
        this.counting = true;
        void this.countPopulation()
          .catch(() => {})
          .finally(() => (this.counting = false));
      }
    }, opts.heartbeatMs ?? 1000);
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
    this.front.campaigns?.erase(customerId);
  }

  /**
   * Erasure asking the owning partition: it forgets the customer and rejects its later
   * events, as `erase` does, and answers whether it held the customer. Rejects with
   * VIGIL_ERR_WORKER_QUERY when the worker does not answer within `QUERY_TIMEOUT_MS` (it
   * still erases when it gets to the request).
   */
  async eraseHeld(customerId: string): Promise<boolean> {
    const p = partitionOfId(customerId, this.partitions);
    const inCohorts = this.front.campaigns?.erase(customerId) === true;
    const held = await this.links[this.owner[p]!]!.query({ kind: 'erase', partition: p, customerId }, QUERY_TIMEOUT_MS);
    return held === true || inCohorts;
  }

  /** The customer's API answer from the partition owning it; undefined when it does not hold the customer. */
  async customer(customerId: string): Promise<CustomerAnswer | undefined> {
    const p = partitionOfId(customerId, this.partitions);
    const a = await this.links[this.owner[p]!]!.query({ kind: 'customer', partition: p, customerId }, QUERY_TIMEOUT_MS);
    return (a as CustomerAnswer | null) ?? undefined;
  }

  /** Counts customers and segments over every worker now; `population()` gives them afterwards. */
  async countPopulation(): Promise<Population> {
    const answers = await Promise.all(this.links.map((l) => l.query({ kind: 'population' }, QUERY_TIMEOUT_MS)));
    const total: Population = { customers: 0, segments: {} };
    for (const a of answers as Population[]) {
      total.customers += a.customers;
      for (const [s, n] of Object.entries(a.segments)) total.segments[s] = (total.segments[s] ?? 0) + n;
    }
    this.counted = total;
    return total;
  }

  /** Customers and segments as last counted (every heartbeat while running). */
  population(): Population {
    return this.counted;
  }

  /**
   * The end of event time (tests, and a replay's end): every partition's watermark moves to
   * the last event time over all partitions, firing the timers up to it. Call after `run`.
   */
  async endEventTime(): Promise<void> {
    const ends = await Promise.all(this.links.map((l) => l.ask({ type: 'maxEventTime' })));
    const eventTimeEnd = Math.max(...ends.map((m) => (m.type === 'maxEventTime' ? m.value : -Infinity)));
    await Promise.all(this.links.map((l) => l.ask({ type: 'finish', eventTimeEnd })));
    this.stage.end(eventTimeEnd);
    const out = this.stage.take();
    if (this.collectAlerts) this.stageAlerts.push(...out);
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

  /** Every customer's state dump line (keyed state and analytics) as of `asOf`, sorted by id (tests). */
  dumpLines(asOf: number): Promise<[string, unknown][]> {
    return dumpLinesOf(this.links, asOf);
  }

  /** Each worker's time inside the graph so far, ms (the benches' per-thread costs). */
  async graphMs(): Promise<number[]> {
    const replies = await Promise.all(this.links.map((l) => l.ask({ type: 'results', dump: false })));
    return replies.map((r, w) => {
      if (r.type !== 'results') throw new Error(`worker ${w}: unexpected reply ${r.type}`);
      return r.graphMs;
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.worker.terminate()));
  }

  /**
   * A checkpoint's barrier, now: every worker captures its partitions after the batches
   * already posted to it, which are the first `covered` batches (ticks included), whose
   * messages reach stream sequence `seq` at most. The workers capture in parallel while this
   * thread goes on; the partitions' pieces stay valid until the next `capture`.
   *
   * The stage after the shuffle is captured at the same barrier: its snapshot is a link of
   * the chain that assembles batches in routing order, after batch `covered` went through
   * the stage and before batch `covered` + 1 does (`stage`).
   *
   * So is the sync points' position (`sync`, null without sync points): taken now, with the
   * broadcasts no partition has installed at the barrier once they are merged. Each
   * partition's own share of the sync (`GlobalShare`) is in its piece.
   */
  capture(chunkBytes: number): {
    covered: number;
    seq: number;
    captured: Promise<Extract<FromWorker, { type: 'captured' }>[]>;
    stage: Promise<GlobalStageSnapshot>;
    sync: Promise<GlobalSyncSnapshot | null>;
  } {
    const replies = this.links.map((l) => l.ask({ type: 'capture', chunkBytes }));
    const captured = Promise.all(replies).then((rs) =>
      rs.map((r, w) => {
        if (r.type !== 'captured') throw new Error(`worker ${w}: unexpected reply ${r.type}`);
        return r;
      }),
    );
    const stage = this.assembled.then(() => this.stage.snapshot());
    this.assembled = stage.catch(() => {});
    const sync = this.sync?.snapshot() ?? Promise.resolve(null);
    return { covered: this.batchesRouted, seq: this.routedSeq, captured, stage, sync };
  }

  /** E of the sync points (`engine.globalSyncMs`), or null when this engine places none. */
  get syncEveryMs(): number | null {
    return this.sync === undefined ? null : this.config.engine.globalSyncMs;
  }

  /**
   * Before `run`, after the partitions are restored: the sync points go on from a
   * checkpoint's position, and the broadcasts not installed at its barrier are sent again to
   * the workers now owning their partitions.
   */
  restoreSync(snapshot: GlobalSyncSnapshot): void {
    if (this.sync === undefined) throw new Error('this engine places no sync points');
    this.sync.restore(snapshot);
  }

  /**
   * Before `run`: restores a partition from a checkpoint's capture in the worker that owns
   * it (p mod W, whatever W took the checkpoint).
   */
  async adoptPartition(capture: PartitionCapture): Promise<void> {
    const reply = await this.links[this.owner[capture.header.partition]!]!.ask({
      type: 'adopt',
      capture,
      alertIds: [],
      kept: [],
    });
    if (reply.type !== 'adopted') throw new Error(`unexpected reply ${reply.type} to adopt`);
  }

  /** Before `run`: restores the stage after the shuffle (demand series, campaign cohorts) from a checkpoint's piece. */
  restoreStage(snapshot: GlobalStageSnapshot): void {
    this.stage.restore(snapshot, performance.now());
  }

  /** After the partitions are restored: `front`'s counters become their sum, and the input position `seq`. */
  async restoredAt(seq: number): Promise<void> {
    const sum = new OutcomeCounters();
    for (const { counters } of await this.results(false)) sum.add(counters);
    this.front.counters.restore(sum.toJSON());
    this.routedSeq = seq;
  }

  /**
   * Sends each worker its share of `messages` now; resolves to the batch with every output in
   * place. A sync point falling inside the batch splits it there: the share before it, the
   * marker, then the share after it.
   */
  private route(messages: RawBatch): Promise<EngineBatch> {
    const batch = outputBatch(messages);
    const replies: Reply[] = [];
    const partitionAt = new Int32Array(messages.length);
    const sync = this.sync;
    let from = 0;
    if (sync !== undefined)
      for (let i = 0; i < messages.length; i++)
        if (sync.crosses(messages[i]!.bytes)) {
          this.routeSpan(messages, from, i, replies, partitionAt);
          sync.mark();
          from = i;
        }
    this.routeSpan(messages, from, messages.length, replies, partitionAt);
    return this.assemble(batch, replies, partitionAt);
  }

  /** Sends each worker its share of `messages[from, to)`, adding the replies to come; records each message's partition in `partitionAt`. */
  private routeSpan(messages: RawBatch, from: number, to: number, replies: Reply[], partitionAt: Int32Array): void {
    const w = this.links.length;
    const builders = Array.from({ length: w }, () => new BatchBuilder());
    const at: number[][] = Array.from({ length: w }, () => []);
    const maxPayload = this.config.limits.maxPayloadBytes;
    for (let i = from; i < to; i++) {
      const seq = messages[i]!.seq;
      if (seq !== undefined && seq > this.routedSeq) this.routedSeq = seq;
      const p = (partitionAt[i] = partitionOfMessage(messages[i]!.bytes, this.partitions, maxPayload));
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
    return this.assemble(outputBatch([]), replies, new Int32Array(0));
  }

  /** The workers' outputs put in `batch` at their messages' places, and counted on `front`. */
  private assemble(batch: EngineBatch, replies: Reply[], partitionAt: Int32Array): Promise<EngineBatch> {
    // In routing order: a batch whose workers answered first still waits for the batches
    // routed before it, so the stage after the shuffle sees the input in order.
    const before = this.assembled;
    const mine = Promise.all(replies.map((r) => r.outputs)).then(async (outputs) => {
      await before;
      return this.assembleInOrder(batch, replies, partitionAt, outputs);
    });
    this.assembled = mine.catch(() => {});
    return mine;
  }

  private assembled: Promise<unknown> = Promise.resolve();

  private assembleInOrder(
    batch: EngineBatch,
    replies: Reply[],
    partitionAt: Int32Array,
    outputs: LiveOutputs[],
  ): EngineBatch {
    const now = performance.now();
    const keyed: PlacedAlert[] = [];
    const firstPurchase = new Set<number>();
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
        const from = r.alertAt[j]!;
        keyed.push({
          alert: r.alerts[j]!,
          enteredAt: r.alertEnteredAt[j]!,
          at: from < at.length ? at[from]! : batch.outcome.length,
        });
      }
      for (const k of r.firstPurchase) firstPurchase.add(at[k]!);
      batch.signals.push(...r.signals);
      if (Number.isFinite(r.maxEventTime)) this.front.watermark.observe(`worker-${worker}`, r.maxEventTime, now);
    });
    const emitted = this.front.alerts?.emitted;
    if (emitted !== undefined) for (const { alert } of keyed) emitted[alert.type]++;
    const concluded = stageBatch(this.stage, batch, partitionAt, keyed, firstPurchase, now);
    if (this.collectAlerts) this.stageAlerts.push(...concluded);
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

/** A batch for the workers' outputs; `stageBatch` puts the alerts in place and fills `alertsThrough`. */
function outputBatch(messages: RawBatch): EngineBatch {
  return {
    ...newBatch(messages),
    signals: [],
    alerts: [],
    alertEnteredAt: [],
    alertsThrough: new Uint32Array(messages.length),
  };
}
