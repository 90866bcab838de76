import type { Alert } from '../../alerts/alert.js';
import type { CampaignCohortsSnapshot } from '../../analytics/campaigns/cohorts.js';
import type { DemandSnapshot } from '../../analytics/demand/demand-process.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { GlobalProcess } from '../../state/operators/global-process.js';
import type { EngineState } from '../engine-state.js';
import type { EngineBatch } from '../engine-batch.js';
import { Outcome } from '../../core/batch.js';
import { poisonMessage } from '../../ingest/operators/poison.js';

/**
 * Whether the stage after the shuffle needs an applied event: demand series count purchases,
 * campaign cohorts purchases and attributed events. Any other applied event only moves the
 * watermark there, which its message's `watermarkAt` carries anyway.
 */
export function concernsGlobalStage(e: CanonicalEvent): boolean {
  return e.type === 'purchase' || e.campaign !== undefined;
}

/**
 * The stage after the shuffle: state over the whole stream (campaign cohorts, then demand
 * series), run once for all partitions on the main thread, fed each message in input order
 * with its partition's watermark after it and, when applied and needed
 * (`concernsGlobalStage`), its event and whether it was the customer's first purchase.
 *
 * Its watermark is Flink's for an operator after a shuffle: the lowest over its inputs, here
 * the partitions that have had an event, and never moving back. Every partition's watermark
 * trails the single-threaded engine's (it is over its own events only), so this one does too:
 * buckets and cohort windows close later in the stream than on one thread, and an event a
 * partition applied is never late here unless its partition was new (see docs/architecture.md).
 * It is a function of the input's order alone: with `idleTimeoutMs` infinite (replay), of
 * neither W nor the batch sizes. Live, a partition silent for `idleTimeoutMs` of the main
 * thread's clock stops holding the others back, as in `WatermarkTracker`.
 */
export class GlobalStage {
  /** The stage's watermark (-Infinity until a partition has had an event). */
  watermark = -Infinity;
  private readonly partitionWm: Float64Array;
  private readonly lastActive: Float64Array;
  private readonly processes: readonly GlobalProcess<Alert>[];
  private readonly out: Alert[] = [];

  constructor(
    private readonly state: Pick<EngineState, 'campaigns' | 'demand' | 'globalProcesses'>,
    partitions: number,
    private readonly idleTimeoutMs = Infinity,
  ) {
    this.partitionWm = new Float64Array(partitions).fill(-Infinity);
    this.lastActive = new Float64Array(partitions);
    this.processes = state.globalProcesses;
    state.campaigns?.begin({ alerts: this.out });
    for (const p of this.processes) p.begin?.({ alerts: this.out });
  }

  /** False when there is nothing to run (analytics and demand both off): partitions need not feed it. */
  get active(): boolean {
    return this.state.campaigns !== undefined || this.processes.length > 0;
  }

  /**
   * Message of partition `p`, `wm` its partition's watermark after it, `event` when applied
   * and needed. False when a process threw on the event (the caller rejects it as poison).
   */
  message(p: number, wm: number, event: CanonicalEvent | undefined, firstPurchase: boolean, now = 0): boolean {
    this.lastActive[p] = now;
    const before = this.watermark;
    if (wm > this.partitionWm[p]!) {
      this.partitionWm[p] = wm;
      this.recompute(now);
    }
    if (event === undefined) {
      if (this.watermark > before) this.advance();
      return true;
    }
    try {
      this.state.campaigns?.onEvent(event, this.watermark, firstPurchase);
      for (const g of this.processes) g.onApplied(event, this.watermark);
      return true;
    } catch {
      return false;
    }
  }

  /** Idleness re-checked without a message (live heartbeats). */
  settle(now: number): void {
    const before = this.watermark;
    this.recompute(now);
    if (this.watermark > before) this.advance();
  }

  /** The input's end: event time reaches `eventTimeEnd`, the last event time over all partitions. */
  end(eventTimeEnd: number): void {
    if (eventTimeEnd > this.watermark) {
      this.watermark = eventTimeEnd;
      this.advance();
    }
  }

  /** The alerts concluded since the last call, in order. */
  take(): Alert[] {
    return this.out.splice(0);
  }

  /**
   * The stage's state between two messages, as a document of copies: the demand series and
   * the campaign cohorts (their own snapshots, as the single-threaded checkpoint stores
   * them), the stage's watermark and every partition's. Alerts not yet taken are not in it:
   * call between batches, when `stageBatch` has taken them all.
   */
  snapshot(): GlobalStageSnapshot {
    return {
      format: 'vigil-stage',
      version: 1,
      partitions: this.partitionWm.length,
      watermark: this.watermark,
      partitionWm: [...this.partitionWm],
      demand: this.state.demand?.snapshot() ?? null,
      campaigns: this.state.campaigns?.snapshot() ?? null,
    };
  }

