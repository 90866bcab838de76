import { availableParallelism } from 'node:os';
import type { VigilConfig } from '../config/schema.js';
import type { RawMessage } from '../../core/source.js';
import { partitionOfId, partitionOfMessage } from './partition-of.js';
import type { ChurnEvidence } from '../../analytics/churn-score.js';
import type { PartitionCapture } from './partition-graph.js';
import type { ChurnAnswer, PartitionResult, StageFeed, WorkerMemory } from './partition-protocol.js';

/** Customers per `churn` query to a worker. */
const CHURN_QUERY_SLICE = 2000;
import type { Alert } from '../../alerts/alert.js';
import { EngineState } from '../engine-state.js';
import { GlobalStage } from './global-stage.js';
import { BatchBuilder } from './batch-builder.js';
import { dumpLinesOf, QUERY_TIMEOUT_MS, startWorkers, type WorkerLink } from './worker-link.js';
import { globalSyncFor, type GlobalSync } from './global-sync.js';

export interface PartitionedEngineOptions {
  /** P, fixed per deployment (default 32). */
  readonly partitions?: number;
  /** W worker threads (default: the machine's available parallelism). */
  readonly workers?: number;
  /** Messages per transferred batch to one worker. */
  readonly batchMessages?: number;
  /** Batches sent to a worker and not yet processed, at most. */
  readonly maxInFlight?: number;
  /** Keep every alert id per partition (tests). */
  readonly collectAlerts?: boolean;
  /** Alerts of these types are kept whole per partition and given in `results` (batch evaluations). */
  readonly keepAlertTypes?: readonly string[];
  /** A fixed wall clock for validation's future-time check (tests). */
  readonly wallClock?: number;
}

/** Per-thread costs of a replay, for the bench. */
export interface PartitionedRunStats {
  /** Main thread: finding each message's partition and copying its bytes into a worker's batch. */
  routingMs: number;
  /** Main thread: waiting for workers (in-flight limit, finish). */
  waitingMs: number;
  /** Per worker: time inside the graph. */
  graphMs: number[];
  /** Main thread: the stage after the shuffle (demand series, campaign cohorts). */
  stageMs: number;
  alerts: number;
  messages: number;
  /** Sync points of the state across customers placed (`engine.globalSyncMs`), and the main thread's time merging their partials. */
  syncPoints: number;
  mergeMs: number;
}

/**
 * The engine spread over W worker threads by customer partition, for in-process replay.
 * The main thread only routes: it finds each message's partition from its raw bytes
 * (`partitionOfMessage`, no decode), appends the bytes to the batch for the worker that owns
 * the partition (partition p starts on worker p mod W), and transfers full batches. Each
 * worker runs one `PartitionGraph` per partition it owns. A partition sees exactly its own
 * messages in input order, whatever W and the batch sizes, and at the end every partition's
 * event time is moved to the whole input's last event time; so the per-customer state and
 * the alerts do not depend on W, batch sizes or thread timing (tested).
 *
 * Demand series and campaign cohorts run once, on this thread, after the shuffle
 * (`GlobalStage`): each worker's `done` carries its batch's partition watermarks and the
 * applied events the stage reads, and they are fed to the stage in input order as the
 * replies come in. So there is one demand series and one set of campaign reports, the same
 * for any W and batch size (tested).
 *
 * State across customers (RFM populations, CLV sketch, session and purchase-gap statistics)
 * is merged over partitions at event-time sync points placed in the input order
 * (`GlobalSync`), so it does not depend on W either. Refits and recommender tables are
 * still each partition's own: they depend on P; docs/architecture.md.
 */
