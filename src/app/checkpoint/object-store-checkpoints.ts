import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, setSha256Backend, type ObjectStore } from '@nats-io/obj';
import { VigilError } from '../../core/errors.js';
import { verify } from './file-checkpoints.js';
import {
  checkpointManifest,
  checkpointNames,
  checkpointNumber,
  prunedNames,
  type CheckpointManifest,
  type CheckpointStore,
  type CheckpointStoreSpec,
} from './checkpoint-store.js';

/**
 * Checkpoints in a JetStream Object Store bucket, the manifest in a KV bucket of the same
 * name under `<scope>.latest`. The Object Store writes an object's chunks first and its
 * metadata last, and the manifest is put only after that: a checkpoint cut short by a crash
 * is never named, and its chunks are purged at the next start (`prune`).
 */
export class ObjectStoreCheckpoints implements CheckpointStore {
  readonly describe: string;
  readonly spec: CheckpointStoreSpec;
  private pruned = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
    private readonly scope: string,
    private readonly objects: ObjectStore,
    private readonly kv: KV,
    private readonly chunkBytes: number,
    url: string,
  ) {
    this.describe = `JetStream object store ${bucket}`;
    this.spec = { kind: 'objects', url, bucket, scope, chunkBytes };
  }

  /** Opens (creating where missing) the bucket and its manifest KV; `url` is where `nc` connects. */
  static async open(
    nc: NatsConnection,
    url: string,
    bucket: string,
    scope: string,
    chunkBytes: number,
  ): Promise<ObjectStoreCheckpoints> {
    // The pure-JS digest would cost the engine's thread seconds per gigabyte.
    setSha256Backend('native');
    try {
      const objects = await new Objm(nc).create(bucket);
      const kv = await new Kvm(nc).create(bucket, { history: 1 });
      return new ObjectStoreCheckpoints(nc, bucket, scope, objects, kv, chunkBytes, url);
    } catch (e) {
      throw new VigilError(
        'VIGIL_ERR_CHECKPOINT',
        `cannot open the checkpoint buckets ${bucket} (object store and KV)`,
        [String((e as Error)?.message ?? e)],
        {
          cause: e,
        },
      );
    }
  }

  private get key(): string {
    return `${this.scope}.latest`;
  }

  async latest(): Promise<CheckpointManifest | undefined> {
    const entry = await this.guard('cannot read the checkpoint manifest', () => this.kv.get(this.key));
    if (entry === null || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    const parsed = checkpointManifest.safeParse(entry.json());
    if (!parsed.success)
      throw new VigilError('VIGIL_ERR_SNAPSHOT', `${this.bucket}/${this.key} is not a Vigil checkpoint manifest`, [
        parsed.error.message,
      ]);
    return parsed.data;
  }

  async read(manifest: CheckpointManifest): Promise<Uint8Array> {
    const bytes = await this.guard(`cannot read checkpoint ${manifest.name}`, async () => {
      const result = await this.objects.get(manifest.name);
      if (result === null) throw new Error('the object is missing');
      const out = new Uint8Array(result.info.size);
      let at = 0;
      const reader = result.data.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (at + value.byteLength > out.byteLength) throw new Error('the object is longer than its info says');
        out.set(value, at);
        at += value.byteLength;
      }
      const error = await result.error;
      if (error) throw error;
      return out.subarray(0, at);
    });
    verify(bytes, manifest);
    return bytes;
  }

  async write(name: string, chunks: AsyncIterable<Uint8Array>): Promise<string> {
    const iterator = chunks[Symbol.asyncIterator]();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
    });
    const info = await this.guard(`cannot write checkpoint ${name}`, () =>
      this.objects.put(
        { name, options: { max_chunk_size: Math.min(this.chunkBytes, this.nc.info?.max_payload ?? this.chunkBytes) } },
        stream,
      ),
    );
    return hexDigest(info.digest);
  }

  async commit(manifest: CheckpointManifest): Promise<void> {
    await this.guard('cannot write the checkpoint manifest', () => this.kv.put(this.key, JSON.stringify(manifest)));
  }

  /**
   * The first prune of a run lists the bucket (checkpoints left by earlier runs, chunks of
   * a write cut short); later ones delete by name the checkpoint that fell out of the last
   * `keep`, since every list costs the server a consumer.
   */
  async prune(keep: number): Promise<void> {
    const latest = await this.latest();
    if (latest === undefined) return;
    if (this.pruned) {
      const old = latest.number - keep;
      // Checkpoints of one run share the latest's layout (a restore refuses any other).
      if (old >= 1)
        for (const name of checkpointNames(this.scope, old, latest.partitioned))
          await this.objects.delete(name).catch(() => undefined);
      return;
    }
    const infos = await this.guard('cannot list checkpoints', () => this.objects.list());
    const names = infos.map((info) => info.name);
    for (const name of prunedNames(this.scope, names, latest.number, keep))
      await this.guard(`cannot delete checkpoint ${name}`, () => this.objects.delete(name));
    await this.purgeOrphanChunks(new Set(infos.map((i) => i.nuid)));
    this.pruned = true;
  }

  async clear(): Promise<void> {
    const infos = await this.guard('cannot list checkpoints', () => this.objects.list());
    await this.guard('cannot delete the checkpoint manifest', () => this.kv.delete(this.key));
    for (const info of infos)
      if (checkpointNumber(this.scope, info.name) !== undefined) await this.objects.delete(info.name);
  }

  /**
   * Chunks no object's metadata points to: a put cut short by a crash. Assumes one writer
   * per bucket, the engine itself, between its own writes.
   */
  private async purgeOrphanChunks(live: Set<string>): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const stream = `OBJ_${this.bucket}`;
    const prefix = `$O.${this.bucket}.C.`;
    const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}>` });
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      if (!live.has(subject.slice(prefix.length))) await jsm.streams.purge(stream, { filter: subject });
    }
  }

  private async guard<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof VigilError) throw e;
      throw new VigilError('VIGIL_ERR_CHECKPOINT', `${what} (${this.describe})`, [String((e as Error)?.message ?? e)], {
        cause: e,
      });
    }
  }
}

/** The Object Store's digest of what it stored (`SHA-256=<base64url>`), as the manifest's hex. */
function hexDigest(digest: string): string {
  const prefix = 'SHA-256=';
  if (!digest.startsWith(prefix))
    throw new VigilError(
      'VIGIL_ERR_CHECKPOINT',
      `the object store gave an unknown digest type: ${digest.slice(0, 16)}`,
    );
  return Buffer.from(digest.slice(prefix.length), 'base64url').toString('hex');
}
