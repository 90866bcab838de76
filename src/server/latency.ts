import * as hdr from 'hdr-histogram-js';

/** p50/p99/p99.9 in milliseconds and how many deliveries they summarise. */
export interface LatencySummary {
  p50: number;
  p99: number;
  p999: number;
  count: number;
}

/**
 * Message in → alert frame handed to the socket, one record per delivery, in microseconds
 * (1 µs to 60 s at 3 significant digits). The WebAssembly build records cheapest of
 * hdr-histogram-js's builds (PERFORMANCE-NOTES), so it is used when it loads;
 * `LatencyRecorder.create()` falls back to JS buckets otherwise.
 */
export class LatencyRecorder {
  private constructor(private readonly histogram: hdr.Histogram) {}

  static async create(): Promise<LatencyRecorder> {
    let useWebAssembly = true;
    try {
      await hdr.initWebAssembly();
    } catch {
      useWebAssembly = false;
    }
    return new LatencyRecorder(
      hdr.build({
        useWebAssembly,
        bitBucketSize: 32,
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000,
        numberOfSignificantValueDigits: 3,
        autoResize: false,
      }),
    );
  }

  /** `ms` as performance.now() differences; out-of-range values are clamped, not lost. */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.histogram.recordValue(us < 1 ? 1 : us > 60_000_000 ? 60_000_000 : us);
  }

  recordMany(ms: number, count: number): void {
    const us = Math.round(ms * 1000);
    this.histogram.recordValueWithCount(us < 1 ? 1 : us > 60_000_000 ? 60_000_000 : us, count);
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const count = h.totalCount;
    if (count === 0) return { p50: 0, p99: 0, p999: 0, count: 0 };
    return {
      p50: h.getValueAtPercentile(50) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      p999: h.getValueAtPercentile(99.9) / 1000,
      count,
    };
  }

  /** The records as hdr's compressed base64 (to carry them to another process). */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }

  /** Adds records encoded by `encode()` in another process. */
  addEncoded(base64: string): void {
    const other = hdr.decodeFromCompressedBase64(base64, 32, this.histogram instanceof hdr.WasmHistogram);
    try {
      this.histogram.add(other);
    } finally {
      other.destroy();
    }
  }

  /** Adds `other`'s records to these (both made by `create()`). */
  add(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
  }

  reset(): void {
    this.histogram.reset();
  }

  close(): void {
    this.histogram.destroy();
  }
}
