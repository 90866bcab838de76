import type { GlobalPartial, ReceivedBroadcast } from '../../analytics/processes/global-share.js';
import type { PartitionGraph } from './partition-graph.js';
import type { ToWorker } from './partition-protocol.js';

/**
 * Sync points a broadcast lags behind: the broadcast of point k is installed at point
 * k + SYNC_LAG. Two, not one, so that a worker may run a whole interval ahead of the slowest
 * before it waits: with one, every small difference in the workers' pace within an interval
 * became a wait.
 */
export const SYNC_LAG = 2;

/**
 * A worker's side of the sync points (`GlobalSync` is the main thread's). Messages are
 * handled in the order they were posted, except that a `sync` marker must not pass before the
 * broadcast it installs (that of the marker `SYNC_LAG` before it) has arrived. Until then the
 * marker and everything after it wait here, and `others` messages, which never wait, are let
 * through. So a partition installs the broadcast of marker k exactly at marker k + SYNC_LAG of
 * its stream, whatever the thread timing; the main thread never blocks for it.
 */
export class SyncGate {
  /** The last `SYNC_LAG` markers handled, oldest first. */
  private readonly handled: number[] = [];
  /** Markers whose broadcast has arrived and is not installed yet. */
  private readonly received = new Set<number>();
  /** Messages held behind a marker that waits for its broadcast; null when nothing waits. */
  private held: ToWorker[] | null = null;
  /** The marker whose broadcast the marker being handled installs (undefined: none yet). */
  installs: number | undefined;

  constructor(private readonly handle: (m: ToWorker) => void) {}

  receive(m: ToWorker): void {
    if (m.type === 'resume') {
      // A restored engine, before any message: the markers handled before its checkpoint's barrier.
      if (this.handled.length > 0 || this.held !== null) throw new Error('sync: resume after the first marker');
      this.handled.push(...m.handled.slice(-SYNC_LAG));
      return;
    }
    if (m.type === 'others') {
      this.received.add(m.marker);
      this.handle(m);
      if (this.held !== null && this.ready()) this.release();
      return;
    }
    if (this.held !== null) {
      this.held.push(m);
      return;
    }
    if (m.type === 'sync') {
      if (!this.ready()) {
        this.held = [m];
        return;
      }
      this.installs = this.handled.length === SYNC_LAG ? this.handled.shift() : undefined;
      if (this.installs !== undefined) this.received.delete(this.installs);
      this.handled.push(m.marker);
    }
    this.handle(m);
  }

  /** Whether the next marker may pass: the broadcast it installs, if any, has come. */
  private ready(): boolean {
    return this.handled.length < SYNC_LAG || this.received.has(this.handled[0]!);
  }

  private release(): void {
    const queue = this.held!;
    this.held = null;
    while (queue.length > 0) {
      this.receive(queue.shift()!);
      const waiting = this.held as ToWorker[] | null; // set again when another marker had to wait
      if (waiting !== null) {
        // Another marker waits: the rest stays behind it, in order.
        waiting.push(...queue);
        return;
      }
    }
  }
}

/** Broadcasts received per partition, oldest first, until their marker installs them. */
export type ReceivedBroadcasts = Map<number, ReceivedBroadcast[]>;

/** Files an `others` message's broadcast under each partition it names. */
export function receiveBroadcast(received: ReceivedBroadcasts, m: Extract<ToWorker, { type: 'others' }>): void {
  for (const [p, scalars] of m.scalars) {
    let list = received.get(p);
    if (list === undefined) received.set(p, (list = []));
    list.push({ marker: m.marker, totals: m.totals, scalars });
  }
}

/**
 * At marker `marker`, for each partition the worker runs (in partition order): the broadcast
 * of marker `installs` is put in force, then its own partial is taken. Partitions without
 * analytics hand nothing.
 */
export function syncPartitions(
  graphs: ReadonlyMap<number, PartitionGraph>,
  received: ReceivedBroadcasts,
  marker: number,
  installs: number | undefined,
): [number, GlobalPartial][] {
  const out: [number, GlobalPartial][] = [];
  for (const p of [...graphs.keys()].sort((a, b) => a - b)) {
    const analytics = graphs.get(p)!.state.analytics;
    if (analytics === undefined) continue;
    const list = received.get(p) ?? [];
    const due = installs === undefined ? undefined : list.find((b) => b.marker === installs);
    if (installs !== undefined && due === undefined) throw new Error(`partition ${p}: no broadcast of ${installs}`);
    out.push([p, analytics.syncPoint(marker, due)]);
    if (installs !== undefined)
      received.set(
        p,
        list.filter((b) => b.marker > installs),
      );
  }
  return out;
}
