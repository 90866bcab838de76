import type { AlertEmitter } from '../../alerts/alert-emitter.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { CustomerStore } from '../../state/customer-store.js';
import type { AnalyticsConfig } from '../config.js';
import type { CustomerFields, FieldSpec } from './customer-fields.js';

/**
 * Where a piece of state that spans customers lives once customers are spread over
 * partitions (docs/architecture.md, "Global state"):
 * - `mergeable`: each partition keeps a partial summary; `merge(a, b)` combines two
 *   partials (associative and commutative), at event-time points aligned to the watermark,
 *   and the result is broadcast back, as Flink's broadcast state.
 * - `broadcast`: a pure function of merged summaries (a fit, a cut-off), computed once and
 *   handed to every partition.
 * - `rekeyed-by-item`: keyed by item, not by customer: the updates are re-keyed to the
 *   partition that owns the item, a second keyed stage.
 */
export type GlobalStateHome = 'mergeable' | 'broadcast' | 'rekeyed-by-item';

export interface GlobalState<S = unknown> {
  readonly name: string;
  readonly home: GlobalStateHome;
  /** For `mergeable` state: two partitions' partials (as snapshot data) combined into one. */
  merge?(a: S, b: S): S;
}

/** Model evaluations that failed (a numeric corner the models could not handle); the event still counts as applied. */
export class ModelHealth {
  errors = 0;
}

/** What every analytics process is handed: the configuration, keyed state, its fields and the alert output. */
export interface ProcessContext {
  readonly cfg: AnalyticsConfig;
  readonly store: CustomerStore;
  readonly fields: CustomerFields;
  readonly alerts: AlertEmitter;
  readonly health: ModelHealth;
}

/**
 * One analytic concern as a keyed process, in the sense of Flink's KeyedProcessFunction:
 * it sees each applied event and each of its timers at the exact point of the stream where
 * it happened, keeps per-customer fields (declared here, stored in `CustomerFields`) and
 * per-customer timers, and declares the state it keeps across customers and how that
 * state merges. `CustomerAnalytics` composes the processes into the one `KeyedProcess`
 * the keyed-state stage runs, calling them in a fixed order.
 *
 * A model that fails on one customer's numbers must not stop the stream: a process catches
 * its model calls and counts the failure in `ProcessContext.health`.
 */
export interface AnalyticsProcess {
  readonly name: string;
  /** Its per-customer fields. */
  readonly fields: readonly FieldSpec[];
  /** Names of the timers it arms and handles (`onTimer`). */
  readonly timers: readonly string[];
  /** Its state across customers, each with its home when customers are partitioned. */
  readonly globals: readonly GlobalState[];
  /** After `event` was applied to the customer in `slot`, with the watermark in force. */
  onApplied?(slot: number, event: CanonicalEvent, watermark: number): void;
  /** A session of the customer in `slot` closed. */
  onSessionClosed?(slot: number, customerId: string, start: number, end: number): void;
  /** One of its timers fired at `due` for the customer in `slot`. */
  onTimer?(timer: string, slot: number, customerId: string, due: number): void;
  /** The customer in `slot` is about to be evicted: take them out of the global summaries. */
  evicting?(slot: number): void;
}
