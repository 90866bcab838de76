import { freshCopy, type CopyBytes } from '../state/copy-bytes.js';
import { VigilError } from '../core/errors.js';
import { alertTypeIndex, customerAlertTypes, type CustomerAlertType } from './alert.js';
import type { AlertPolicy } from './config.js';

/**
 * Per-customer, per-type alert gating on event time: a cooldown after each firing, and
 * optionally a hysteresis band on the alert's score (see `hysteresisBand`). An alert with
 * a band fires when its score is past `enter`, the gate is armed, and the cooldown since
 * the last firing has passed; firing disarms the gate, and only a score back past `exit`
 * re-arms it. A gate starts armed, so the first score past `enter` fires.
 *
 * State is keyed by the engine's customer slot (CustomerStore's 0..n-1), not by id: two
 * typed arrays of slot × type, 9 bytes a pair (45 bytes a customer with five types, 45 MB
 * for a million customers), nothing for the garbage collector to trace. The slot's owner
 * changes when a customer is evicted, so the caller clears the slot then (`clearSlot`).
 *
 * Everything runs on event time, and decisions depend only on the order of calls, so a
 * replay decides exactly as the live run did. Evidence older than the last firing
 * (ts − lastFired < cooldown, negative included) never fires: a later alert covered it.
 */
const TYPES = customerAlertTypes.length;
/** Flag bit: the gate fired and the score has not gone back past `exit` since. */
const DISARMED = 1;
const MIN_SLOTS = 16;

interface Gate {
  readonly cooldownMs: number;
  readonly banded: boolean;
  /** enter > exit: the alert is about a rising score. */
  readonly rising: boolean;
  readonly enter: number;
  readonly exit: number;
}

export class AlertCooldowns {
  /** Event time of the last firing per (slot, type), NaN when it never fired. */
  private lastFired: Float64Array;
  private flags: Uint8Array;
  private slotCapacity: number;
  private readonly gates: readonly Gate[];

  constructor(policies: Readonly<Record<CustomerAlertType, AlertPolicy>>, initialSlots = 1024) {
    this.gates = customerAlertTypes.map((t) => {
      const { cooldownMs, hysteresis } = policies[t];
      return hysteresis === null
        ? { cooldownMs, banded: false, rising: true, enter: -Infinity, exit: -Infinity }
        : {
            cooldownMs,
            banded: true,
            rising: hysteresis.enter > hysteresis.exit,
            enter: hysteresis.enter,
            exit: hysteresis.exit,
          };
    });
    this.slotCapacity = Math.max(MIN_SLOTS, initialSlots);
    this.lastFired = new Float64Array(this.slotCapacity * TYPES).fill(NaN);
    this.flags = new Uint8Array(this.slotCapacity * TYPES);
  }

  static readonly bytesPerSlot = TYPES * (Float64Array.BYTES_PER_ELEMENT + 1);

  get capacity(): number {
    return this.slotCapacity;
  }

  get bytes(): number {
    return this.lastFired.byteLength + this.flags.byteLength;
  }

  /**
   * Offers one occasion for an alert of `type` about the customer in `slot`, with the
   * alert's score and the event time of its evidence. Returns true when the alert should
   * be emitted, and records the firing; false leaves it suppressed. Under a band, a NaN
   * score is past neither threshold (comparisons with NaN are false) and changes nothing.
   */
  tryFire(slot: number, type: CustomerAlertType, score: number, ts: number): boolean {
    if (slot >= this.slotCapacity) this.ensureSlotCapacity(slot + 1);
    const t = alertTypeIndex[type];
    const gate = this.gates[t]!;
    const at = slot * TYPES + t;
    if (gate.banded) {
      const pastEnter = gate.rising ? score >= gate.enter : score <= gate.enter;
      if (!pastEnter) {
        const pastExit = gate.rising ? score <= gate.exit : score >= gate.exit;
        if (pastExit) this.flags[at] = this.flags[at]! & ~DISARMED;
        return false;
      }
      if ((this.flags[at]! & DISARMED) !== 0) return false;
    }
    const last = this.lastFired[at]!;
    if (!Number.isNaN(last) && !(ts - last >= gate.cooldownMs)) return false;
    this.lastFired[at] = ts;
    if (gate.banded) this.flags[at] = this.flags[at]! | DISARMED;
    return true;
  }

