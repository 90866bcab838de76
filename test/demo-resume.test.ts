import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileCheckpoints } from '../src/app/checkpoint/file-checkpoints.js';
import { restoreLatest } from '../src/app/checkpoint/restore.js';
import { Engine } from '../src/app/engine.js';
import { InProcessSource } from '../src/edges/in-process.js';
import type { RawMessage } from '../src/core/source.js';
import { demoFeed } from '../src/edges/demo/demo-feed.js';
import { dump, testConfig } from './support/engine-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Long enough a history that neither run catches up: after catch-up the demo stamps its
// events with the wall clock, and only the history part of the feed is deterministic.
const demoEnv = {
  VIGIL_DEMO__CUSTOMERS: '3000',
  VIGIL_DEMO__EVENTS_PER_SECOND: '1500',
  VIGIL_DEMO__HISTORY_DAYS: '40',
  VIGIL_CHECKPOINT__INTERVAL_MS: '700',
};

/** `vigil start --state-dir` until a few summary lines are out, then Ctrl-C; its output. */
async function runDemo(args: string[] = []): Promise<string> {
  const child = spawn('node', ['dist/src/app/cli.js', 'start', '--port', '0', '--state-dir', dir, ...args], {
    env: { ...process.env, ...demoEnv },
  });
  let text = '';
  let interrupted = false;
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString();
    // Once: a second Ctrl-C is the user's way to force an exit.
    if (!interrupted && text.split('\n').filter((l) => l.includes(' ev/s | customers ')).length >= 3) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code, text).toBe(0);
  return text;
}

describe('the demo with --state-dir', () => {
  it('resumes after Ctrl-C where it stopped, with the state an uninterrupted run of the same feed leaves', async () => {
    const first = await runDemo();
    expect(first).toMatch(/no checkpoint in directory .*; starting empty/);
    expect(first).toMatch(/^final checkpoint \d+: \d+ bytes/m);
    const store = new FileCheckpoints(dir, 'demo');
    const afterFirst = (await store.latest())!;
    expect(afterFirst.position.messages).toBeGreaterThan(1000);

    const second = await runDemo();
    expect(second).not.toContain('(live)');
    expect(second).toContain(`restored checkpoint ${afterFirst.number} `);
    expect(second).toContain(`resuming after ${afterFirst.position.messages} messages`);
    const final = (await store.latest())!;
    expect(final.position.messages).toBeGreaterThan(afterFirst.position.messages);

    // The oracle: the same deterministic feed (its start is in the checkpoint), as many
    // messages as the two runs applied, through one engine without a stop.
    const config = testConfig(
      Object.fromEntries([['demo', { customers: 3000, eventsPerSecond: 1500, historyDays: 40 }]]),
    );
    const start = Number(/start=(\d+)$/.exec(final.position.source)![1]);
    const messages: RawMessage[] = [];
    for await (const run of demoFeed(config.demo, start).messages) {
      messages.push(...run.slice(0, final.position.messages - messages.length));
      if (messages.length === final.position.messages) break;
    }
    const oracle = new Engine(config);
    await oracle.run(new InProcessSource(messages, { name: 'demo', batchSize: 64, finite: false }));
    const resumed = new Engine(config);
    await restoreLatest(resumed, store, final.position.source);
    expect(resumed.state.counters.toJSON()).toEqual(oracle.state.counters.toJSON());
    expect(dump(resumed)).toEqual(dump(oracle));

    // --fresh-state discards the checkpoints and starts empty.
    const third = await runDemo(['--fresh-state']);
    expect(third).toContain('--fresh-state: checkpoints in directory');
    expect(third).toMatch(/no checkpoint in directory .*; starting empty/);
  }, 180_000);
});
