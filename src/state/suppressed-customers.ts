/**
 * Customers who were erased: their later events are refused (`VIGIL_ERR_SUPPRESSED`), so
 * nothing about them is held again. The engine's copy of the suppression list (JetStream KV
 * or a local file, see suppression-store.ts): it only grows, by erasures here and by ids
 * another process added to the list. Exact (a Set): a false match would drop another
 * customer's events.
 */
export class SuppressedCustomers {
  private ids = new Set<string>();

  get size(): number {
    return this.ids.size;
  }

  has(customerId: string): boolean {
    return this.ids.has(customerId);
  }

  add(customerId: string): void {
    this.ids.add(customerId);
  }
}
