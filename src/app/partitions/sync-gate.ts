import type { GlobalPartial, ScalarPart, SketchPart } from '../../analytics/processes/global-share.js';
import type { PartitionGraph } from './partition-graph.js';
import type { ToWorker } from './partition-protocol.js';

/**
 * A worker's side of the sync points (`GlobalSync` is the main thread's). Messages are
 * handled in the order they were posted, except that a `sync` marker must not pass before the
 * others' part of the previous marker has arrived: it installs that part. Until then the
 * marker and everything after it wait here, and `others` messages, which never wait, are
 * let through. So a partition installs the others' part of marker k exactly at marker k+1
 * of its stream, whatever the thread timing; the main thread never blocks for it.
 */
export class SyncGate {
  /** The last marker handled, whose others' part the next marker installs; NaN before the first. */
  private lastMarker = NaN;
  /** The marker whose others' part has arrived last. */
  private received = NaN;
  /** Messages held behind a marker that waits for its others' part; null when nothing waits. */
  private held: ToWorker[] | null = null;

  constructor(private readonly handle: (m: ToWorker) => void) {}

  receive(m: ToWorker): void {
    if (m.type === 'others') {
      this.received = m.marker;
      this.handle(m);
      if (this.held !== null && this.received === this.lastMarker) this.release();
      return;
    }
    if (this.held !== null) {
      this.held.push(m);
      return;
    }
    if (m.type === 'sync') {
      if (!Number.isNaN(this.lastMarker) && this.received !== this.lastMarker) {
        this.held = [m];
        return;
      }
      this.lastMarker = m.marker;
    }
    this.handle(m);
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

/** A sync point's broadcast as one partition received it: the totals (null: nobody held anything) and the others' scalars. */
export interface ReceivedBroadcast {
  totals: SketchPart | null;
  scalars: ScalarPart | null;
}

/** Files an `others` message's broadcast under each partition it names, for their next marker. */
export function receiveBroadcast(
  received: Map<number, ReceivedBroadcast>,
  m: Extract<ToWorker, { type: 'others' }>,
): void {
  for (const [p, scalars] of m.scalars) received.set(p, { totals: m.totals, scalars });
}

/**
 * At a marker, for each partition the worker runs (in partition order): the broadcast
 * received for it is put in force, then its own partial is taken. Partitions without
 * analytics hand nothing.
 */
export function syncPartitions(
  graphs: ReadonlyMap<number, PartitionGraph>,
  received: Map<number, ReceivedBroadcast>,
): [number, GlobalPartial][] {
  const out: [number, GlobalPartial][] = [];
  for (const p of [...graphs.keys()].sort((a, b) => a - b)) {
    const analytics = graphs.get(p)!.state.analytics;
    if (analytics === undefined) continue;
    out.push([p, analytics.syncPoint(received.get(p))]);
    received.delete(p);
  }
  return out;
}
