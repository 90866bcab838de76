import { marketingAlertTypes, type Alert } from '../../alerts/alert.js';
import { VigilError } from '../../core/errors.js';
import { matcher } from '../../alerts/alert-filter.js';
import type { TriggersConfig, WebhookSettings } from './config.js';
import { webhookKey, webhookSecretPattern } from './webhook-signature.js';

/** A destination with its defaults filled in, its secret read and its filter compiled. */
export interface WebhookDestination extends WebhookSettings {
  readonly name: string;
  readonly url: string;
  /** Key bytes of the `whsec_` secret. */
  readonly key: Buffer;
  readonly wants: (alert: Alert) => boolean;
}

/**
 * Resolves `triggers.webhooks`: each destination over `defaults`, a `secretEnv` read from
 * `env`. Errors name the destination and the variable, never a secret's value.
 */
export function resolveWebhooks(
  cfg: TriggersConfig['webhooks'],
  env: Record<string, string | undefined>,
): WebhookDestination[] {
  return cfg.destinations.map((d) => {
    let secret = d.secret;
    if (d.secretEnv !== undefined) {
      secret = env[d.secretEnv];
      if (secret === undefined || !webhookSecretPattern.test(secret)) {
        throw new VigilError(
          'VIGIL_ERR_CONFIG',
          `webhook ${d.name}: environment variable ${d.secretEnv} must hold a whsec_ secret`,
          ['whsec_ followed by a base64 key of at least 16 bytes'],
        );
      }
    }
    const marketing = matcherOfMarketing();
    const own = matcher(d.filter ?? {});
    const def = cfg.defaults;
    return {
      timeoutMs: d.timeoutMs ?? def.timeoutMs,
      maxAttempts: d.maxAttempts ?? def.maxAttempts,
      maxQueue: d.maxQueue ?? def.maxQueue,
      concurrency: d.concurrency ?? def.concurrency,
      backoff: d.backoff ?? def.backoff,
      maxRetryAfterMs: d.maxRetryAfterMs ?? def.maxRetryAfterMs,
      name: d.name,
      url: d.url,
      key: webhookKey(secret!),
      wants: (a: Alert) => marketing(a) && own(a),
    };
  });
}

function matcherOfMarketing(): (a: Alert) => boolean {
  const types = new Set<string>(marketingAlertTypes);
  return (a) => types.has(a.type);
}
