import * as z from 'zod';

/**
 * What a bearer token may read or do. Every route and every stream frame kind names the one
 * scope it needs (docs/ops.md, "Security model", has the table); a valid token without it
 * gets 403 `VIGIL_ERR_FORBIDDEN_SCOPE`. Scopes are listed explicitly on each configured
 * token: holding one never implies another.
 *
 * - `stream`: open `/v1/stream` and receive alerts of the token's `types` (all when absent);
 * - `kpi:read`: the stream's kpi frames (counts per alert type, revenue, funnel, segments) and `/metrics`;
 * - `customers:read`: `GET /v1/customers/:id`, a customer's profile, scores and recommendations;
 * - `items:read`: `GET /v1/items/:id/similar`;
 * - `admin`: `DELETE /v1/customers/:id`, the erasure of a customer.
 */
export const scopeNames = ['stream', 'kpi:read', 'customers:read', 'items:read', 'admin'] as const;
export const scope = z.enum(scopeNames);
export type Scope = z.infer<typeof scope>;
