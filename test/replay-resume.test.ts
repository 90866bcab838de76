import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileCheckpoints } from '../src/app/checkpoint/file-checkpoints.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const events = join(dir, 'events.msgpack');
// Checkpoints often, so a kill lands between two of them.
const env = { ...process.env, VIGIL_CHECKPOINT__INTERVAL_MS: '300' };

function vigil(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn('node', ['dist/src/app/cli.js', ...args], { env });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => text, exit };
}

/** Waits until `dir/<scope>.manifest.json` names a checkpoint past `after`. */
async function checkpointAfter(stateDir: string, after: number): Promise<number> {
  const store = new FileCheckpoints(stateDir, 'replay');
  for (;;) {
    const latest = existsSync(join(stateDir, 'replay.manifest.json')) ? await store.latest() : undefined;
    if (latest !== undefined && latest.number > after) return latest.number;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('replay --state-dir', () => {
  it('killed (-9) and stopped (Ctrl-C) half-way, resumes to the state of an uninterrupted replay', async () => {
    const gen = vigil([
      'generate',
      '--out',
      events,
      '--events',
      '250000',
      '--customers',
      '20000',
      '--format',
      'msgpack',
      '--seed',
      '7',
    ]);
    expect(await gen.exit, gen.output()).toBe(0);

    const oracle = vigil(['replay', events, '--quiet', '--dump-state', join(dir, 'oracle.jsonl')]);
    expect(await oracle.exit, oracle.output()).toBe(0);

    const stateDir = join(dir, 'state');
    // A crash: killed once a checkpoint is out, before the end.
    const first = vigil(['replay', events, '--quiet', '--state-dir', stateDir]);
    await Promise.race([checkpointAfter(stateDir, 0), first.exit]);
    first.child.kill('SIGKILL');
    expect(await first.exit, first.output()).toBeNull();
    const afterKill = (await new FileCheckpoints(stateDir, 'replay').latest())!;
    expect(afterKill.position.messages).toBeLessThan(250_000);

    // A stop: Ctrl-C after one more checkpoint; a final checkpoint is written.
    const second = vigil(['replay', events, '--quiet', '--state-dir', stateDir]);
    await Promise.race([checkpointAfter(stateDir, afterKill.number), second.exit]);
    second.child.kill('SIGINT');
    const secondCode = await second.exit;
    expect(second.output()).toContain(`restored checkpoint ${afterKill.number} `);
    expect(second.output()).toContain(`resuming after ${afterKill.position.messages} messages`);
    if (secondCode !== 0) {
      // Stopped before the end (the usual case): says how to go on.
      expect(secondCode, second.output()).toBe(130);
      expect(second.output()).toMatch(/checkpoint \d+ written; the same command resumes from it/);
    }

    const third = vigil([
      'replay',
      events,
      '--quiet',
      '--state-dir',
      stateDir,
      '--dump-state',
      join(dir, 'resumed.jsonl'),
    ]);
    expect(await third.exit, third.output()).toBe(0);
    expect(third.output()).toMatch(/restored checkpoint \d+ /);
    const oracleCounts = /replayed \d+ messages in [\d.]+ s: (\{.*\}); \d+ customers/.exec(oracle.output())![1];
    const resumedCounts = /replayed \d+ messages in [\d.]+ s: (\{.*\}); \d+ customers/.exec(third.output())![1];
    expect(JSON.parse(resumedCounts!)).toEqual(JSON.parse(oracleCounts!));
    expect(readFileSync(join(dir, 'resumed.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'oracle.jsonl'), 'utf8'));

    // Another file is refused, with the way out.
    const other = vigil(['replay', join(dir, 'oracle.jsonl'), '--quiet', '--state-dir', stateDir]);
    expect(await other.exit).not.toBe(0);
    expect(other.output()).toContain('VIGIL_ERR_SNAPSHOT');
    expect(other.output()).toContain('--fresh-state');
  }, 300_000);
});
