import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureArena } from '../src/app/checkpoint/capture-arena.js';
import { CheckpointWriter, readCheckpoint } from '../src/app/checkpoint/checkpoint-codec.js';
import { checkpointName, type CheckpointManifest } from '../src/app/checkpoint/checkpoint-store.js';
import { Checkpointer } from '../src/app/checkpoint/checkpointer.js';
import { FileCheckpoints } from '../src/app/checkpoint/file-checkpoints.js';
import { restoreLatest } from '../src/app/checkpoint/restore.js';
import type { VigilConfig } from '../src/app/config/schema.js';
import { Engine } from '../src/app/engine.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import type { StateSnapshot } from '../src/app/engine-state.js';
import { dump, runMessages, testConfig } from './support/engine-harness.js';
import { shopMessages } from './support/shop-alerts.js';

const config = testConfig();
// More than 1,024 customers, so the customer ids travel as an array part, not in the preamble.
const messages = shopMessages(9000, 4, 3);
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-ckpt-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const clocks = { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 };
const newEngine = (c: VigilConfig = config) => new Engine(c, clocks);

/** Runs `msgs` through `engine` as a live (never ending) input, checkpointing after every `every` batches. */
async function runCheckpointed(
  engine: Engine,
  msgs: readonly RawMessage[],
  store: FileCheckpoints,
  every: number,
  last?: CheckpointManifest,
) {
  let completed = 0;
  const checkpointer = new Checkpointer(engine, store, {
    scope: 'test',
    source: 'test-input',
    intervalMs: 1,
    keep: 2,
    chunkBytes: 64 * 1024,
    last,
    log: () => {},
    // Due after every `every` completed batches: the clock is the batch count.
    now: () => Math.floor(completed / every) * 10,
  });
  await engine.run(new InProcessSource(msgs, { name: 'test', batchSize: 97, finite: false }), {
    onBatchCompleted: (n) => {
      completed = n;
      checkpointer.batchCompleted(n);
    },
  });
  // A life ends with no checkpoint in flight (a crash leaves the last committed one, and its prune done).
  await checkpointer.settled();
  return checkpointer;
}

describe('checkpoints', () => {
  it("a checkpoint's bytes restore the same state, its large parts written piece by piece", async () => {
    const { engine } = await runMessages(config, messages, { finite: false });
    expect(engine.state.store.size).toBeGreaterThan(8192);
    const arena = new CaptureArena();
    for (let round = 0; round < 2; round++) {
      // The second round reuses the arena's buffers.
      const writer = new CheckpointWriter({ n: round }, engine.state.capture(arena.begin()), 4096);
      const chunks = [...writer.chunks()];
      // Buffers go in pieces of the chunk size; long arrays (the customer ids) in runs of 1,024.
      expect(chunks.length).toBeGreaterThan(writer.bytes / 4096 / 2);
      expect(Math.max(...chunks.slice(1).map((c) => c.byteLength))).toBeLessThan(256 * 1024);
      // The preamble: the document's small parts (analytics' per-category and per-campaign
      // summaries, bounded by their configured caps), not the per-customer state.
      expect(chunks[0]!.byteLength).toBeLessThan(1024 * 1024);
      const bytes = Buffer.concat(chunks);
      expect(writer.bytes).toBe(bytes.byteLength);
      const { header, doc } = readCheckpoint<{ n: number }>(bytes);
      expect(header).toEqual({ n: round });
      const restored = newEngine();
      restored.state.restoreCapture(doc as StateSnapshot, 0);
      expect(Buffer.from(restored.state.snapshot()).equals(Buffer.from(engine.state.snapshot()))).toBe(true);
    }
    expect(arena.retainedBytes).toBeGreaterThan(engine.state.store.size * 100);
  });

  it('restoring the latest checkpoint taken mid-run and replaying from its position ends where an uninterrupted run ends', async () => {
    const whole = await runMessages(config, messages, { finite: false, batchSize: 97 });
    const store = new FileCheckpoints(tempDir(), 'test');
    // The first life: crashes (stops without a final checkpoint) after 70% of the input.
    const cut = Math.floor(messages.length * 0.7);
    const first = newEngine();
    const checkpointer = await runCheckpointed(first, messages.slice(0, cut), store, 40);
    expect(checkpointer.stats.written).toBeGreaterThanOrEqual(1);
    expect(checkpointer.stats.failed).toBe(0);
    const manifest = (await store.latest())!;
    // Taken while the input ran: what came after it is read again by the second life.
    expect(manifest.position.messages).toBeGreaterThan(0);
    expect(manifest.position.messages).toBeLessThanOrEqual(cut);
    // The second life: restore, then the input from the checkpoint's position on.
    const second = newEngine();
    expect((await restoreLatest(second, store, 'test-input'))?.number).toBe(manifest.number);
    expect(second.state.counters.input).toBe(manifest.position.messages);
    await runCheckpointed(second, messages.slice(manifest.position.messages), store, 40, manifest);
    expect(dump(second)).toEqual(dump(whole.engine));
    expect(Buffer.from(second.state.snapshot()).equals(Buffer.from(whole.engine.state.snapshot()))).toBe(true);
    // Only the newest `keep` checkpoints remain.
    expect(readdirSync(store['dir']).filter((n) => n.endsWith('.vck')).length).toBe(2);
  });

  it('never uses a half-written checkpoint, and prunes it', async () => {
    const dir = tempDir();
    const store = new FileCheckpoints(dir, 'test');
    const engine = newEngine();
    const checkpointer = await runCheckpointed(engine, messages.slice(0, 5000), store, 1000);
    expect(await checkpointer.final()).toBe(true);
    const manifest = (await store.latest())!;
    // A crash while writing the next one: its bytes are there, cut short, and no manifest names it.
    const next = checkpointName('test', manifest.number + 1);
    const full = readFileSync(join(dir, manifest.name));
    writeFileSync(join(dir, `.${next}.tmp-1234`), full.subarray(0, full.length >> 1));
    writeFileSync(join(dir, next), full.subarray(0, full.length >> 1));
    expect((await store.latest())!.name).toBe(manifest.name);
    const restored = newEngine();
    await restoreLatest(restored, store, 'test-input');
    expect(dump(restored)).toEqual(dump(engine));
    await store.prune(3);
    expect(readdirSync(dir).some((n) => n.includes('.tmp-'))).toBe(false);
  });

  it("refuses a corrupt checkpoint, another input's, or one of other windows, with VIGIL_ERR_SNAPSHOT and the way out", async () => {
    const dir = tempDir();
    const store = new FileCheckpoints(dir, 'test');
    const engine = newEngine();
    const checkpointer = await runCheckpointed(engine, messages.slice(0, 3000), store, 1000);
    await checkpointer.final();
    const refusal = expect.objectContaining({
      code: 'VIGIL_ERR_SNAPSHOT',
      message: expect.stringContaining('--fresh-state'),
    });
    await expect(restoreLatest(newEngine(), store, 'other-input')).rejects.toEqual(refusal);
    const otherWindows = testConfig({ state: { windows: [{ name: 'x', horizonMs: 60000, buckets: 2 }] } });
    await expect(restoreLatest(newEngine(otherWindows), store, 'test-input')).rejects.toEqual(refusal);
    const manifest = (await store.latest())!;
    const bytes = readFileSync(join(dir, manifest.name));
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(join(dir, manifest.name), bytes);
    await expect(restoreLatest(newEngine(), store, 'test-input')).rejects.toEqual(
      expect.objectContaining({ code: 'VIGIL_ERR_SNAPSHOT' }),
    );
  });
});