export class PartitionedEngine {
  readonly partitions: number;
  /** Current owner (worker index) of each partition. */
  readonly owner: Int32Array;
  readonly stats: PartitionedRunStats;
  private readonly builders: BatchBuilder[];
  /**
   * This thread's state: the stage after the shuffle's demand series (`front.demand`) and
   * campaign cohorts (`front.campaigns`), and its alert counts. It holds no customer.
   */
  readonly front: EngineState;
  readonly stage: GlobalStage;
  /** With `collectAlerts`: every alert the stage concluded, in order. */
  readonly stageAlerts: Alert[] = [];
  /** Alerts the stage concluded. */
  stageAlertCount = 0;
  /** Events on which a process of the stage threw (never expected; the stage goes on). */
  stageFailures = 0;
  /** Routed messages not yet through the stage, from `routedHead`: partition and worker of each. */
  private routedPartition: number[] = [];
  private routedWorker: number[] = [];
  private routedHead = 0;
  /** Per worker: its stage feeds not yet used up, and where the first one is. */
  private readonly feeds: { feed: StageFeed; k: number; e: number; f: number }[][];
  /** Merges the state across customers at event-time sync points; undefined with `engine.globalSyncMs` 0. */
  private readonly sync: GlobalSync | undefined;

  private constructor(
    readonly config: VigilConfig,
    private readonly links: WorkerLink[],
    partitions: number,
    private readonly opts: PartitionedEngineOptions,
  ) {
    this.partitions = partitions;
    this.owner = new Int32Array(partitions).map((_, p) => p % links.length);
    this.builders = links.map(() => new BatchBuilder());
    this.stats = {
      routingMs: 0,
      waitingMs: 0,
      graphMs: links.map(() => 0),
      stageMs: 0,
      alerts: 0,
      messages: 0,
      syncPoints: 0,
      mergeMs: 0,
    };
    this.front = new EngineState(config);
    this.stage = new GlobalStage(this.front, partitions);
    this.feeds = links.map(() => []);
    links.forEach((l, w) => {
      l.onDone = (m) => {
        if (m.feed === undefined) return;
        this.feeds[w]!.push({ feed: m.feed, k: 0, e: 0, f: 0 });
        this.runStage();
      };
    });
    this.sync = globalSyncFor(config, links, this.owner, partitions, opts.wallClock);
  }

  static async start(config: VigilConfig, opts: PartitionedEngineOptions = {}): Promise<PartitionedEngine> {
    const partitions = opts.partitions ?? config.engine.partitions;
    const workers = Math.max(1, Math.min(partitions, opts.workers ?? availableParallelism()));
    const links = await startWorkers(config, partitions, workers, {
      collectAlerts: opts.collectAlerts ?? false,
      ...(opts.keepAlertTypes !== undefined && { keepAlertTypes: opts.keepAlertTypes }),
      ...(opts.wallClock !== undefined && { wallClock: opts.wallClock }),
    });
    return new PartitionedEngine(config, links, partitions, opts);
  }

  get workers(): number {
    return this.links.length;
  }

  /** Routes `messages` to the workers, in order; resolves once every batch has been sent. */
  async feed(messages: readonly RawMessage[]): Promise<void> {
    const batchMessages = this.opts.batchMessages ?? 4096;
    const maxInFlight = this.opts.maxInFlight ?? 4;
    const maxPayload = this.config.limits.maxPayloadBytes;
    let t0 = performance.now();
    const sync = this.sync;
    for (let i = 0; i < messages.length; i++) {
      const bytes = messages[i]!.bytes;
      if (sync?.crosses(bytes)) {
        // A sync point: everything routed before it goes out first, then its marker.
        this.stats.routingMs += performance.now() - t0;
        for (let w = 0; w < this.links.length; w++) await this.flush(w, maxInFlight);
        // One turn of the event loop: the partials of the previous point that have come are
        // merged and broadcast now, before the workers reach this marker and wait for them.
        await new Promise<void>((resolve) => setImmediate(resolve));
        sync.mark();
        t0 = performance.now();
      }
      const p = partitionOfMessage(bytes, this.partitions, maxPayload);
      const w = this.owner[p]!;
      const b = this.builders[w]!;
      b.add(p, bytes);
      if (this.stage.active) {
        this.routedPartition.push(p);
        this.routedWorker.push(w);
      }
      if (b.count >= batchMessages) {
        this.stats.routingMs += performance.now() - t0;
        await this.flush(w, maxInFlight);
        t0 = performance.now();
      }
    }
    this.stats.routingMs += performance.now() - t0;
    this.stats.messages += messages.length;
  }

