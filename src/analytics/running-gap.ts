/** A running mean and variance over a stream of values (Welford), for population statistics. */
export class RunningGap {
  count = 0;
  meanMs = 0;
  private m2 = 0;

  add(gapMs: number): void {
    this.count++;
    const delta = gapMs - this.meanMs;
    this.meanMs += delta / this.count;
    this.m2 += delta * (gapMs - this.meanMs);
  }

  get varianceMs2(): number {
    return this.count > 1 ? this.m2 / (this.count - 1) : 0;
  }

  snapshot(): [number, number, number] {
    return [this.count, this.meanMs, this.m2];
  }

  restore([count, mean, m2]: readonly [number, number, number]): void {
    this.count = count;
    this.meanMs = mean;
    this.m2 = m2;
  }
}
