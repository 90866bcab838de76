import type { Alert } from '../alerts/alert.js';

/** An alert with its position in the stream: `seq` rises by one per alert, from 1. */
export interface SequencedAlert {
  seq: number;
  alert: Alert;
}

/** What a resume request gets: the alerts still held after `since`, and what was lost before them. */
export interface Resume {
  alerts: SequencedAlert[];
  /** Sequences the client asked for that have aged out of the ring: [from, to], or null. */
  missed: { from: number; to: number } | null;
}

/**
 * The bounded ring of recent alerts that serves resumes: a client that reconnects with the
 * last `seq` it saw gets every later alert still held, in order, and is told exactly which
 * sequences aged out. Fixed capacity, so a burst of alerts costs memory once, not per client.
 */
export class AlertRing {
  private readonly slots: (SequencedAlert | undefined)[];
  private last: number;

  /**
   * `start`: the sequence the ring begins after (0: the first alert is seq 1). A ring that
   * replaces a lost one (a restarted fan-out process) starts where the lost one ended, so
   * seqs never go back and a `since` from before it gets an `aged_out` gap for what it held.
   */
  constructor(
    readonly capacity: number,
    private readonly start = 0,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    if (!(Number.isInteger(start) && start >= 0)) throw new RangeError(`start must be an integer >= 0 (got ${start})`);
    this.slots = new Array<SequencedAlert | undefined>(capacity);
    this.last = start;
  }

  /** The sequence of the newest alert (0 before the first). */
  get sequence(): number {
    return this.last;
  }

  /** The oldest sequence still held (sequence + 1 when empty). */
  get oldest(): number {
    return Math.max(this.start + 1, this.last - this.capacity + 1);
  }

  push(alert: Alert): SequencedAlert {
    const entry = { seq: ++this.last, alert };
    this.slots[entry.seq % this.capacity] = entry;
    return entry;
  }

  /** The alert of sequence `seq` while it is held and not erased, else undefined. */
  at(seq: number): SequencedAlert | undefined {
    return seq >= this.oldest && seq <= this.last ? this.slots[seq % this.capacity] : undefined;
  }

  /**
   * Erasure: drops every held alert about the customer. Their seqs stay taken (a resume
   * skips them, as a filter would), so other clients' positions do not move. Returns how many.
   */
  erase(customerId: string): number {
    let n = 0;
    for (let i = 0; i < this.slots.length; i++) {
      if (this.slots[i]?.alert.customerId !== customerId) continue;
      this.slots[i] = undefined;
      n++;
    }
    return n;
  }

  /** Alerts after `since`, oldest first (erased ones left out). `since` beyond the newest is an empty answer. */
  after(since: number): Resume {
    const from = Math.max(since + 1, this.oldest);
    const alerts: SequencedAlert[] = [];
    for (let seq = from; seq <= this.last; seq++) {
      const held = this.slots[seq % this.capacity];
      if (held !== undefined) alerts.push(held);
    }
    const missed = since + 1 < this.oldest && this.last > 0 ? { from: since + 1, to: this.oldest - 1 } : null;
    return { alerts, missed };
  }
}
