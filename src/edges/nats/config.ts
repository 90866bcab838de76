import * as z from 'zod';
import { backoffConfig } from '../../core/backoff.js';

/** The `nats` section: where input comes from and where side outputs go. */
export const natsConfig = z.strictObject({
  /** Server to consume from; null runs the embedded demo instead. */
  url: z
    .string()
    .regex(/^(nats|tls):\/\/.+/)
    .nullable(),
  /** core: plain subscriptions (at most once); jetstream: a durable pull consumer (at least once). */
  mode: z.enum(['core', 'jetstream']),
  subjects: z.array(z.string().min(1)).min(1),
  stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  consumer: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** Create the stream over `subjects` if it does not exist (JetStream mode). */
  createStream: z.boolean(),
  /** Unacknowledged messages the server lets the consumer hold: the engine's flow control. */
  maxAckPending: z.number().int().min(1).max(1_000_000),
  /** The server redelivers a message not acknowledged within this time. */
  ackWaitMs: z.number().int().min(1000),
  /** Messages asked for per pull request. */
  pullBatch: z.number().int().min(1).max(100_000),
  /** Rejected messages go to `<deadLetterPrefix>.<reason>` with their original bytes. */
  deadLetterPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/),
  /** Late events go to `<lateSubjectPrefix>.<type>` with their original bytes (docs/nats.md). */
  lateSubjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/),
  /**
   * Dead letters and late events must land in a JetStream stream: with no stream capturing
   * their subject the engine stops acknowledging input until one does. Off, they are then
   * published on core NATS, unconfirmed (logged once).
   */
  requireCaptureStream: z.boolean(),
  /** How long a side output publish waits for the stream's ack before it is retried. */
  outputAckTimeoutMs: z.number().int().min(100).max(600_000),
  /** Delay between retries of a side output the stream refused (back-pressure: input waits). */
  outputRetry: backoffConfig,
  /** A message JetStream delivers more often than this is dead-lettered as VIGIL_ERR_POISON, unprocessed. */
  maxDeliveries: z.number().int().min(2).max(1000),
});
export type NatsConfig = z.infer<typeof natsConfig>;
