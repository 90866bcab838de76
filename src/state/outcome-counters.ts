import type { RejectReason } from '../core/errors.js';

/**
 * How every input message ended. `input` always equals applied + duplicate + late +
 * rejected once a batch has left the graph; `rejectedBy` splits rejections by reason.
 */
export class OutcomeCounters {
  input = 0;
  applied = 0;
  duplicate = 0;
  late = 0;
  rejected = 0;
  readonly rejectedBy = new Map<RejectReason, number>();
  batches = 0;

  get balanced(): boolean {
    return this.input === this.applied + this.duplicate + this.late + this.rejected;
  }

  toJSON(): OutcomeCountsJson {
    return {
      input: this.input,
      applied: this.applied,
      duplicate: this.duplicate,
      late: this.late,
      rejected: this.rejected,
      rejectedBy: Object.fromEntries([...this.rejectedBy].sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  /** Adds another set of counts (partitions' counts summed). */
  add(s: OutcomeCountsJson): void {
    this.input += s.input;
    this.applied += s.applied;
    this.duplicate += s.duplicate;
    this.late += s.late;
    this.rejected += s.rejected;
    for (const [k, v] of Object.entries(s.rejectedBy))
      this.rejectedBy.set(k as RejectReason, (this.rejectedBy.get(k as RejectReason) ?? 0) + v);
  }

  restore(s: OutcomeCountsJson): void {
    this.input = s.input;
    this.applied = s.applied;
    this.duplicate = s.duplicate;
    this.late = s.late;
    this.rejected = s.rejected;
    this.rejectedBy.clear();
    for (const [k, v] of Object.entries(s.rejectedBy)) this.rejectedBy.set(k as RejectReason, v);
  }
}

export interface OutcomeCountsJson {
  input: number;
  applied: number;
  duplicate: number;
  late: number;
  rejected: number;
  rejectedBy: Record<string, number>;
}
