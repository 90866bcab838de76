import { VigilError } from '../core/errors.js';
import type { RfmValues } from './rfm.js';

/**
 * The population's hazard of a return purchase, learned from the purchases themselves: a
 * life table of the silences between purchase days.
 *
 * A buyer is always in one *spell*: the time since their last purchase day. A spell belongs
 * to a frequency class (the repeat purchase days the buyer had when it began, x) and ends
 * with a return (the next purchase day: an event) or is censored (the buyer is evicted, or
 * it is still open now). Per class and per whole time unit `w` of silence, the table holds
 * the returns that came in that unit and the exposure (buyer-units at risk in it, open
 * spells up to now included), so the hazard of a return is returns / exposure, the
 * Kaplan–Meier estimate in piecewise-constant form. Each class's hazard is then made
 * non-increasing in silence (weighted isotonic regression, pool-adjacent-violators): a long
 * silence never makes a return more likely, and the regression removes the noise of the
 * thinly exposed long silences without a smoothing parameter.
 *
 * The churn score is P(no return in the next time unit) = exp(−∫ h over it) for the
 * buyer's class and silence. Unlike BG/NBD P(alive), which is 1 for every one-time buyer
 * (BG/NBD lets customers drop out only after a repeat purchase), it compares one-time
 * buyers with repeat buyers on what the population has actually done.
 *
 * Cost: an update at a buyer's new purchase day, O(1); memory O(classes × cells) plus the
 * open spells' start histogram, at most `cells + 1` entries per class (older starts are
 * folded into one aggregate). The table is rebuilt only when asked for a score after a change.
 */

/** Lower bounds of the frequency classes, in repeat purchase days x (roughly doubling: the data thin out as x grows). */
export const FREQUENCY_CLASSES: readonly number[] = [0, 1, 2, 3, 4, 6, 10, 16];
/** Silences of whole time units kept apart; longer ones share one open-ended cell. */
export const SILENCE_CELLS = 104;

export interface ReturnHazardSnapshot {
  unitMs: number;
  cells: number;
  latest: number;
  /** Per class × (cells + 1): returns in the cell; ended spells (returned or censored) in it and the sum of their fractional parts. */
  returns: number[];
  ended: number[];
  endedFraction: number[];
  /** Per class: Σ (length − cells) of the ended spells beyond the last cell. */
  endedBeyond: number[];
  /** Open spells: [class, start cell, count, Σ start in units], for start cells not yet folded. */
  open: number[][];
  /** Per class: open spells started before `foldedBelow` (count, Σ start in units). */
  foldedCount: number[];
  foldedStart: number[];
  foldedBelow: number;
}

export class ReturnHazard {
  private readonly classes = FREQUENCY_CLASSES.length;
  private readonly stride: number;
  private returns: Float64Array;
  private ended: Float64Array;
  private endedFraction: Float64Array;
  private endedBeyond: Float64Array;
  /** Per class, start cell → [count, Σ start in units]. */
  private open: Map<number, [number, number]>[];
  private foldedCount: Float64Array;
  private foldedStart: Float64Array;
  /** Start cells below this are folded (all their spells are longer than `cells` units by now). */
  private foldedBelow = -Infinity;
  /** Latest event time seen (ms): the default "now". */
  private latest = -Infinity;
  /** Changes since the hazards were last built, and the time they were built for. */
  private version = 0;
  private built: { version: number; now: number; hazards: Float64Array } | undefined;

  constructor(
    readonly unitMs: number,
    readonly cells = SILENCE_CELLS,
  ) {
    if (!(unitMs > 0) || !(Number.isInteger(cells) && cells >= 1))
      throw new VigilError('VIGIL_ERR_USAGE', `ReturnHazard needs a positive unit and cells (got ${unitMs}, ${cells})`);
    this.stride = cells + 1;
    const n = this.classes * this.stride;
    this.returns = new Float64Array(n);
    this.ended = new Float64Array(n);
    this.endedFraction = new Float64Array(n);
    this.endedBeyond = new Float64Array(this.classes);
    this.open = Array.from({ length: this.classes }, () => new Map());
    this.foldedCount = new Float64Array(this.classes);
    this.foldedStart = new Float64Array(this.classes);
  }

