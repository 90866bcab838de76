import { createHash } from 'node:crypto';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { VigilError } from '../../core/errors.js';
import type { SuppressionStore } from './suppression-store.js';

/**
 * The suppression list in a JetStream KV bucket, laid out as KV buckets are (stream
 * `KV_<bucket>` over `$KV.<bucket>.>`, one message kept per key), so `nats kv` tools read it.
 * The key is the SHA-256 of the id (KV keys allow few characters; ids may hold any), the
 * value the id. `add` resolves when the stream has stored it; an ordered consumer from the
 * start hands every id, then each new one, to the engine: every engine on the bucket sees an
 * erasure made by any of them or by `vigil erase`.
 */
export class KvSuppressionStore implements SuppressionStore {
  private messages: ConsumerMessages | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
  ) {}

  private get stream(): string {
    return `KV_${this.bucket}`;
  }

  private subject(key: string): string {
    return `$KV.${this.bucket}.${key}`;
  }

  /** Creates the bucket's stream when it does not exist. */
  async open(): Promise<this> {
    const jsm = await jetstreamManager(this.nc);
    try {
      await jsm.streams.info(this.stream);
    } catch {
      await jsm.streams.add({
        name: this.stream,
        subjects: [this.subject('>')],
        max_msgs_per_subject: 1,
        allow_rollup_hdrs: true,
        deny_delete: true,
      });
    }
    return this;
  }

  async add(customerId: string): Promise<void> {
    const key = createHash('sha256').update(customerId).digest('hex');
    try {
      await jetstream(this.nc).publish(this.subject(key), new TextEncoder().encode(customerId));
    } catch (e) {
      throw new VigilError(
        'VIGIL_ERR_ERASURE',
        `cannot record the erasure in KV bucket ${this.bucket}`,
        [(e as Error).message],
        { cause: e },
      );
    }
  }

  async watch(onIds: (ids: readonly string[]) => void): Promise<void> {
    const js = jetstream(this.nc);
    const jsm = await jetstreamManager(this.nc);
    const stored = (await jsm.streams.info(this.stream)).state.last_seq;
    // The stream holds only the bucket's subjects: no filter (filter_subjects needs nats-server 2.10).
    const consumer = await js.consumers.get(this.stream, { deliver_policy: DeliverPolicy.All });
    const decoder = new TextDecoder();
    let caughtUp: () => void = () => {};
    const loaded = new Promise<void>((resolve) => (caughtUp = resolve));
    if (stored === 0) caughtUp();
    this.messages = await consumer.consume({
      callback: (m) => {
        onIds([decoder.decode(m.data)]);
        if (m.info.streamSequence >= stored) caughtUp();
      },
    });
    await loaded;
  }

  async close(): Promise<void> {
    await this.messages?.close();
  }
}
