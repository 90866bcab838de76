import * as z from 'zod';
import { alertTypes, label, severity, severityRank, type Alert } from './alert.js';

/**
 * What a subscriber wants: alert types, segments, a minimum severity and a minimum score.
 * Empty or absent lists mean "any". Bounded, as it arrives from outside the process.
 */
export const alertFilter = z.strictObject({
  types: z.array(z.enum(alertTypes)).max(alertTypes.length).optional(),
  segments: z.array(label).max(16).optional(),
  minSeverity: severity.optional(),
  minScore: z.number().min(0).max(1).optional(),
});
export type AlertFilter = z.infer<typeof alertFilter>;

/** Compiles a filter into a predicate, so matching an alert costs a few comparisons. */
export function matcher(filter: AlertFilter): (alert: Alert) => boolean {
  const types = filter.types?.length ? new Set<string>(filter.types) : undefined;
  const segments = filter.segments?.length ? new Set<string>(filter.segments) : undefined;
  const minRank = filter.minSeverity === undefined ? 0 : severityRank[filter.minSeverity];
  const minScore = filter.minScore ?? 0;
  return (a) =>
    (types === undefined || types.has(a.type)) &&
    (segments === undefined || (a.segment !== null && segments.has(a.segment))) &&
    severityRank[a.severity] >= minRank &&
    a.score >= minScore;
}
