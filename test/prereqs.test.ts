import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * scripts/ensure-prereqs.sh, `npm test`'s first step, on a machine made to look fresh: a PATH
 * holding only `node` and `id` (no nats-server), a browser path that does not exist, and
 * installing forbidden (as a non-root user would be). It must stop in one line naming what to
 * install, never run on into the tests' ENOENT traces.
 */
const script = new URL('../scripts/ensure-prereqs.sh', import.meta.url).pathname;
const bin = mkdtempSync(join(tmpdir(), 'vigil-prereqs-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function run(env: Record<string, string>) {
  return spawnSync('/bin/bash', [script], { env: { VIGIL_PREREQ_INSTALL: '0', ...env }, encoding: 'utf8' });
}

describe('test prerequisites check', () => {
  it('names nats-server and chromium in one line when both are missing', () => {
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(spawnSync('/bin/sh', ['-c', 'command -v id'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'id'));
    const r = run({ PATH: bin, VIGIL_PREREQ_CHROMIUM: join(bin, 'no-chromium') });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'vigil: the tests need nats-server chromium; install with: sudo apt-get install -y nats-server chromium (Debian/Ubuntu), then rerun',
    ]);
  });

  it('names only what is missing', () => {
    const fakeBrowser = join(bin, 'chromium');
    writeFileSync(fakeBrowser, '#!/bin/sh\n');
    chmodSync(fakeBrowser, 0o755);
    const r = run({ PATH: bin, VIGIL_PREREQ_CHROMIUM: fakeBrowser });
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('apt-get install -y nats-server ');
    expect(r.stderr).not.toContain('chromium;');
  });

  it('stops on a Node older than 20 in one line', () => {
    const old = mkdtempSync(join(tmpdir(), 'vigil-old-node-'));
    writeFileSync(join(old, 'node'), '#!/bin/sh\ncase "$1" in -p) echo 18;; *) echo v18.20.0;; esac\n');
    chmodSync(join(old, 'node'), 0o755);
    const r = run({ PATH: `${old}:/usr/bin:/bin` });
    rmSync(old, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'vigil: the tests need Node 20 or newer (found v18.20.0); install Node 20 (Debian 13: apt-get install nodejs npm)',
    ]);
  });

  it('passes on this machine, where npm test has just run it', () => {
    const r = spawnSync('/bin/bash', [script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