  /**
   * A buyer's RFM values changed (as `RfmPopulation.update`): undefined before their first
   * purchase, or after when evicted (their spell is censored at the latest time seen). A new
   * purchase day after the last ends the spell with a return; any other change (a late
   * purchase, a second purchase on the same day) moves the open spell without one.
   */
  update(old: RfmValues | undefined, next: RfmValues | undefined): void {
    if (next !== undefined && next.lastPurchase > this.latest) this.latest = next.lastPurchase;
    if (
      old !== undefined &&
      next !== undefined &&
      old.transactions === next.transactions &&
      old.lastPurchase === next.lastPurchase
    )
      return;
    this.version++;
    if (old !== undefined) {
      const c = classOf(old.transactions - 1);
      this.closeOpen(c, old.lastPurchase);
      const returned =
        next !== undefined && next.transactions > old.transactions && next.lastPurchase > old.lastPurchase;
      if (returned) this.end(c, (next.lastPurchase - old.lastPurchase) / this.unitMs, true);
      else if (next === undefined) this.end(c, Math.max(0, this.latest - old.lastPurchase) / this.unitMs, false);
    }
    if (next !== undefined) this.addOpen(classOf(next.transactions - 1), next.lastPurchase);
  }

  /**
   * P(no purchase in the next time unit) of a buyer with these RFM values, as of `now`
   * (ms; by default the latest event time seen): exp(−∫ hazard over (s, s + 1]) for their
   * class and silence s. Higher means more likely lapsed.
   */
  pNoReturn(values: RfmValues, now = this.latest): number {
    const at = Math.max(now, this.latest);
    const h = this.hazards(at);
    const base = classOf(values.transactions - 1) * this.stride;
    const from = Math.max(0, (at - values.lastPurchase) / this.unitMs);
    let integral = 0;
    for (let s = from, to = from + 1; s < to;) {
      const cell = Math.min(Math.floor(s), this.cells);
      const end = cell < this.cells ? Math.min(cell + 1, to) : to;
      integral += h[base + cell]! * (end - s);
      s = end;
    }
    return Math.exp(-integral);
  }

  /** The isotonic hazards per class and cell (returns per unit of silence), as of `now`: for tests and docs. */
  hazardTable(now = this.latest): Float64Array {
    return this.hazards(Math.max(now, this.latest)).slice();
  }

  snapshot(): ReturnHazardSnapshot {
    const open: number[][] = [];
    this.open.forEach((m, c) => m.forEach(([count, sum], cell) => open.push([c, cell, count, sum])));
    return {
      unitMs: this.unitMs,
      cells: this.cells,
      latest: this.latest,
      returns: [...this.returns],
      ended: [...this.ended],
      endedFraction: [...this.endedFraction],
      endedBeyond: [...this.endedBeyond],
      open,
      foldedCount: [...this.foldedCount],
      foldedStart: [...this.foldedStart],
      foldedBelow: this.foldedBelow,
    };
  }

  /** Refuses (VIGIL_ERR_SNAPSHOT) a snapshot without the table (an older version's) or of another unit or size. */
  restore(s: ReturnHazardSnapshot | undefined): void {
    if (s === undefined)
      throw new VigilError(
        'VIGIL_ERR_SNAPSHOT',
        'the snapshot holds no return hazard table (written by an older version)',
      );
    const n = this.classes * this.stride;
    if (
      s.unitMs !== this.unitMs ||
      s.cells !== this.cells ||
      s.returns.length !== n ||
      s.foldedCount.length !== this.classes
    ) {
      throw new VigilError(
        'VIGIL_ERR_SNAPSHOT',
        `return hazard snapshot of unit ${s.unitMs} ms and ${s.cells} cells does not fit unit ${this.unitMs} ms and ${this.cells} cells`,
      );
    }
    this.returns = Float64Array.from(s.returns);
    this.ended = Float64Array.from(s.ended);
    this.endedFraction = Float64Array.from(s.endedFraction);
    this.endedBeyond = Float64Array.from(s.endedBeyond);
    this.open = Array.from({ length: this.classes }, () => new Map());
    for (const [c, cell, count, sum] of s.open) this.open[c!]!.set(cell!, [count!, sum!]);
    this.foldedCount = Float64Array.from(s.foldedCount);
    this.foldedStart = Float64Array.from(s.foldedStart);
    this.foldedBelow = s.foldedBelow;
    this.latest = s.latest;
    this.version++;
    this.built = undefined;
  }

  private addOpen(c: number, start: number): void {
    const units = start / this.unitMs;
    const cell = Math.floor(units);
    if (cell < this.foldedBelow) {
      this.foldedCount[c]!++;
      this.foldedStart[c]! += units;
    } else {
      const entry = this.open[c]!.get(cell);
      if (entry === undefined) this.open[c]!.set(cell, [1, units]);
      else {
        entry[0]++;
        entry[1] += units;
      }
    }
    this.fold();
  }

  private closeOpen(c: number, start: number): void {
    const units = start / this.unitMs;
    const cell = Math.floor(units);
    if (cell < this.foldedBelow) {
      this.foldedCount[c]!--;
      this.foldedStart[c]! -= units;
      return;
    }
    const entry = this.open[c]!.get(cell);
    if (entry === undefined) return; // not opened here (a restored state without it): nothing to close
    if (--entry[0] <= 0) this.open[c]!.delete(cell);
    else entry[1] -= units;
  }

