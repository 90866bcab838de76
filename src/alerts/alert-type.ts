import type * as z from 'zod';
import type { Severity } from './alert-fields.js';

/** A part of an alert's identity: strings and numbers, hashed in order (alert-id.ts). */
export type AlertOccasion = readonly (string | number)[];

/**
 * Everything about one alert type, in one file under `types/`. The registry (`registry.ts`)
 * lists them; the union schema, the ids, the counters, the config's policy keys, the
 * status line, the dashboard's module and the docs' tables are derived from these.
 */
/** What an alert is about: one customer (`customerId` set, gated per customer), or an aggregate such as a category's demand (`customerId` and `segment` null). */
export type AlertSubject = 'customer' | 'aggregate';

export interface AlertTypeSpec<
  T extends string = string,
  D extends z.ZodType = z.ZodType,
  K extends string = string,
  S extends AlertSubject = AlertSubject,
> {
  readonly type: T;
  /** The schema of the type's `data`. */
  readonly data: D;
  /**
   * Who the type is meant to act on the customer. `marketing`: suppressed customers' alerts
   * never reach a marketing destination (ops destinations still get every alert). `ops`:
   * never leads to contacting the customer (a fraud or data-quality alert).
   */
  readonly audience: 'marketing' | 'ops';
  /**
   * What it is about. `customer`: `customerId` is the customer, its cooldown gate is per
   * customer (`AlertCooldowns`). `aggregate`: `customerId` and `segment` are null and
   * `ts` is the end of the evidence; its analytics gate it themselves.
   */
  readonly subject: S;
  /**
   * The identity rule: what tells apart two alerts of this type for one customer at the same
   * event time (two orders, two sessions, two rules). Scores and model outputs stay out, so a
   * replay after a refit yields the same id.
   */
  readonly occasion: (data: z.infer<D>) => AlertOccasion;
  /** Its key under `alerts.policies` (cooldown and hysteresis): camelCase, as `VIGIL_*` paths need. */
  readonly policyKey: K;
  /** The severities the analytics give it. */
  readonly severities: readonly Severity[];
  /** On the dashboard: a short label and the colour of its badge (a CSS colour). */
  readonly dashboard: { readonly label: string; readonly colour: string };
  /** Its short name on `vigil start`'s status line. */
  readonly status: string;
  /** The docs' rows: what `data` holds, how `score` is made, what the occasion is. */
  readonly docs: { readonly data: string; readonly score: string; readonly occasion: string };
}

/** Declares an alert type (keeps its literal type and key for the registry's derived types). */
export function defineAlertType<
  const T extends string,
  D extends z.ZodType,
  const K extends string,
  const S extends AlertSubject,
>(spec: AlertTypeSpec<T, D, K, S>): AlertTypeSpec<T, D, K, S> {
  return spec;
}
