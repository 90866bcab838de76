/**
 * Event-time progress with bounded out-of-orderness, tracked per input partition.
 *
 * Each partition's watermark trails the highest event time it has delivered by
 * `maxOutOfOrdernessMs`. The combined watermark is the lowest over partitions that are
 * active; a partition silent for `idleTimeoutMs` of processing time stops holding the
 * others back (Flink's `withIdleness`). The combined watermark never moves backwards.
 */
interface PartitionClock {
  maxTs: number;
  lastActive: number;
}

export class WatermarkTracker {
  private readonly partitions = new Map<string, PartitionClock>();
  private lastKey: string | undefined;
  private lastClock: PartitionClock | undefined;
  private combined = -Infinity;

  constructor(
    private readonly maxOutOfOrdernessMs: number,
    private readonly idleTimeoutMs: number,
  ) {}

  get watermark(): number {
    return this.combined;
  }

  /** Highest event time seen in any partition. */
  get maxEventTime(): number {
    let max = -Infinity;
    for (const p of this.partitions.values()) if (p.maxTs > max) max = p.maxTs;
    return max;
  }

  /** Takes an event's time into account; returns the combined watermark after it. */
  observe(partition: string, ts: number, now: number): number {
    let clock = this.lastClock;
    if (this.lastKey !== partition || clock === undefined) {
      clock = this.partitions.get(partition);
      if (clock === undefined) {
        clock = { maxTs: -Infinity, lastActive: now };
        this.partitions.set(partition, clock);
      }
      this.lastKey = partition;
      this.lastClock = clock;
    }
    clock.lastActive = now;
    if (ts > clock.maxTs) {
      clock.maxTs = ts;
      this.recompute(now);
    }
    return this.combined;
  }

  /** Re-checks idleness without an event (called on every batch, including empty heartbeats). */
  refresh(now: number): number {
    this.recompute(now);
    return this.combined;
  }

  /**
   * A finite input has ended: nothing older can arrive, so event time reaches the last event
   * (or `inputEnd`, the last event time of the whole input when this tracker saw part of it).
   */
  endOfInput(inputEnd = -Infinity): number {
    const max = Math.max(this.maxEventTime, inputEnd);
    if (max > this.combined) this.combined = max;
    return this.combined;
  }

  private recompute(now: number): void {
    let min = Infinity;
    if (this.partitions.size === 1) {
      min = (this.lastClock ?? this.partitions.values().next().value!).maxTs; // one partition is never idle against itself
    } else {
      for (const p of this.partitions.values()) {
        if (now - p.lastActive > this.idleTimeoutMs) continue;
        if (p.maxTs < min) min = p.maxTs;
      }
    }
    if (min === Infinity) return; // every partition idle: hold where we are
    const wm = min - this.maxOutOfOrdernessMs;
    if (wm > this.combined) this.combined = wm;
  }

  snapshot(): WatermarkSnapshot {
    return { combined: this.combined, partitions: [...this.partitions].map(([k, v]) => [k, v.maxTs]) };
  }

  /** Restored partitions count as active from `now`, so they are not idle at once. */
  restore(s: WatermarkSnapshot, now: number): void {
    this.partitions.clear();
    this.lastKey = undefined;
    this.lastClock = undefined;
    for (const [k, maxTs] of s.partitions) this.partitions.set(k, { maxTs, lastActive: now });
    this.combined = s.combined;
  }
}

export interface WatermarkSnapshot {
  combined: number;
  partitions: [string, number][];
}
