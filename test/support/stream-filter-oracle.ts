import type { Alert } from '../../src/alerts/alert.js';
import { severityRank } from '../../src/alerts/alert.js';
import type { AlertFilter } from '../../src/alerts/alert-filter.js';

/** The per-customer alert types a token with every scope may read. */
export const ALL_TYPES: ReadonlySet<string> = new Set([
  'churn.risk',
  'value.tier_changed',
  'segment.changed',
  'cart.abandoned',
  'recommendation.cross_sell',
]);

/** The filter semantics of docs/stream.md, written out independently of `matcher`. */
export function wants(filter: AlertFilter, a: Alert, scope: ReadonlySet<string> = ALL_TYPES): boolean {
  if (!scope.has(a.type)) return false;
  if (filter.types !== undefined && filter.types.length > 0 && !filter.types.includes(a.type)) return false;
  if (
    filter.segments !== undefined &&
    filter.segments.length > 0 &&
    (a.segment === null || !filter.segments.includes(a.segment))
  )
    return false;
  if (filter.minSeverity !== undefined && severityRank[a.severity] < severityRank[filter.minSeverity]) return false;
  if (filter.minScore !== undefined && a.score < filter.minScore) return false;
  return true;
}
