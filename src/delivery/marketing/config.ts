import * as z from 'zod';
import { alertTypes } from '../../alerts/alert.js';
import { alertFilter } from '../../alerts/alert-filter.js';
import { backoffConfig } from '../../core/backoff.js';
import { webhookSecretPattern } from './webhook-signature.js';

/**
 * The `triggers` section: marketing triggers on NATS JetStream and signed webhooks. Defaults
 * live in `config/default.json`; a webhook destination leaves out what it takes from
 * `webhooks.defaults`. Secrets may come from the environment (`VIGIL_TRIGGERS__PSEUDONYMISE__SECRET`,
 * or a destination's `secretEnv`) and are never logged.
 */
const subjectToken = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const ms = z.number().int().min(0);

const streamLimits = z
  .strictObject({
    /** The server drops a publish whose Nats-Msg-Id it saw within this window: replays de-duplicate. */
    duplicateWindowMs: z.number().int().min(1000),
    /** Triggers older than this are removed. */
    maxAgeMs: z.number().int().min(60_000),
    /** The stream's size limit; past it the oldest triggers are discarded. */
    maxBytes: z
      .number()
      .int()
      .min(1024 * 1024),
    /** A single trigger larger than this is refused by the server. */
    maxMsgSize: z
      .number()
      .int()
      .min(1024)
      .max(8 * 1024 * 1024),
  })
  .refine((s) => s.duplicateWindowMs <= s.maxAgeMs, {
    message: 'must not exceed maxAgeMs',
    path: ['duplicateWindowMs'],
  });

const natsTriggers = z.strictObject({
  enabled: z.boolean(),
  /** null: the server in `nats.url`. */
  url: z
    .string()
    .regex(/^(nats|tls):\/\/.+/)
    .nullable(),
  /** Triggers go to `<subjectPrefix>.<alert type>`, e.g. `vigil.triggers.churn.risk`. */
  subjectPrefix: z.string().regex(subjectToken),
  stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** Create the stream over `<subjectPrefix>.>` with `streamLimits` if it does not exist. */
  createStream: z.boolean(),
  streamLimits,
  /** Alert types published; null: every marketing-facing type. */
  types: z.array(z.enum(alertTypes)).min(1).max(alertTypes.length).nullable(),
  /** Triggers waiting for the server past this many are dropped and counted (`overflow`). */
  maxQueue: z.number().int().min(1).max(1_000_000),
  /** Publishes awaiting their acknowledgement at once. */
  maxInFlight: z.number().int().min(1).max(4096),
  /** A publish not acknowledged in this time is retried (same Nats-Msg-Id, so never stored twice). */
  publishTimeoutMs: z.number().int().min(100),
  retry: backoffConfig,
});

const webhookSettings = z.strictObject({
  /** One attempt's limit, connection to last byte of the response head. */
  timeoutMs: z.number().int().min(10).max(120_000),
  /** Attempts per delivery, the first included. */
  maxAttempts: z.number().int().min(1).max(50),
  /** Deliveries waiting for this destination past this many are dropped and counted (`overflow`). */
  maxQueue: z.number().int().min(1).max(1_000_000),
  /** Requests to this destination at once. */
  concurrency: z.number().int().min(1).max(256),
  backoff: backoffConfig,
  /** A Retry-After longer than this is cut to it, so a receiver cannot park a delivery for days. */
  maxRetryAfterMs: ms,
});
export type WebhookSettings = z.infer<typeof webhookSettings>;

/** https anywhere; plain http only to this machine (a local relay or a test receiver). */
function acceptableUrl(u: string): boolean {
  try {
    const url = new URL(u);
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

export const webhookDestination = z
  .strictObject({
    /** Names the destination in stats, metrics and logs. */
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
    url: z.string().max(2048).refine(acceptableUrl, { message: 'must be an https URL (http only to localhost)' }),
    /** `whsec_` + base64 key; or give `secretEnv`, the name of an environment variable holding it. */
    secret: z
      .string()
      .regex(webhookSecretPattern, { message: 'must be whsec_ followed by a base64 key of at least 16 bytes' })
      .optional(),
    secretEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]{0,127}$/)
      .optional(),
    /** Which alerts it wants (types, segments, minSeverity, minScore); absent: every marketing alert. */
    filter: alertFilter.optional(),
    ...webhookSettings.partial().shape,
  })
  .refine((d) => (d.secret === undefined) !== (d.secretEnv === undefined), {
    message: 'give exactly one of secret and secretEnv',
    path: ['secret'],
  });
export type WebhookDestinationConfig = z.infer<typeof webhookDestination>;

export const triggersConfig = z.strictObject({
  /** The CloudEvents `source` of every trigger (a URI-reference), on NATS and in webhooks. */
  source: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/),
  nats: natsTriggers,
  webhooks: z.strictObject({
    defaults: webhookSettings,
    destinations: z
      .array(webhookDestination)
      .max(32)
      .refine((ds) => new Set(ds.map((d) => d.name)).size === ds.length, {
        message: 'destination names must be unique',
      }),
  }),
  pseudonymise: z.strictObject({
    /** HMAC key for customer pseudonyms (at least 32 characters); null: ids leave as they are. */
    secret: z.string().min(32).max(1024).nullable(),
  }),
});
export type TriggersConfig = z.infer<typeof triggersConfig>;
