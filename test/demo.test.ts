import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startDemo } from '../src/app/cli/start.js';

describe('the embedded demo', () => {
  it('prints a summary line a second and stops cleanly with balanced counters', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    process.env.VIGIL_DEMO__CUSTOMERS = '800';
    process.env.VIGIL_DEMO__EVENTS_PER_SECOND = '4000';
    process.env.VIGIL_SERVER__PORT = '0'; // the ops server on a free port: 8080 may be taken
    try {
      await startDemo({ runForMs: 3500, out });
    } finally {
      delete process.env.VIGIL_DEMO__CUSTOMERS;
      delete process.env.VIGIL_DEMO__EVENTS_PER_SECOND;
      delete process.env.VIGIL_SERVER__PORT;
    }
    expect(text).toMatch(/^vigil ops: http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{24,}$/m);
    const summaries = text.split('\n').filter((l) => l.includes(' ev/s | customers '));
    expect(summaries.length).toBeGreaterThanOrEqual(2);
    const final = text.split('\n').find((l) => l.startsWith('stopped cleanly'))!;
    expect(final).toContain('balanced=true');
    const counts = JSON.parse(final.slice('stopped cleanly: '.length, final.lastIndexOf(';')));
    expect(counts.applied).toBeGreaterThan(1000);
  });

  it('runs as `vigil start` and exits 0 on SIGINT', async () => {
    const child = spawn('node', ['dist/src/app/cli.js', 'start', '--port', '0'], {
      env: { ...process.env, VIGIL_DEMO__CUSTOMERS: '1000' },
    });
    let text = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (!interrupted && text.includes(' ev/s | customers ')) {
        interrupted = true; // once: a second Ctrl-C is the user's way to force an exit
        child.kill('SIGINT');
      }
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(text).toContain('stopped cleanly');
    expect(text).toContain('balanced=true');
  });
});
