import { freshCopy, type CopyBytes } from '../state/copy-bytes.js';
import { alertTypes, type Alert, type AlertType, type CustomerAlertDraft, type CustomerAlertType } from './alert.js';
import { withAlertId } from './alert-id.js';
import { AlertCooldowns, type AlertCooldownsSnapshot } from './cooldown.js';

/** What the alerts stage adds to a batch (written through the keyed-state stage's outputs). */
export interface AlertOutput {
  /** Alerts past their cooldown, with deterministic ids. */
  readonly alerts: Alert[];
  /** Index aligned with `alerts`: `receivedAt` of the message whose processing emitted each. */
  readonly alertEnteredAt: number[];
}

/**
 * Where analytics hand their conclusions: each draft passes its customer's cooldown and
 * hysteresis gate, gets its deterministic id, and joins the batch's alerts. Suppression
 * is not applied here: opting out of marketing hides a customer from marketing
 * destinations, not from the shop's own dashboards, so the delivery side decides.
 */
export class AlertEmitter {
  private out: Alert[] = [];
  readonly emitted = Object.fromEntries(alertTypes.map((t) => [t, 0])) as Record<AlertType, number>;
  gated = 0;

  constructor(readonly cooldowns: AlertCooldowns) {}

  begin(batch: Pick<AlertOutput, 'alerts'>): void {
    this.out = batch.alerts;
  }

  emit(slot: number, draft: CustomerAlertDraft): void {
    if (!this.cooldowns.tryFire(slot, draft.type, draft.score, draft.ts)) {
      this.gated++;
      return;
    }
    this.emitted[draft.type]++;
    this.out.push(withAlertId(draft));
  }

  /** The customer is back (a purchase): a hysteresis gate re-opens. */
  rearm(slot: number, type: CustomerAlertType): void {
    this.cooldowns.rearm(slot, type);
  }

  clearSlot(slot: number): void {
    this.cooldowns.clearSlot(slot);
  }

  snapshot(
    slots: number,
    copy: CopyBytes = freshCopy,
  ): { cooldowns: AlertCooldownsSnapshot; emitted: Record<AlertType, number>; gated: number } {
    return { cooldowns: this.cooldowns.snapshot(slots, copy), emitted: { ...this.emitted }, gated: this.gated };
  }

  restore(s: ReturnType<AlertEmitter['snapshot']>): void {
    this.cooldowns.restore(s.cooldowns);
    Object.assign(this.emitted, s.emitted);
    this.gated = s.gated;
  }
}
