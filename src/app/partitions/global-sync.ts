import {
  broadcastOf,
  type GlobalPartial,
  type ScalarPart,
  type SketchPart,
} from '../../analytics/processes/global-share.js';
import { eventTimeOfMessage } from './partition-of.js';
import { SYNC_LAG } from './sync-gate.js';
import type { FromWorker } from './partition-protocol.js';
import type { WorkerLink } from './worker-link.js';
import type { VigilConfig } from '../config/schema.js';

export interface GlobalSyncOptions {
  /** P. */
  readonly partitions: number;
  /** E: a sync point at every multiple of this much event time (`engine.globalSyncMs`). */
  readonly everyMs: number;
  readonly maxPayloadBytes: number;
  /**
   * Event times beyond this are not trusted to move the sync points (validation rejects such
   * events as from the future; one of them must not stop the merges for good).
   */
  futureLimit(): number;
}

/** One sync point's broadcast as this thread sent it: the totals, and each partition's others' scalars (index = partition). */
export interface SentBroadcast {
  marker: number;
  totals: SketchPart | null;
  scalars: (ScalarPart | null)[];
}

/**
 * The sync points' position in the routed input at a checkpoint's barrier, and what no
 * partition has installed yet there: the broadcasts of the last `SYNC_LAG` markers routed
 * before it (oldest first). Event times are null where there is none yet.
 */
export interface GlobalSyncSnapshot {
  /** E the points were placed with (`engine.globalSyncMs`). */
  everyMs: number;
  highWater: number | null;
  point: number | null;
  markers: number;
  recent: SentBroadcast[];
}

/**
 * The main thread's side of the state across customers, as Flink's broadcast state: sync
 * points at event times t_k = k·E, placed in the *input order*, so that they fall at the
 * same place of every partition's stream whatever W, the batch sizes and thread timing.
 *
 * - The router reads each message's event time from its bytes (`eventTimeOfMessage`, no
 *   decode) and keeps the input's high-water mark. When it first reaches a new t_k, the
 *   router sends what it has batched so far and posts a `sync` marker to every worker
 *   (`crosses`, then `mark`), before routing the message that crossed.
 * - At marker k each partition hands its exact partial (`GlobalPartial`); once all P have
 *   come, this thread merges them in partition order (`broadcastOf`) and posts every worker
 *   the merged sketches, and each partition the merge of the others' scalars. A partition's
 *   "others' part" is the merged sketches without the ones it handed (`othersOf`).
 * - A partition installs that part at marker k + SYNC_LAG (2) of its stream: its view from
 *   then on is the others' part as of t_k plus its own live state. The worker waits there
 *   for the part if it has not come (`SyncGate`), so this thread never blocks on it.
 *
 * With one partition the others' part is always empty and nothing is installed.
 */