  /**
   * A spell of `length` units of class `c` ended, with a return or censored. It ends in the
   * cell whose time it reaches last: a return after exactly w units came at the end of cell
   * w − 1, which is where its exposure stops.
   */
  private end(c: number, length: number, returned: boolean): void {
    const cell = length > 0 ? Math.min(Math.ceil(length) - 1, this.cells) : 0;
    const at = c * this.stride + cell;
    this.ended[at]!++;
    if (cell < this.cells) this.endedFraction[at]! += length - cell;
    else this.endedBeyond[c]! += length - this.cells;
    if (returned) this.returns[at]!++;
  }

  /** Folds the start cells whose spells all reach the open-ended cell by now: bounds the histogram. */
  private fold(): void {
    const below = Math.floor(this.latest / this.unitMs) - this.cells - 1;
    if (!(below > this.foldedBelow)) return;
    this.foldedBelow = below;
    this.open.forEach((m, c) => {
      for (const [cell, [count, sum]] of m) {
        if (cell >= below) continue;
        this.foldedCount[c]! += count;
        this.foldedStart[c]! += sum;
        m.delete(cell);
      }
    });
  }

  private hazards(now: number): Float64Array {
    if (this.built !== undefined && this.built.version === this.version && this.built.now === now)
      return this.built.hazards;
    const { stride, cells } = this;
    const nowUnits = now / this.unitMs;
    const exposure = new Float64Array(this.classes * stride);
    const hazards = new Float64Array(this.classes * stride);
    for (let c = 0; c < this.classes; c++) {
      const base = c * stride;
      // Ended spells: a full unit in every cell below the one they ended in, their fraction in that one.
      let longer = 0;
      exposure[base + cells] = this.endedBeyond[c]!;
      for (let w = cells; w >= 0; w--) {
        if (w < cells) exposure[base + w]! += longer + this.endedFraction[base + w]!;
        longer += this.ended[base + w]!;
      }
      // Open spells, by their start cell's mean start (an approximation within one unit only).
      const openSpell = (count: number, length: number): void => {
        if (!(length > 0)) return;
        const whole = Math.min(Math.floor(length), cells);
        for (let w = 0; w < whole; w++) exposure[base + w]! += count;
        if (whole < cells) exposure[base + whole]! += count * (length - whole);
        else exposure[base + cells]! += count * (length - cells);
      };
      for (const [count, sum] of this.open[c]!.values()) openSpell(count, nowUnits - sum / count);
      if (this.foldedCount[c]! > 0)
        openSpell(this.foldedCount[c]!, nowUnits - this.foldedStart[c]! / this.foldedCount[c]!);
      const fitted = nonIncreasing(this.returns.subarray(base, base + stride), exposure.subarray(base, base + stride));
      if (fitted === undefined)
        hazards.set(c > 0 ? hazards.subarray(base - stride, base) : new Float64Array(stride), base);
      else hazards.set(fitted, base);
    }
    this.built = { version: this.version, now, hazards };
    return hazards;
  }
}

/** The frequency class of x repeat purchase days. */
export function classOf(x: number): number {
  let c = 0;
  while (c + 1 < FREQUENCY_CLASSES.length && x >= FREQUENCY_CLASSES[c + 1]!) c++;
  return c;
}

/**
 * Rates returns / exposure per cell, made non-increasing by weighted pool-adjacent-violators
 * (weights: exposure); a cell without exposure takes its predecessor's rate. Undefined when
 * no cell has exposure.
 */
export function nonIncreasing(events: ArrayLike<number>, exposure: ArrayLike<number>): Float64Array | undefined {
  const n = events.length;
  const value: number[] = [];
  const weight: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!(exposure[i]! > 0)) continue;
    value.push(events[i]! / exposure[i]!);
    weight.push(exposure[i]!);
    first.push(i);
    while (value.length > 1 && value[value.length - 2]! < value[value.length - 1]!) {
      const v = value.pop()!;
      const w = weight.pop()!;
      first.pop();
      const j = value.length - 1;
      value[j] = (value[j]! * weight[j]! + v * w) / (weight[j]! + w);
      weight[j]! += w;
    }
  }
  if (value.length === 0) return undefined;
  const out = new Float64Array(n);
  // Each block covers its cells up to the next block's first cell; cells before the first exposed one take the first block.
  for (let b = 0; b < value.length; b++) {
    const from = b === 0 ? 0 : first[b]!;
    const to = b + 1 < value.length ? first[b + 1]! : n;
    out.fill(value[b]!, from, to);
  }
  return out;
}
