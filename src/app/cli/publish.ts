import { loadConfig } from '../config/load.js';
import { VigilError } from '../../core/errors.js';
import { publishEvents, publishPayloads, type Outgoing } from '../../edges/nats/publisher.js';
import { readEventFile, type EventFileProgress } from '../../edges/files/event-file.js';
import { connectNats } from '../../edges/nats/nats-connection.js';
import { SyntheticShop } from '../../edges/demo/shop.js';
import { compact, ProgressLine } from './progress.js';

export interface PublishCliOptions {
  readonly natsUrl?: string | undefined;
  readonly file?: string | undefined;
  readonly events?: string | undefined;
  readonly rate?: string | undefined;
  readonly format?: string | undefined;
  readonly mode?: string | undefined;
  readonly subject?: string | undefined;
  readonly createStream?: string | undefined;
  readonly seed?: string | undefined;
  readonly customers?: string | undefined;
  readonly configFile?: string | undefined;
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new VigilError('VIGIL_ERR_USAGE', `--${name} must be a positive whole number, got '${value}'`);
  return n;
}

export interface PublishResult {
  readonly sent: number;
  /** With `--file`: how far it was read, and the bytes after a framing error that could not be. */
  readonly file?: EventFileProgress;
}

/**
 * `vigil publish`: the synthetic shop's events (to subjects `<subject>.<type>`), or a file's
 * messages as they are, good or bad (to `<subject>.replay`), sent to NATS at a rate or as fast
 * as the connection takes them, with a progress line.
 */
export async function publish(opts: PublishCliOptions): Promise<PublishResult> {
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const url = opts.natsUrl ?? config.nats.url;
  if (url === null) throw new VigilError('VIGIL_ERR_USAGE', 'publish needs --nats-url (or nats.url in the config)');
  const format = opts.format ?? 'msgpack';
  if (format !== 'msgpack' && format !== 'json')
    throw new VigilError('VIGIL_ERR_USAGE', `--format must be msgpack or json, got '${format}'`);
  const mode = opts.mode ?? 'core';
  if (mode !== 'core' && mode !== 'jetstream')
    throw new VigilError('VIGIL_ERR_USAGE', `--mode must be core or jetstream, got '${mode}'`);
  const subjectPrefix = opts.subject ?? 'shop.events';
  const rate = count('rate', opts.rate);
  const nc = await connectNats(url, mode, () => {});
  let sent = 0;
  const started = performance.now();
  const progress = new ProgressLine(
    () =>
      `published ${compact(sent)} messages, ${compact(sent / Math.max(1e-3, (performance.now() - started) / 1000))}/s`,
  ).start();
  const common = {
    subjectPrefix,
    mode,
    ...(rate !== undefined && { rate }),
    ...(opts.createStream !== undefined && { createStream: opts.createStream }),
    onProgress: (n: number) => (sent = n),
  } as const;
  let fileProgress: EventFileProgress | undefined;
  try {
    if (opts.file !== undefined) {
      const file = opts.file;
      const progress: EventFileProgress = (fileProgress = {
        bytesRead: 0,
        totalBytes: undefined,
        messages: 0,
        unreadableBytes: 0,
      });
      async function* fromFile(): AsyncGenerator<Outgoing> {
        for await (const run of readEventFile(file, { maxPayloadBytes: config.limits.maxPayloadBytes, progress })) {
          for (const m of run) yield { subject: `${subjectPrefix}.replay`, payload: m.bytes };
        }
      }
      sent = await publishPayloads(nc, fromFile(), common);
    } else {
      const shop = new SyntheticShop({
        seed: count('seed', opts.seed) ?? config.demo.seed,
        customers: count('customers', opts.customers) ?? config.demo.customers,
        products: config.demo.products,
        startTs: Date.now() - config.demo.historyDays * 86_400_000,
      });
      const n = count('events', opts.events) ?? 100_000;
      function* events() {
        for (let i = 0; i < n; i++) {
          const e = shop.next();
          if (e === undefined) return;
          yield e;
        }
      }
      sent = await publishEvents(nc, events(), { ...common, format });
    }
  } finally {
    progress.stop();
    await nc.drain();
  }
  return { sent, ...(fileProgress !== undefined && { file: fileProgress }) };
}
