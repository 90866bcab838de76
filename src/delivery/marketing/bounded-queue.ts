/**
 * A first-in first-out queue of fixed capacity (a ring buffer), for work that waits on a
 * network: when the far end is slow or gone, work backs up here and no further. A push
 * onto a full queue is refused and counted in `overflow`; what is already queued keeps its
 * place (tail drop), so the oldest work, closest to delivery, is not thrown away for newer.
 */
export class BoundedQueue<T> {
  private readonly slots: (T | undefined)[];
  private head = 0;
  private count = 0;
  /** Pushes refused because the queue was full. */
  overflow = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** false (and counted) when full. */
  push(item: T): boolean {
    if (this.count === this.capacity) {
      this.overflow++;
      return false;
    }
    this.slots[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return true;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** Empties the queue, returning how many items it held. */
  clear(): number {
    const n = this.count;
    while (this.count > 0) this.shift();
    return n;
  }
}

/**
 * Logs at the 1st, 10th, 100th… occurrence of something that keeps happening (a full queue, a
 * failing destination): visible in the log without flooding it. Lines carry counts and
 * settings, never customer data.
 */
export function logAtPowersOfTen(
  count: number,
  line: (count: number) => string,
  log: ((line: string) => void) | undefined,
): void {
  if (log !== undefined && count >= 1 && Number.isInteger(Math.log10(count))) log(line(count));
}
