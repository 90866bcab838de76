import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CaptureArena, measuringCopy } from '../src/app/checkpoint/capture-arena.js';
import { CheckpointWriteThread } from '../src/app/checkpoint/checkpoint-write-thread.js';

const dirs: string[] = [];
const threads: CheckpointWriteThread[] = [];
afterEach(async () => {
  for (const t of threads.splice(0)) await t.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function* pieces(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

describe('checkpoint writer thread', () => {
  it('writes shared, moved and pooled pieces byte for byte, and returns their SHA-256', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-wt-'));
    dirs.push(dir);
    const thread = new CheckpointWriteThread({ kind: 'files', dir, scope: 't' });
    threads.push(thread);
    const arena = new CaptureArena();
    const copy = arena.begin();
    const shared = copy(Uint8Array.from({ length: 100_000 }, (_, i) => i % 251));
    const own = Uint8Array.from([1, 2, 3]);
    const pooled = Buffer.from('a view of a larger pooled buffer'); // Node pools small Buffers
    const expected = Buffer.concat([shared, own, pooled]);
    const sha256 = await thread.write('t.0000000001.vck', pieces(shared, own, pooled));
    const written = await readFile(join(dir, 't.0000000001.vck'));
    expect(written.equals(expected)).toBe(true);
    expect(sha256).toBe(createHash('sha256').update(expected).digest('hex'));
    // The pooled buffer was copied, not moved: still readable here.
    expect(pooled.toString()).toBe('a view of a larger pooled buffer');
  });

  it('fails a write it cannot do with VIGIL_ERR_CHECKPOINT, and the thread lives on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-wt-'));
    dirs.push(dir);
    const blocker = join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const thread = new CheckpointWriteThread({ kind: 'files', dir: blocker, scope: 't' });
    threads.push(thread);
    await expect(thread.write('t.0000000001.vck', pieces(Uint8Array.from([1])))).rejects.toMatchObject({
      code: 'VIGIL_ERR_CHECKPOINT',
    });
    await expect(thread.touch([new SharedArrayBuffer(8)])).resolves.toBeUndefined();
  });
});

describe('capture arena', () => {
  it('uses reserved buffers only once adopted, and never a superseded reservation', async () => {
    const arena = new CaptureArena();
    const state = [new Uint8Array(10_000).fill(7), new Uint8Array(50_000).fill(9)];
    const sizes: number[] = [];
    for (const b of state) measuringCopy(sizes)(b);
    expect(sizes).toEqual([10_000, 50_000]);

    const first = arena.reserve(sizes);
    expect(first.memory).toHaveLength(2);
    const second = arena.reserve(sizes);
    arena.adopt(first.reservation); // superseded: nothing changes
    expect(arena.retainedBytes).toBe(0);

    // Touched elsewhere, as the writer thread does.
    const thread = new CheckpointWriteThread({ kind: 'files', dir: tmpdir(), scope: 't' });
    threads.push(thread);
    await thread.touch(second.memory);
    arena.adopt(second.reservation);
    expect(arena.retainedBytes).toBe(second.memory.reduce((s, m) => s + m.byteLength, 0));

    const copy = arena.begin();
    const copies = state.map((b) => copy(b));
    copies.forEach((c, i) => {
      expect(c.buffer).toBe(second.memory[i]);
      expect(Buffer.from(c).equals(Buffer.from(state[i]!))).toBe(true);
    });
    // Nothing new is needed for the same sizes.
    expect(arena.reserve(sizes).memory).toHaveLength(0);
  });
});
