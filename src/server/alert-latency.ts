import { Histogram } from 'prom-client';
import { LatencyRecorder, type LatencySummary } from './latency.js';

/** Upper bounds (seconds) of the alert latency histogram: sub-millisecond fan-out to a backlog's seconds. */
export const ALERT_LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** Where the stream hub records each delivery's message-in → frame-out time. */
export interface LatencySink {
  record(ms: number): void;
}

/** The index in ALERT_LATENCY_BUCKETS of the first bound `seconds` does not exceed (its length: +Inf). */
export function latencyBucket(seconds: number): number {
  let i = 0;
  while (i < ALERT_LATENCY_BUCKETS.length && seconds > ALERT_LATENCY_BUCKETS[i]!) i++;
  return i;
}

/** Records made in another process (the stream fan-out child) since its last report. */
export interface LatencyReport {
  /** LatencyRecorder.encode() of the records. */
  readonly hdr: string;
  /** Per bucket of ALERT_LATENCY_BUCKETS, +Inf last. */
  readonly counts: readonly number[];
  /** Sum of the records, seconds. */
  readonly sum: number;
}

// Six whole slots behind the one being filled: the window spans 60 to 70 s.
const SLOTS = 7;
const SLOT_MS = 10_000;

/**
 * Message in → alert frame handed to the socket, per delivery, kept three ways: since start
 * (`total`, what the ws bench reads), over the last minute for the dashboard (seven 10-second
 * hdr histograms, the oldest dropped as time moves on, so a catch-up backlog leaves the tile
 * within a minute), and as cumulative Prometheus buckets in seconds. Buckets are counted here,
 * a compare loop per record, because prom-client's observe() costs many times the hdr record
 * on a path that runs per delivery; `histogram()` exposes them as a prom-client Histogram.
 */
export class AlertLatency implements LatencySink {
  private readonly slots: LatencyRecorder[];
  private readonly merged: LatencyRecorder;
  private current = 0;
  private slotStart: number;
  private readonly counts = new Float64Array(ALERT_LATENCY_BUCKETS.length + 1);
  private sumSeconds = 0;

  private constructor(
    readonly total: LatencyRecorder,
    slots: LatencyRecorder[],
    merged: LatencyRecorder,
    private readonly now: () => number,
  ) {
    this.slots = slots;
    this.merged = merged;
    this.slotStart = now();
  }

  static async create(now: () => number = () => performance.now()): Promise<AlertLatency> {
    // One after another: concurrent creates would each load the WebAssembly module anew.
    const total = await LatencyRecorder.create();
    const slots: LatencyRecorder[] = [];
    for (let i = 0; i < SLOTS; i++) slots.push(await LatencyRecorder.create());
    return new AlertLatency(total, slots, await LatencyRecorder.create(), now);
  }

  record(ms: number): void {
    this.total.record(ms);
    this.slots[this.current]!.record(ms);
    const s = ms / 1000;
    this.counts[latencyBucket(s)]!++;
    this.sumSeconds += s;
  }

  /** Takes another process's records (a report's records land in the slot current at the last rotation). */
  absorb(report: LatencyReport): void {
    if (report.counts.every((c) => c === 0)) return;
    this.total.addEncoded(report.hdr);
    this.slots[this.current]!.addEncoded(report.hdr);
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += report.counts[i] ?? 0;
    this.sumSeconds += report.sum;
  }

  /**
   * p50/p99/p99.9 of the deliveries in the last minute, to within a 10-second slot as long as
   * it is called at least once a slot (the kpi frame asks every second); records are placed in
   * the slot current at the last call.
   */
  lastMinute(): LatencySummary {
    this.rotate();
    this.merged.reset();
    for (const slot of this.slots) this.merged.add(slot);
    return this.merged.summary();
  }

  /** Starts a new slot for every 10 s gone by, emptying the one it reuses. */
  private rotate(): void {
    const now = this.now();
    const steps = Math.min(SLOTS, Math.floor((now - this.slotStart) / SLOT_MS));
    for (let k = 0; k < steps; k++) {
      this.current = (this.current + 1) % SLOTS;
      this.slots[this.current]!.reset();
    }
    if (steps > 0) this.slotStart = steps === SLOTS ? now : this.slotStart + steps * SLOT_MS;
  }

  /** The cumulative buckets as a prom-client Histogram (name in seconds, as Prometheus asks). */
  histogram(name: string, help: string): Histogram {
    return new LatencyHistogram(this, name, help);
  }

  /** Cumulative counts per upper bound, +Inf last, with the sum of all records in seconds. */
  snapshot(): { le: (number | '+Inf')[]; cumulative: number[]; sum: number; count: number } {
    const cumulative: number[] = [];
    let acc = 0;
    for (const c of this.counts) cumulative.push((acc += c));
    return { le: [...ALERT_LATENCY_BUCKETS, '+Inf'], cumulative, sum: this.sumSeconds, count: acc };
  }

  close(): void {
    for (const h of [this.total, this.merged, ...this.slots]) h.close();
  }
}

/** A Histogram whose values are the buckets AlertLatency counted (read at scrape time). */
class LatencyHistogram extends Histogram {
  constructor(
    private readonly source: AlertLatency,
    private readonly metricName: string,
    private readonly metricHelp: string,
  ) {
    super({ name: metricName, help: metricHelp, buckets: [...ALERT_LATENCY_BUCKETS], registers: [] });
  }

  override async get(): Promise<Awaited<ReturnType<Histogram['get']>>> {
    const s = this.source.snapshot();
    const name = this.metricName;
    return {
      name,
      help: this.metricHelp,
      type: 'histogram',
      aggregator: 'sum',
      values: [
        ...s.le.map((le, i) => ({ labels: { le }, value: s.cumulative[i]!, metricName: `${name}_bucket` })),
        { labels: {}, value: s.sum, metricName: `${name}_sum` },
        { labels: {}, value: s.count, metricName: `${name}_count` },
      ],
    } as unknown as Awaited<ReturnType<Histogram['get']>>;
  }

  /** What the registry reads when it formats the text exposition. */
  async getForPromString(): Promise<Awaited<ReturnType<Histogram['get']>>> {
    return this.get();
  }
}
