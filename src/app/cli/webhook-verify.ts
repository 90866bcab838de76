import { VigilError } from '../../core/errors.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  verifyWebhook,
  type WebhookVerdict,
} from '../../delivery/marketing/webhook-signature.js';

export interface WebhookVerifyOptions {
  /** `--secret`; else the environment variable `secretEnv` names (kept out of shell history and `ps`). */
  readonly secret?: string | undefined;
  /**
   * `--secret-env`: the variable holding the secret, as a destination's `secretEnv` names it;
   * WEBHOOK_SECRET by default. Not a VIGIL_* name: those are configuration settings.
   */
  readonly secretEnv?: string | undefined;
  readonly id?: string | undefined;
  readonly timestamp?: string | undefined;
  readonly signature?: string | undefined;
  readonly tolerance?: string | undefined;
}

export const DEFAULT_SECRET_ENV = 'WEBHOOK_SECRET';

/** Bodies are small JSON documents; a larger stdin is refused rather than read without bound. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(input: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of input) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > MAX_BODY_BYTES)
      throw new VigilError('VIGIL_ERR_USAGE', `webhook verify: the body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** `vigil webhook verify`: checks a received delivery's Standard Webhooks signature. */
export function webhookVerify(
  opts: WebhookVerifyOptions,
  body: Uint8Array,
  env: Record<string, string | undefined>,
): WebhookVerdict {
  const secretEnv = opts.secretEnv ?? DEFAULT_SECRET_ENV;
  const secret = opts.secret ?? env[secretEnv];
  if (secret === undefined || opts.id === undefined || opts.timestamp === undefined || opts.signature === undefined) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `webhook verify needs --id, --timestamp, --signature and --secret (or ${secretEnv} set), the body on stdin`,
    );
  }
  const tolerance = opts.tolerance === undefined ? DEFAULT_TOLERANCE_SECONDS : Number(opts.tolerance);
  if (!Number.isInteger(tolerance) || tolerance < 0)
    throw new VigilError('VIGIL_ERR_USAGE', '--tolerance is a whole number of seconds');
  try {
    return verifyWebhook({
      secret,
      id: opts.id,
      timestamp: opts.timestamp,
      signature: opts.signature,
      body,
      toleranceSeconds: tolerance,
    });
  } catch {
    throw new VigilError('VIGIL_ERR_USAGE', 'webhook verify: the secret is not whsec_ followed by a base64 key');
  }
}
