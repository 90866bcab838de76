import type { core } from 'zod';
import type { RejectReason } from '../core/errors.js';

/**
 * Turns zod's first issue into a stable reason code and a path. Reasons are chosen by the
 * issue's `code` and `path`, never by message text, so zod wording changes break nothing.
 */
export function reasonFromIssues(issues: readonly core.$ZodIssue[]): { reason: RejectReason; path: string } {
  const issue = issues[0];
  if (issue === undefined) return { reason: 'VIGIL_ERR_SCHEMA', path: '' };
  const path = issue.path.map(String).join('.');
  if (path === 'type' && issue.code === 'invalid_union') return { reason: 'VIGIL_ERR_UNKNOWN_EVENT_TYPE', path };
  if (path === 'ts' && (issue.code === 'too_big' || issue.code === 'too_small')) {
    return { reason: 'VIGIL_ERR_TS_RANGE', path };
  }
  return { reason: 'VIGIL_ERR_SCHEMA', path };
}
