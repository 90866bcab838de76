import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { VigilConfig } from '../config/schema.js';
import { isVigilError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { EngineState } from '../engine-state.js';
import { Erasure } from './erasure.js';
import { FileSuppressionStore } from './file-store.js';
import { KvSuppressionStore } from './kv-store.js';
import type { SuppressionStore } from './suppression-store.js';

export interface OpenErasure {
  readonly erasure: Erasure;
  close(): Promise<void>;
}

/** The reply to an erasure request on `erasure.subject`. */
export type ErasureReply =
  { ok: true; existed: boolean; alertsDropped: number } | { ok: false; error: { code: string; message: string } };

/**
 * Erasure for a running engine: the suppression list in JetStream KV when the engine has a
 * NATS connection, else in `erasure.file` (else in memory), followed live; and with NATS,
 * requests on `erasure.subject` (the id as the body, answered with an `ErasureReply`).
 */
export async function openErasure(
  config: VigilConfig,
  state: EngineState,
  opts: {
    nc?: NatsConnection | undefined;
    logger?: Logger;
    /** Also told of every erasure, the suppression list's at start included (the partition workers). */
    forward?: (customerId: string) => void;
    /** Also told of every erasure, answering whether it held the customer (the partition workers); instead of `forward`. */
    held?: (customerId: string) => Promise<boolean>;
  } = {},
): Promise<OpenErasure> {
  const cfg = config.erasure;
  const log = opts.logger ?? createLogger(config.server.logLevel);
  let store: SuppressionStore | undefined;
  if (opts.nc !== undefined) {
    try {
      store = await new KvSuppressionStore(opts.nc, cfg.kvBucket).open();
    } catch (e) {
      // A server without JetStream (core mode): the file, if any, keeps erasures across restarts.
      log.warn(
        { err: (e as Error).message, bucket: cfg.kvBucket },
        'erasure: JetStream KV unavailable, using erasure.file',
      );
    }
  }
  if (store === undefined && cfg.file !== null) store = new FileSuppressionStore(cfg.file, cfg);
  const erasure = new Erasure(state, store, log, config.triggers.pseudonymise.secret);
  const forward = opts.forward;
  if (forward !== undefined)
    erasure.onErase((customerId) => {
      forward(customerId);
      return 0;
    });
  if (opts.held !== undefined) erasure.onEraseHeld(opts.held);
  await erasure.start();
  let sub: Subscription | undefined;
  if (opts.nc !== undefined) {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    sub = opts.nc.subscribe(cfg.subject, {
      callback: (err, m) => {
        if (err !== null) return;
        const answer = (reply: ErasureReply) => m.respond(new TextEncoder().encode(JSON.stringify(reply)));
        let id: string;
        try {
          id = decoder.decode(m.data);
        } catch {
          answer({
            ok: false,
            error: { code: 'VIGIL_ERR_USAGE', message: 'the body must be the customer id in UTF-8' },
          });
          return;
        }
        erasure.erase(id, 'nats').then(
          (r) => answer({ ok: true, ...r }),
          (e: unknown) =>
            answer({
              ok: false,
              error: isVigilError(e)
                ? { code: e.code, message: e.message }
                : { code: 'VIGIL_ERR_ERASURE', message: 'erasure failed' },
            }),
        );
      },
    });
  }
  return {
    erasure,
    close: async () => {
      sub?.unsubscribe();
      await erasure.close();
    },
  };
}
