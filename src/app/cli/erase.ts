import { loadConfig } from '../config/load.js';
import { isCustomerId } from '../erasure/erasure.js';
import { FileSuppressionStore } from '../erasure/file-store.js';
import type { ErasureReply } from '../erasure/wiring.js';
import { VigilError } from '../../core/errors.js';
import { connectNats } from '../../edges/nats/nats-connection.js';

export interface EraseOptions {
  readonly customer?: string | undefined;
  readonly natsUrl?: string | undefined;
  readonly configFile?: string | undefined;
}

/**
 * `vigil erase --customer ID`: with NATS (`--nats-url` or `nats.url`), a request on
 * `erasure.subject` that the running engine answers once the customer is erased; without,
 * the id is added to `erasure.file`, which running engines reload within `erasure.reloadMs`.
 * Prints what was done, never the id.
 */
export async function erase(opts: EraseOptions): Promise<string> {
  const id = opts.customer;
  if (id === undefined || !isCustomerId(id))
    throw new VigilError('VIGIL_ERR_USAGE', 'erase needs --customer ID (1 to 128 characters)');
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const url = opts.natsUrl ?? config.nats.url;
  if (url !== null) {
    const nc = await connectNats(url, 'core', () => {});
    try {
      let reply: ErasureReply;
      try {
        const m = await nc.request(config.erasure.subject, new TextEncoder().encode(id), { timeout: 10_000 });
        reply = JSON.parse(new TextDecoder().decode(m.data)) as ErasureReply;
      } catch (e) {
        throw new VigilError(
          'VIGIL_ERR_ERASURE',
          `no engine answered on ${config.erasure.subject}`,
          [(e as Error).message],
          { cause: e },
        );
      }
      if (!reply.ok)
        throw new VigilError(
          'VIGIL_ERR_ERASURE',
          `the engine refused the erasure: ${reply.error.code} ${reply.error.message}`,
        );
      return `erased (${reply.existed ? 'was in state' : 'was not in state'}; ${reply.alertsDropped} held alerts dropped); suppressed from now on`;
    } finally {
      await nc.close();
    }
  }
  if (config.erasure.file === null)
    throw new VigilError('VIGIL_ERR_USAGE', 'erase needs --nats-url (or nats.url), or erasure.file in the config');
  await new FileSuppressionStore(config.erasure.file, config.erasure).add(id);
  return `added to ${config.erasure.file}; running engines erase it within ${config.erasure.reloadMs} ms`;
}
