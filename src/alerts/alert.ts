import * as z from 'zod';
import { eventTime, key, label, MAX_REASON_LENGTH, MAX_REASONS, severity, unitScore } from './alert-fields.js';
import { alertIdPattern } from './alert-id-format.js';
import type { AlertTypeSpec } from './alert-type.js';
import { alertTypeSpecs } from './registry.js';

/**
 * An alert is a value: everything in it is a function of the input events (and the fitted
 * model parameters), nothing of when or where it was computed, so replaying a stream gives
 * equal alerts with equal ids and downstream can drop the copies. That is why there is no
 * "created at" wall-clock field: `ts` is the event time of the evidence.
 *
 * One schema covers every alert, discriminated on `type`, derived from the registry of
 * alert types (`registry.ts`, one file per type in `types/`); types come from it via `z.infer`.
 * Alerts are made inside the engine, so the schema is mainly for the edges: tests, the
 * WebSocket and CloudEvents encoders, and anything reading alerts back from a file or NATS.
 */
type Specs = typeof alertTypeSpecs;
type SpecOf<T extends AlertType> = Extract<Specs[number], { type: T }>;

type TypesOf<L extends readonly Specs[number][]> = { readonly [I in keyof L]: L[I]['type'] };
export const alertTypes = alertTypeSpecs.map((s) => s.type) as unknown as TypesOf<Specs>;
export type AlertType = Specs[number]['type'];
/** Each type's declaration, by type. */
export const alertTypeSpec = Object.fromEntries(alertTypeSpecs.map((s) => [s.type, s])) as {
  readonly [T in AlertType]: SpecOf<T>;
};
/** Types about an aggregate (a category's demand), with no customer: `customerId` is null. */
export type AggregateAlertType = Extract<Specs[number], { subject: 'aggregate' }>['type'];
/** Types about one customer, gated per customer (`AlertCooldowns`). */
export type CustomerAlertType = Exclude<AlertType, AggregateAlertType>;
export const aggregateAlertTypes: readonly AggregateAlertType[] = alertTypes.filter(
  (t): t is AggregateAlertType => alertTypeSpec[t].subject === 'aggregate',
);
export const customerAlertTypes: readonly CustomerAlertType[] = alertTypes.filter(
  (t): t is CustomerAlertType => alertTypeSpec[t].subject !== 'aggregate',
);
/** Dense index of each customer type, for per-type typed-array columns (cooldowns). */
export const alertTypeIndex: Readonly<Record<CustomerAlertType, number>> = Object.fromEntries(
  customerAlertTypes.map((t, i) => [t, i]),
) as Record<CustomerAlertType, number>;

export {
  severities,
  severity,
  severityRank,
  label,
  MAX_REASONS,
  MAX_REASON_LENGTH,
  MAX_CART_ITEMS,
  MAX_RECOMMENDATIONS,
  MAX_BASED_ON,
} from './alert-fields.js';
export type { Severity } from './alert-fields.js';

/**
 * Who each alert type is meant to act on the customer (its `audience`, declared in its file),
 * so a new type cannot reach a marketing destination for an opted-out customer by having been
 * forgotten. Suppression applies only to marketing destinations; ops ones receive every alert.
 */
export const alertAudience = Object.fromEntries(alertTypeSpecs.map((s) => [s.type, s.audience])) as Readonly<
  Record<AlertType, 'marketing' | 'ops'>
>;
export const marketingAlertTypes: readonly AlertType[] = alertTypes.filter((t) => alertAudience[t] === 'marketing');

export function isMarketingFacing(type: AlertType): boolean {
  return alertAudience[type] === 'marketing';
}

function alertOf(spec: Pick<AlertTypeSpec, 'type' | 'data' | 'subject'>) {
  const alert = z.strictObject({
    /** Deterministic: see `alert-id.ts`. Carries the type as a readable prefix. */
    id: z.string().regex(alertIdPattern(spec.type)),
    type: z.literal(spec.type),
    customerId: key,
    /** Event time of the evidence that triggered the alert (ms since the epoch), never a watermark or wall clock. */
    ts: eventTime,
    severity,
    /** How strongly the evidence supports the alert, 0..1, comparable across types (for minimum-score filters). */
    score: unitScore,
    /** Human-readable, for the person or tool acting on the alert. */
    reasons: z.array(z.string().min(1).max(MAX_REASON_LENGTH)).min(1).max(MAX_REASONS),
    /** The customer's RFM segment when the alert fired, for segment filters; null before one is assigned. */
    segment: label.nullable(),
    data: spec.data,
  });
  // About an aggregate (a category's demand), not a customer: no customer, no segment, and
  // `ts` is the end of the evidence (the closed bucket's end).
  return spec.subject === 'aggregate' ? alert.extend({ customerId: z.null(), segment: z.null() }) : alert;
}
/** The schema `alertOf` builds for a spec, spelled out so the union keeps each type's data. */
type AlertObjectOf<S extends Specs[number]> = z.ZodObject<
  {
    id: z.ZodString;
    type: z.ZodLiteral<S['type']>;
    customerId: S['subject'] extends 'aggregate' ? z.ZodNull : typeof key;
    ts: typeof eventTime;
    severity: typeof severity;
    score: typeof unitScore;
    reasons: z.ZodArray<z.ZodString>;
    segment: S['subject'] extends 'aggregate' ? z.ZodNull : z.ZodNullable<typeof label>;
    data: S['data'];
  },
  z.core.$strict
>;
/** Generic, so that it maps the registry's tuple to a tuple. */
type ObjectsOf<L extends readonly Specs[number][]> = { -readonly [I in keyof L]: AlertObjectOf<L[I]> };
type AlertObjects = ObjectsOf<Specs>;

export const alertSchema = z.discriminatedUnion(
  'type',
  alertTypeSpecs.map((s) => alertOf(s)) as unknown as AlertObjects,
);
export type Alert = z.infer<typeof alertSchema>;
export type AlertOf<T extends AlertType> = Extract<Alert, { type: T }>;
/** An alert before its id is derived from it (`withAlertId`). */
export type AlertDraft = { [T in AlertType]: Omit<AlertOf<T>, 'id'> }[AlertType];
export type CustomerAlertDraft = Extract<AlertDraft, { type: CustomerAlertType }>;
