/**
 * Where the suppression list of erased customers lives outside the process: JetStream KV
 * when NATS is configured (kv-store.ts), a local file otherwise (file-store.ts). Every engine
 * watching the same list suppresses, and erases, what any of them or `vigil erase` adds.
 */
export interface SuppressionStore {
  /** Records an erased id durably; resolves once it is (the engine forgets the customer after). */
  add(customerId: string): Promise<void>;
  /**
   * Reads the list, hands every id to `onIds`, and keeps handing over ids added later
   * (by this or another process). Resolves once the list as it stood has been handed over.
   */
  watch(onIds: (ids: readonly string[]) => void): Promise<void>;
  close(): Promise<void>;
}
