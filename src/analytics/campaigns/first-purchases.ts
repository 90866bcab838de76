import type { Alert } from '../../alerts/alert.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { CustomerStore } from '../../state/customer-store.js';
import type { KeyedProcess } from '../../state/operators/keyed-state.js';

/**
 * The one piece of keyed state campaign cohorts read: whether an applied purchase is the
 * customer's first. When the cohorts run after the shuffle (on the main thread, for every
 * partition at once), a partition keeps only this mark, per applied event, for its reply.
 */
export class FirstPurchaseMarks implements KeyedProcess<Alert> {
  private readonly marked = new WeakSet<CanonicalEvent>();

  constructor(private readonly store: Pick<CustomerStore, 'purchases'>) {}

  begin(): void {}

  onSignals(): void {}

  onApplied(slot: number, event: CanonicalEvent): void {
    if (event.type === 'purchase' && this.store.purchases(slot) === 1) this.marked.add(event);
  }

  /** Whether `event`, applied by this partition, was its customer's first purchase. */
  isFirst(event: CanonicalEvent): boolean {
    return this.marked.has(event);
  }
}
