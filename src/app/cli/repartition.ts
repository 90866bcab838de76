import { jetstreamManager } from '@nats-io/jetstream';
import { VigilError } from '../../core/errors.js';
import { connectNats } from '../../edges/nats/nats-connection.js';
import { ensureStream } from '../../edges/nats/publisher.js';
import { loadConfig } from '../config/load.js';
import { Repartitioner } from '../partitions/repartition.js';
import { compact, ProgressLine } from './progress.js';

export interface RepartitionCliOptions {
  /** The unpartitioned feed's subject (one subject or a wildcard). */
  readonly from: string;
  /** Output subjects are `<to>.<partition>.<last token of the input subject>`. */
  readonly to: string;
  /** The stream holding the feed (default: the stream whose subjects take `from`). */
  readonly stream?: string | undefined;
  /** The durable consumer on the feed; a restart with the same name resumes where it was acknowledged. */
  readonly consumer?: string | undefined;
  /** Create this stream over `<to>.>` first if no stream of that name exists. */
  readonly createStream?: string | undefined;
  readonly partitions?: string | number | undefined;
  readonly natsUrl?: string | undefined;
  readonly configFile?: string | undefined;
  readonly progress?: boolean;
  /** Stops the step (SIGTERM, Ctrl-C): the round in flight is republished and acknowledged, then it returns. */
  readonly signal?: AbortSignal;
  /** Connection reports (stderr by default). */
  readonly log?: (line: string) => void;
}

export interface RepartitionResult {
  /** Messages read from the feed and acknowledged: republished + duplicates. */
  read: number;
  /** Republishes the output stream stored. */
  republished: number;
  /** Republishes the output stream already held (same `Nats-Msg-Id`): dropped. */
  duplicates: number;
  stream: string;
  consumer: string;
  partitions: number;
  seconds: number;
}

export const DEFAULT_REPARTITION_CONSUMER = 'vigil-repartition';

/**
 * `vigil repartition --from <subject> --to <prefix>`: the repartition step
 * (`Repartitioner`) as a long-running command. It reads the feed with a durable consumer,
 * republishes each message's bytes unchanged to its customer's partition subject with
 * `Nats-Msg-Id` `repartition:<stream>:<seq>`, and acknowledges the input only once the
 * output stream has stored the republish; so it can be stopped or killed at any point and
 * restarted: nothing is lost, and what is republished twice is dropped by the output stream
 * as a duplicate (within its duplicate window). Runs until `signal`.
 */
export async function repartition(opts: RepartitionCliOptions): Promise<RepartitionResult> {
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const url = opts.natsUrl ?? config.nats.url;
  if (url === null) throw new VigilError('VIGIL_ERR_USAGE', 'repartition needs --nats-url (or nats.url in the config)');
  const partitions = opts.partitions === undefined ? config.engine.partitions : partitionCount(opts.partitions);
  if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(opts.to))
    throw new VigilError('VIGIL_ERR_USAGE', `--to must be a subject prefix without wildcards (got '${opts.to}')`);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const nc = await connectNats(url, 'jetstream', log);
  try {
    const jsm = await jetstreamManager(nc);
    const stream = opts.stream ?? (await jsm.streams.find(opts.from).catch(() => undefined));
    if (stream === undefined)
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        `no JetStream stream stores '${opts.from}': give --stream, or create one over the feed's subject`,
      );
    if (opts.createStream !== undefined) await ensureStream(nc, opts.createStream, [`${opts.to}.>`]);
    const output = await jsm.streams.find(`${opts.to}.0.x`).catch(() => undefined);
    if (output === undefined)
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        `no JetStream stream stores '${opts.to}.>': republishes would be lost; give --create-stream NAME, or create one`,
      );
    if (output === stream)
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        `stream ${stream} stores both the feed and '${opts.to}.>': the output needs a stream of its own`,
      );
    const consumer = opts.consumer ?? DEFAULT_REPARTITION_CONSUMER;
    const step = new Repartitioner(nc, {
      stream,
      consumer,
      subject: opts.from,
      prefix: opts.to,
      partitions,
      maxPayloadBytes: config.limits.maxPayloadBytes,
      batch: config.nats.pullBatch,
    });
    const started = performance.now();
    const line = new ProgressLine(() => {
      const read = step.republished + step.duplicates;
      const secs = (performance.now() - started) / 1000;
      return (
        `repartition ${stream} → ${opts.to}.<p>: read ${compact(read)}, ${compact(read / Math.max(secs, 1e-3))}/s | ` +
        `republished ${compact(step.republished)} duplicates ${compact(step.duplicates)}`
      );
    });
    const stop = () => step.stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    if (opts.signal?.aborted) stop();
    if (opts.progress !== false) line.start();
    try {
      await step.run();
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      if (opts.progress !== false) line.stop();
    }
    return {
      read: step.republished + step.duplicates,
      republished: step.republished,
      duplicates: step.duplicates,
      stream,
      consumer,
      partitions,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await nc.drain();
  }
}

function partitionCount(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(Number.isInteger(n) && n >= 1 && n <= 4096))
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `--partitions must be a whole number from 1 to 4096, the engine's P (got ${JSON.stringify(String(value))})`,
    );
  return n;
}