  /**
   * Sends what is batched and waits until every worker has applied all it was sent (and the
   * stage after the shuffle has taken their replies); event time does not move. A bench's
   * boundary between a warm-up and a timed part.
   */
  async settle(): Promise<void> {
    const maxInFlight = this.opts.maxInFlight ?? 4;
    for (let w = 0; w < this.links.length; w++) await this.flush(w, maxInFlight);
    for (let w = 0; w < this.links.length; w++) await this.drain(w);
  }

  /** Sends what is batched, then moves every partition's event time to the input's end and waits for the workers. */
  async finish(): Promise<void> {
    for (let w = 0; w < this.links.length; w++) await this.flush(w, this.opts.maxInFlight ?? 4);
    const t0 = performance.now();
    const ends = await Promise.all(this.links.map((l) => l.ask({ type: 'maxEventTime' })));
    const eventTimeEnd = Math.max(...ends.map((m) => (m.type === 'maxEventTime' ? m.value : -Infinity)));
    await Promise.all(this.links.map((l) => l.ask({ type: 'finish', eventTimeEnd })));
    if (this.sync !== undefined) {
      await this.sync.idle();
      this.stats.syncPoints = this.sync.markers;
      this.stats.mergeMs = this.sync.mergeMs;
    }
    this.stats.waitingMs += performance.now() - t0;
    if (this.routedHead !== this.routedPartition.length)
      throw new Error('the stage after the shuffle did not get every routed message');
    const t1 = performance.now();
    this.stage.end(eventTimeEnd);
    this.stageOutputs();
    this.stats.stageMs += performance.now() - t1;
  }

  /**
   * Feeds the stage the routed messages, in input order, as far as the workers' replies go:
   * worker w's feeds cover its messages in the order they were routed to it.
   */
  private runStage(): void {
    const t0 = performance.now();
    const parts = this.routedPartition;
    const workers = this.routedWorker;
    let i = this.routedHead;
    for (; i < parts.length; i++) {
      const queue = this.feeds[workers[i]!]!;
      const q = queue[0];
      if (q === undefined) break;
      const { feed } = q;
      let event;
      let first = false;
      if (feed.at[q.e] === q.k) {
        event = feed.events[q.e++];
        if (feed.firstPurchase[q.f] === q.k) {
          first = true;
          q.f++;
        }
      }
      // A process that throws leaves the event applied in its partition; counted as a stage failure.
      if (!this.stage.message(parts[i]!, feed.watermarkAt[q.k]!, event, first)) this.stageFailures++;
      if (++q.k === feed.watermarkAt.length) queue.shift();
    }
    this.routedHead = i;
    if (i > 1 << 16 && 2 * i > parts.length) {
      parts.splice(0, i);
      workers.splice(0, i);
      this.routedHead = 0;
    }
    this.stageOutputs();
    this.stats.stageMs += performance.now() - t0;
  }

  private stageOutputs(): void {
    const out = this.stage.take();
    this.stageAlertCount += out.length;
    if (this.opts.collectAlerts) for (const a of out) this.stageAlerts.push(a);
  }

  /** Per partition: state dump (with `dump`), alert ids, counters; and each worker's graph time. */
  async results(dump = false): Promise<PartitionResult[]> {
    const replies = await Promise.all(this.links.map((l) => l.ask({ type: 'results', dump })));
    const out: PartitionResult[] = [];
    replies.forEach((r, w) => {
      if (r.type !== 'results') throw new Error(`worker ${w}: unexpected reply ${r.type}`);
      this.stats.graphMs[w] = r.graphMs;
      out.push(...r.partitions);
    });
    this.stats.alerts = this.stageAlertCount + replies.reduce((s, r) => s + (r.type === 'results' ? r.alerts : 0), 0);
    return out.sort((a, b) => a.partition - b.partition);
  }