  /**
   * Restores a document made by `snapshot`, before any message. Every partition counts as
   * active at `now` (idleness starts over, as the workers' watermarks do at a restore).
   * Throws when it does not fit (another P, demand or analytics switched on or off).
   */
  restore(s: GlobalStageSnapshot, now = 0): void {
    if (s?.format !== 'vigil-stage' || s.version !== 1) throw new Error('not a version 1 stage snapshot');
    if (s.partitions !== this.partitionWm.length || s.partitionWm.length !== s.partitions)
      throw new Error(`the stage snapshot has ${s.partitions} partitions, this engine ${this.partitionWm.length}`);
    if ((s.demand === null) !== (this.state.demand === undefined))
      throw new Error('demand.enabled differs from the stage snapshot');
    if ((s.campaigns === null) !== (this.state.campaigns === undefined))
      throw new Error('analytics.enabled differs from the stage snapshot');
    if (s.demand !== null) this.state.demand!.restore(s.demand);
    if (s.campaigns !== null) this.state.campaigns!.restore(s.campaigns);
    this.watermark = s.watermark;
    this.partitionWm.set(s.partitionWm);
    this.lastActive.fill(now);
  }

  private advance(): void {
    const wm = this.watermark;
    this.state.campaigns?.onWatermark(wm);
    for (const g of this.processes) g.onWatermark(wm);
  }

  private recompute(now: number): void {
    let min = Infinity;
    for (let p = 0; p < this.partitionWm.length; p++) {
      const wm = this.partitionWm[p]!;
      if (wm === -Infinity || now - this.lastActive[p]! > this.idleTimeoutMs) continue;
      if (wm < min) min = wm;
    }
    if (min !== Infinity && min > this.watermark) this.watermark = min;
  }
}

/** The stage's state in a partitioned checkpoint (its piece `checkpointStagePieceName`). */
export interface GlobalStageSnapshot {
  format: 'vigil-stage';
  version: 1;
  partitions: number;
  watermark: number;
  partitionWm: number[];
  demand: DemandSnapshot | null;
  campaigns: CampaignCohortsSnapshot | null;
}

/** A keyed alert from a worker, with the place in the batch of the message it came from (the batch's length: its close). */
export interface PlacedAlert {
  alert: Alert;
  enteredAt: number;
  at: number;
}

/**
 * A live batch through the stage: its messages in order (`partitionAt[i]`: message i's
 * partition; `firstPurchase`: places of first purchases), each message's keyed alerts and
 * then what the stage concluded from it put into `batch.alerts`, as the single-threaded graph
 * orders them (`globalProcessBatch`); `alertsThrough` counts them per message. `keyed` is
 * in worker order; its order by place is stable. A message on which a process throws is
 * rejected as poison (its partition applied it). Returns the stage's alerts, in order.
 */
export function stageBatch(
  stage: GlobalStage,
  batch: EngineBatch,
  partitionAt: ArrayLike<number>,
  keyed: PlacedAlert[],
  firstPurchase: ReadonlySet<number>,
  now: number,
): Alert[] {
  const concluded: Alert[] = [];
  const { outcome, events, watermarkAt, alerts, alertEnteredAt, alertsThrough, messages } = batch;
  const n = outcome.length;
  keyed.sort((a, b) => a.at - b.at); // stable
  let k = 0;
  const place = (at: number, enteredAt: number) => {
    for (; k < keyed.length && keyed[k]!.at <= at; k++) {
      alerts.push(keyed[k]!.alert);
      alertEnteredAt.push(keyed[k]!.enteredAt);
    }
    for (const a of stage.take()) {
      concluded.push(a);
      alerts.push(a);
      alertEnteredAt.push(enteredAt);
    }
  };
  for (let i = 0; i < n; i++) {
    const applied = outcome[i] === Outcome.applied;
    const e = applied ? events[i] : undefined;
    const needed = e !== undefined && concernsGlobalStage(e) ? e : undefined;
    if (!stage.message(partitionAt[i]!, watermarkAt[i]!, needed, firstPurchase.has(i), now)) poisonMessage(batch, i);
    place(i, messages[i]!.receivedAt);
    alertsThrough[i] = alerts.length;
  }
  stage.settle(now);
  place(n, n > 0 ? messages[n - 1]!.receivedAt : batch.startedAt);
  return concluded;
}
