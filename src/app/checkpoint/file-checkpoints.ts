import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError } from '../../core/errors.js';
import {
  checkpointManifest,
  checkpointNumber,
  prunedNames,
  type CheckpointManifest,
  type CheckpointStore,
  type CheckpointStoreSpec,
} from './checkpoint-store.js';

/**
 * Checkpoints as files in a local directory (`--state-dir`, `checkpoint.dir`): the embedded
 * demo and `replay` without NATS. A file is written under a temporary name, fsynced and
 * renamed, and the directory fsynced, so a crash leaves either the whole file or none; the
 * manifest is replaced the same way, after the checkpoint it names.
 */
export class FileCheckpoints implements CheckpointStore {
  readonly describe: string;
  readonly spec: CheckpointStoreSpec;

  constructor(
    private readonly dir: string,
    private readonly scope: string,
  ) {
    this.describe = `directory ${dir}`;
    this.spec = { kind: 'files', dir, scope };
  }

  private get manifestPath(): string {
    return join(this.dir, `${this.scope}.manifest.json`);
  }

  async latest(): Promise<CheckpointManifest | undefined> {
    let text: string;
    try {
      text = await readFile(this.manifestPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.error('cannot read the checkpoint manifest', e);
    }
    const parsed = checkpointManifest.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new VigilError('VIGIL_ERR_SNAPSHOT', `${this.manifestPath} is not a Vigil checkpoint manifest`, [
        parsed.error.message,
      ]);
    return parsed.data;
  }

  async read(manifest: CheckpointManifest): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, manifest.name));
    } catch (e) {
      throw this.error(`cannot read checkpoint ${manifest.name}`, e);
    }
    verify(bytes, manifest);
    return bytes;
  }

  async write(name: string, chunks: AsyncIterable<Uint8Array>): Promise<string> {
    try {
      await mkdir(this.dir, { recursive: true });
      const hash = createHash('sha256');
      await this.writeAtomically(name, hashed(chunks, hash));
      return hash.digest('hex');
    } catch (e) {
      throw this.error(`cannot write checkpoint ${name}`, e);
    }
  }

  async commit(manifest: CheckpointManifest): Promise<void> {
    const text = JSON.stringify(manifest, null, 2) + '\n';
    try {
      await this.writeAtomically(
        `${this.scope}.manifest.json`,
        (async function* () {
          yield new TextEncoder().encode(text);
        })(),
      );
    } catch (e) {
      throw this.error('cannot write the checkpoint manifest', e);
    }
  }

  async prune(keep: number): Promise<void> {
    const latest = await this.latest();
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of prunedNames(this.scope, names, latest?.number ?? Infinity, keep))
      await rm(join(this.dir, name), { force: true });
    for (const name of names)
      if (name.startsWith(`.${this.scope}.`) && name.includes('.tmp-')) await rm(join(this.dir, name), { force: true });
  }

  async clear(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await rm(this.manifestPath, { force: true });
    for (const name of names)
      if (checkpointNumber(this.scope, name) !== undefined) await rm(join(this.dir, name), { force: true });
  }

  private async writeAtomically(name: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const tmp = join(this.dir, `.${name}.tmp-${process.pid}`);
    const file = await open(tmp, 'w');
    try {
      for await (const chunk of chunks) await file.write(chunk);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(this.dir, name));
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private error(what: string, e: unknown): VigilError {
    return new VigilError('VIGIL_ERR_CHECKPOINT', `${what} in ${this.dir}`, [String((e as Error)?.message ?? e)], {
      cause: e,
    });
  }
}

async function* hashed(chunks: AsyncIterable<Uint8Array>, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Refuses bytes that are not the checkpoint the manifest names (truncated, or another). */
export function verify(bytes: Uint8Array, manifest: CheckpointManifest): void {
  if (bytes.byteLength !== manifest.bytes) {
    throw new VigilError(
      'VIGIL_ERR_SNAPSHOT',
      `checkpoint ${manifest.name} has ${bytes.byteLength} bytes, its manifest says ${manifest.bytes}`,
    );
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== manifest.sha256)
    throw new VigilError('VIGIL_ERR_SNAPSHOT', `checkpoint ${manifest.name} does not match its manifest's SHA-256`);
}