  /**
   * Re-arms the gate as if the score had gone back past `exit` (e.g. the customer came
   * back); the cooldown since the last firing still applies. No effect without a band.
   */
  rearm(slot: number, type: CustomerAlertType): void {
    if (slot >= this.slotCapacity) return;
    const at = slot * TYPES + alertTypeIndex[type];
    this.flags[at] = this.flags[at]! & ~DISARMED;
  }

  /** Forgets the slot's gates: its customer was evicted and the slot may be reused. */
  clearSlot(slot: number): void {
    if (slot >= this.slotCapacity) return;
    // A loop over the few types, not two fill() calls: this runs at every new customer, and a
    // builtin call for a handful of elements costs more than the stores (`npm run bench -- core`).
    const lastFired = this.lastFired;
    const flags = this.flags;
    for (let at = slot * TYPES, end = at + TYPES; at < end; at++) {
      lastFired[at] = NaN;
      flags[at] = 0;
    }
  }

  /** Grows (doubling) to hold at least `slots` slots; CustomerStore grows the same way. */
  ensureSlotCapacity(slots: number): void {
    if (slots <= this.slotCapacity) return;
    let capacity = this.slotCapacity;
    while (capacity < slots) capacity *= 2;
    const lastFired = new Float64Array(capacity * TYPES).fill(NaN);
    lastFired.set(this.lastFired);
    const flags = new Uint8Array(capacity * TYPES);
    flags.set(this.flags);
    this.lastFired = lastFired;
    this.flags = flags;
    this.slotCapacity = capacity;
  }

  /** The gates of slots 0..slots-1 as plain data (raw bytes in machine order, like SlotRecords). */
  snapshot(slots: number, copy: CopyBytes = freshCopy): AlertCooldownsSnapshot {
    const n = Math.min(slots, this.slotCapacity) * TYPES;
    return {
      types: [...customerAlertTypes],
      slots: n / TYPES,
      lastFired: copy(new Uint8Array(this.lastFired.buffer, 0, n * Float64Array.BYTES_PER_ELEMENT)),
      flags: copy(this.flags.subarray(0, n)),
    };
  }

  /**
   * Restores gates by type name, so a snapshot survives alert types being added (they
   * start fresh) or removed (their gates are dropped). Policies come from the current
   * configuration: a changed cooldown applies to the restored firings.
   */
  restore(s: AlertCooldownsSnapshot): void {
    const width = s.types.length;
    if (
      !Number.isInteger(s.slots) ||
      s.slots < 0 ||
      s.lastFired.byteLength !== s.slots * width * Float64Array.BYTES_PER_ELEMENT ||
      s.flags.byteLength !== s.slots * width
    ) {
      throw new VigilError('VIGIL_ERR_SNAPSHOT', 'alert cooldown snapshot has inconsistent sizes');
    }
    // Copy: a decoded snapshot's bytes may sit at an offset not aligned for a Float64Array.
    const lastFired = new Float64Array(s.lastFired.slice().buffer);
    let capacity = MIN_SLOTS;
    while (capacity < Math.max(s.slots, this.slotCapacity)) capacity *= 2;
    this.slotCapacity = capacity;
    this.lastFired = new Float64Array(capacity * TYPES).fill(NaN);
    this.flags = new Uint8Array(capacity * TYPES);
    s.types.forEach((name, from) => {
      if (!Object.hasOwn(alertTypeIndex, name)) return;
      const to = alertTypeIndex[name as CustomerAlertType];
      for (let slot = 0; slot < s.slots; slot++) {
        this.lastFired[slot * TYPES + to] = lastFired[slot * width + from]!;
        this.flags[slot * TYPES + to] = s.flags[slot * width + from]!;
      }
    });
  }
}

export interface AlertCooldownsSnapshot {
  /** Column order of the arrays below. */
  types: string[];
  slots: number;
  /** Float64 event times, slot-major (slots × types), NaN for never. */
  lastFired: Uint8Array;
  /** Gate flags, slot-major (slots × types). */
  flags: Uint8Array;
}