export class GlobalSync {
  /** The input's highest trusted event time so far. */
  private highWater = -Infinity;
  /** k of the last sync point placed; -Infinity before the first message. */
  private point = -Infinity;
  /** The merges of the markers posted so far, in order. */
  private merging: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** The broadcasts of the last `SYNC_LAG` markers posted, oldest first (a checkpoint's). */
  private recent: { marker: number; sent: Promise<SentBroadcast> }[] = [];
  /** Sync points placed. */
  markers = 0;
  /** Main thread: time merging partials, for the bench. */
  mergeMs = 0;

  constructor(
    private readonly links: readonly WorkerLink[],
    /** The current owner of each partition (shared with the router, which may move partitions). */
    private readonly owner: Int32Array,
    private readonly opts: GlobalSyncOptions,
  ) {}

  /**
   * Whether a sync point falls just before this message: its event time takes the input's
   * high-water mark into a new interval of E. The first message only starts the count.
   */
  crosses(bytes: Uint8Array): boolean {
    const ts = eventTimeOfMessage(bytes, this.opts.maxPayloadBytes);
    if (!(ts > this.highWater) || ts > this.opts.futureLimit()) return false;
    this.highWater = ts;
    const k = Math.floor(ts / this.opts.everyMs);
    if (k <= this.point) return false;
    const first = this.point === -Infinity;
    this.point = k;
    return !first;
  }

  /** Posts the marker of the sync point just crossed to every worker; call after sending everything routed before it. */
  mark(): void {
    if (this.failure !== undefined) throw this.failure;
    const marker = this.point;
    this.markers++;
    const replies = this.links.map((l) => l.ask({ type: 'sync', marker }));
    const sent = this.merging.then(() => Promise.all(replies)).then((r) => this.broadcast(marker, r));
    this.recent.push({ marker, sent });
    if (this.recent.length > SYNC_LAG) this.recent.shift();
    this.merging = sent.then(
      () => {},
      (e: unknown) => {
        this.failure ??= e;
      },
    );
  }

  /** Resolves once the others' parts of every marker posted have been sent (before moving a partition); rejects with a failure. */
  async idle(): Promise<void> {
    await this.merging;
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * The position now (a checkpoint's barrier, between two routed batches), resolved with the
   * broadcasts of the last `SYNC_LAG` markers once they are merged: every partition has
   * handed its partial of those markers before the barrier and installs them after it.
   */
  snapshot(): Promise<GlobalSyncSnapshot> {
    const finite = (x: number) => (Number.isFinite(x) ? x : null);
    const position = {
      everyMs: this.opts.everyMs,
      highWater: finite(this.highWater),
      point: finite(this.point),
      markers: this.markers,
    };
    return Promise.all(this.recent.map((r) => r.sent)).then((recent) => ({ ...position, recent }));
  }

  /**
   * Before the first message: continues from a checkpoint's position. Every worker is told
   * the markers its partitions have handed and not installed (`resume`, for its `SyncGate`),
   * then sent their broadcasts again, each partition its own scalars, wherever it now runs.
   * Refuses a snapshot of another E.
   */
  restore(s: GlobalSyncSnapshot): void {
    if (s.everyMs !== this.opts.everyMs)
      throw new Error(`sync points every ${s.everyMs} ms in the checkpoint, every ${this.opts.everyMs} ms here`);
    if (s.recent.length > SYNC_LAG || s.recent.some((b) => b.scalars.length !== this.opts.partitions))
      throw new Error('the sync state does not fit this engine');
    this.highWater = s.highWater ?? -Infinity;
    this.point = s.point ?? -Infinity;
    this.markers = s.markers;
    this.recent = s.recent.map((b) => ({ marker: b.marker, sent: Promise.resolve(b) }));
    for (const l of this.links) l.post({ type: 'resume', handled: s.recent.map((b) => b.marker) });
    for (const b of s.recent) this.post(b);
  }

  private broadcast(marker: number, replies: FromWorker[]): SentBroadcast {
    const t0 = performance.now();
    const partials: (GlobalPartial | null)[] = new Array<GlobalPartial | null>(this.opts.partitions).fill(null);
    for (const r of replies) {
      if (r.type !== 'partials' || r.marker !== marker) throw new Error(`sync ${marker}: unexpected reply ${r.type}`);
      for (const [p, part] of r.partials) partials[p] = part;
    }
    const b = broadcastOf(partials);
    const sent: SentBroadcast = {
      marker,
      totals: b?.totals ?? null,
      scalars: b?.scalars ?? partials.map(() => null),
    };
    this.mergeMs += performance.now() - t0;
    this.post(sent);
    return sent;
  }

  /** Posts a broadcast to every worker: the totals, and the others' scalars of each partition it runs. */
  private post(b: SentBroadcast): void {
    const t0 = performance.now();
    const perWorker: [number, ScalarPart | null][][] = this.links.map(() => []);
    for (let p = 0; p < b.scalars.length; p++) perWorker[this.owner[p]!]!.push([p, b.scalars[p] ?? null]);
    this.mergeMs += performance.now() - t0;
    this.links.forEach((l, w) =>
      l.post({ type: 'others', marker: b.marker, totals: b.totals, scalars: perWorker[w]! }),
    );
  }
}

/**
 * The sync of a partitioned engine as its configuration asks: none with
 * `engine.globalSyncMs` 0 or without analytics. `wallClock`: a fixed clock (tests).
 */
export function globalSyncFor(
  config: VigilConfig,
  links: readonly WorkerLink[],
  owner: Int32Array,
  partitions: number,
  wallClock: number | undefined,
): GlobalSync | undefined {
  const everyMs = config.engine.globalSyncMs;
  if (everyMs <= 0 || !config.analytics.enabled) return undefined;
  return new GlobalSync(links, owner, {
    partitions,
    everyMs,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    futureLimit: () => (wallClock ?? Date.now()) + config.limits.maxFutureSkewMs,
  });
}
