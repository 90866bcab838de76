import { latencyBucket, type LatencyReport, type LatencySink } from '../alert-latency.js';
import { LatencyRecorder } from '../latency.js';

/**
 * The fan-out child's latency sink: its hub's records since the last report, which the main
 * thread's AlertLatency absorbs (so /metrics, the kpi frame and the bench read one histogram).
 */
export class LatencyDelta implements LatencySink {
  private readonly counts: number[];
  private sum = 0;
  private recorded = 0;

  private constructor(
    private readonly recorder: LatencyRecorder,
    buckets: number,
  ) {
    this.counts = new Array<number>(buckets).fill(0);
  }

  static async create(buckets: number): Promise<LatencyDelta> {
    return new LatencyDelta(await LatencyRecorder.create(), buckets);
  }

  record(ms: number): void {
    this.recorder.record(ms);
    const s = ms / 1000;
    this.counts[latencyBucket(s)]!++;
    this.sum += s;
    this.recorded++;
  }

  /** The records since the last take, and a fresh start. */
  take(): LatencyReport {
    const report: LatencyReport = {
      hdr: this.recorded === 0 ? '' : this.recorder.encode(),
      counts: [...this.counts],
      sum: this.sum,
    };
    this.recorder.reset();
    this.counts.fill(0);
    this.sum = 0;
    this.recorded = 0;
    return report;
  }

  close(): void {
    this.recorder.close();
  }
}
