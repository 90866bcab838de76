/**
 * Remembers event ids for de-duplication in bounded memory and bounded (event) time.
 *
 * Two generations of ids: lookups check both, inserts go to the current one. The current
 * generation becomes the previous one once the event time has moved `retentionMs` past the
 * generation's start, or once it holds half of `maxIds`; the old previous one is dropped
 * whole. So an id is remembered for at least `retentionMs` of event time (unless the cap
 * forces an early turn) and never more than `maxIds` are held. Dropping a whole Set is far
 * cheaper than expiring ids one by one.
 */
export class SeenEventIds {
  private current = new Set<string>();
  private previous = new Set<string>();
  private generationStart = -Infinity;
  /** Generations turned early because of the id cap: a sign retention is set too long for the rate. */
  capTurns = 0;

  constructor(
    private readonly retentionMs: number,
    private readonly maxIds: number,
  ) {}

  /** True if the id was seen before; otherwise remembers it and returns false. */
  checkAndAdd(id: string, ts: number): boolean {
    if (this.current.has(id) || this.previous.has(id)) return true;
    if (ts >= this.generationStart + this.retentionMs) {
      this.turn(ts);
    } else if (this.current.size >= this.maxIds >> 1) {
      this.capTurns++;
      this.turn(this.generationStart);
    }
    this.current.add(id);
    return false;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private turn(ts: number): void {
    this.previous = this.current;
    this.current = new Set();
    this.generationStart = ts;
  }

  snapshot(): SeenEventIdsSnapshot {
    return {
      current: [...this.current],
      previous: [...this.previous],
      generationStart: this.generationStart,
      capTurns: this.capTurns,
    };
  }

  restore(s: SeenEventIdsSnapshot): void {
    this.current = new Set(s.current);
    this.previous = new Set(s.previous);
    this.generationStart = s.generationStart;
    this.capTurns = s.capTurns;
  }
}

export interface SeenEventIdsSnapshot {
  current: string[];
  previous: string[];
  generationStart: number;
  capTurns: number;
}
