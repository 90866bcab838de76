/**
 * What keyed state tells the stages after it. Customer ids appear here because analytics
 * need them; they must not be copied into logs or metric labels.
 */
export type StateSignal =
  | {
      readonly kind: 'session_closed';
      readonly customerId: string;
      /** The customer's slot when the signal was made; the slot may hold another customer by the time it is read (see `CustomerStore.slotHolding`). */
      readonly slot: number;
      readonly start: number;
      readonly end: number;
      readonly events: number;
      /** Watermark when the session was found closed. */
      readonly at: number;
    }
  | {
      readonly kind: 'timer';
      readonly timer: string;
      readonly customerId: string;
      readonly slot: number;
      readonly due: number;
    }
  | { readonly kind: 'evicted'; readonly customerId: string; readonly lastSeen: number; readonly at: number };
