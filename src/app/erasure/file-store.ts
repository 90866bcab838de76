import { unwatchFile, watchFile } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { SuppressionList } from '../../alerts/suppression.js';
import { VigilError } from '../../core/errors.js';
import type { SuppressionStore } from './suppression-store.js';

/**
 * The suppression list as a local file: a JSON array of ids (the format `alerts.suppression`
 * reads too). An erasure rewrites it whole, to a temporary file renamed over it, so a reader
 * never sees half of it; a change made by another process (`vigil erase`) is seen within
 * `reloadMs` (the file's mtime is polled). A missing file is an empty list.
 */
export class FileSuppressionStore implements SuppressionStore {
  private writing: Promise<void> = Promise.resolve();
  private watching = false;

  constructor(
    private readonly path: string,
    private readonly opts: { reloadMs: number; maxIds: number },
  ) {}

  async read(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new VigilError(
        'VIGIL_ERR_ERASURE',
        `cannot read the suppression list ${this.path}`,
        [(e as Error).message],
        { cause: e },
      );
    }
    return [...SuppressionList.parse(text, this.opts.maxIds).values()];
  }

  add(customerId: string): Promise<void> {
    // One rewrite at a time, each over the list as the previous left it.
    const next = this.writing.then(async () => {
      const ids = new Set(await this.read());
      if (ids.has(customerId)) return;
      ids.add(customerId);
      if (ids.size > this.opts.maxIds)
        throw new VigilError('VIGIL_ERR_ERASURE', `the suppression list is full (erasure.maxIds ${this.opts.maxIds})`);
      const tmp = `${this.path}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify([...ids]) + '\n', { mode: 0o600 });
        await rename(tmp, this.path);
      } catch (e) {
        throw new VigilError(
          'VIGIL_ERR_ERASURE',
          `cannot write the suppression list ${this.path}`,
          [(e as Error).message],
          { cause: e },
        );
      }
    });
    this.writing = next.catch(() => {});
    return next;
  }

  async watch(onIds: (ids: readonly string[]) => void): Promise<void> {
    onIds(await this.read());
    this.watching = true;
    watchFile(this.path, { interval: this.opts.reloadMs, persistent: false }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size) return;
      this.read().then(onIds, () => {}); // a list that does not parse now is read again at its next change
    });
  }

  close(): Promise<void> {
    if (this.watching) unwatchFile(this.path);
    this.watching = false;
    return this.writing;
  }
}