  /**
   * Churn evidence as of `asOf` of the given customers (those held and with evidence), asked
   * of the workers owning their partitions in slices, and the population's intent share and
   * model errors summed over the partitions (`vigil eval churn` on workers). Call after `finish`.
   */
  async churnEvidence(
    asOf: number,
    customerIds: readonly string[],
  ): Promise<{ evidence: Map<string, ChurnEvidence>; intentShare: number; modelErrors: number }> {
    const byWorker = this.links.map((): string[] => []);
    for (const id of customerIds) byWorker[this.owner[partitionOfId(id, this.partitions)]!]!.push(id);
    const evidence = new Map<string, ChurnEvidence>();
    let sessions = 0;
    let intentSessions = 0;
    let modelErrors = 0;
    await Promise.all(
      this.links.map(async (link, w) => {
        const ids = byWorker[w]!;
        // Slices keep each answer well within the query timeout; the first also counts the sessions.
        for (let i = 0; i === 0 || i < ids.length; i += CHURN_QUERY_SLICE) {
          const a = (await link.query(
            { kind: 'churn', asOf, customerIds: ids.slice(i, i + CHURN_QUERY_SLICE) },
            QUERY_TIMEOUT_MS,
          )) as ChurnAnswer;
          for (const [id, e] of a.evidence) evidence.set(id, e);
          if (i > 0) continue;
          sessions += a.sessions;
          intentSessions += a.intentSessions;
          modelErrors += a.modelErrors;
        }
      }),
    );
    return { evidence, intentShare: intentSessions / sessions, modelErrors };
  }

  /** Per worker: its isolate's heap and array buffers after a full GC, and its customers (the memory bench). */
  async memory(): Promise<WorkerMemory[]> {
    const replies = await Promise.all(this.links.map((l) => l.ask({ type: 'memory' })));
    return replies.map((r, w) => {
      if (r.type !== 'memory') throw new Error(`worker ${w}: unexpected reply ${r.type}`);
      const { heapUsed, arrayBuffers, customers, settled } = r;
      return { heapUsed, arrayBuffers, customers, settled };
    });
  }

  /**
   * Every customer's state dump line (`customerDumpLine`: keyed state and analytics) as of
   * `asOf`, sorted by id, gathered from all partitions.
   */
  dumpLines(asOf: number): Promise<[string, unknown][]> {
    return dumpLinesOf(this.links, asOf);
  }

  /**
   * Moves partition `p` to worker `to` between batches: what is batched for its owner is sent
   * first, the owner captures and drops it, and the new owner restores it. Later messages of
   * `p` go to `to`; its results are as if it had never moved (tested).
   */
  async move(p: number, to: number): Promise<void> {
    const from = this.owner[p]!;
    if (from === to) return;
    await this.flush(from, 1); // everything sent to the old owner is processed before the capture
    await this.sync?.idle(); // the others' part of the last sync point went to the old owner
    await this.drain(from);
    const released = await this.links[from]!.ask({ type: 'release', partition: p });
    if (released.type !== 'released') throw new Error(`worker ${from}: unexpected reply ${released.type}`);
    const capture: PartitionCapture = released.capture;
    await this.links[to]!.ask({ type: 'adopt', capture, alertIds: released.alertIds, kept: released.kept });
    this.owner[p] = to;
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.worker.terminate()));
  }

  private async flush(w: number, maxInFlight: number): Promise<void> {
    const b = this.builders[w]!;
    const link = this.links[w]!;
    const t0 = performance.now();
    const wait = link.untilCredit(maxInFlight);
    if (wait !== undefined) await wait;
    this.stats.waitingMs += performance.now() - t0;
    if (b.count === 0) return;
    const { bytes, index } = b.take();
    link.inFlight++;
    link.post({ type: 'batch', bytes, index }, [bytes, index.buffer as ArrayBuffer]);
  }

  private async drain(w: number): Promise<void> {
    const link = this.links[w]!;
    while (link.inFlight > 0) await link.untilCredit(1);
  }
}
