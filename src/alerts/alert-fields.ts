import * as z from 'zod';
import { MAX_KEY_LENGTH, MAX_TS, MIN_TS } from '../core/event.js';

/** The field schemas alert types share; each type's own `data` is built from them (`types/`). */

export const severities = ['info', 'warning', 'critical'] as const;
export const severity = z.enum(severities);
export type Severity = z.infer<typeof severity>;
/** Order of severities, for "at least warning" filters. */
export const severityRank: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/** Bounds: one alert must stay a small, known size on every wire it travels. */
export const MAX_REASONS = 8;
export const MAX_REASON_LENGTH = 200;
export const MAX_CART_ITEMS = 50;
export const MAX_RECOMMENDATIONS = 20;
export const MAX_BASED_ON = 100;

export const key = z.string().min(1).max(MAX_KEY_LENGTH);
export const eventTime = z.number().int().min(MIN_TS).max(MAX_TS);
/** Sums of money (CLV, cart value) can exceed one price's bound; zod 4 numbers are finite. */
export const moneyTotal = z.number().min(0);
export const unitScore = z.number().min(0).max(1);
/**
 * Names of segments, tiers and rules: lowercase identifiers, so they are safe as filter
 * values, metric labels and CloudEvents extension values. Their vocabularies belong to
 * the analytics that assign them.
 */
export const label = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/);
export const rfmScore = z.number().int().min(1).max(5);

export function changed<T extends { from: string; to: string }>(d: T): boolean {
  return d.from !== d.to;
}
export const notAChange = { message: 'from and to are equal: nothing changed', path: ['to'] };

/** Product ids appear at most once in a list of recommendations. */
export function distinctProducts(ids: readonly string[]): boolean {
  return new Set(ids).size === ids.length;
}
export const duplicateProduct = { message: 'a product appears more than once' };
