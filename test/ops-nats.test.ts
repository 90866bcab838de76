import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '../bench/support/nats-server.js';
import { startDemo } from '../src/app/cli/start.js';

/**
 * `vigil start` on a real nats-server with the ops server beside it: /readyz follows the
 * NATS connection (ready, not ready while the server is down, ready again once the client
 * has reconnected), while /livez stays up throughout.
 */
describe('readiness on NATS', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await NatsServer.start();
    process.env.VIGIL_SERVER__LOG_LEVEL = 'silent';
  });
  afterAll(async () => {
    delete process.env.VIGIL_SERVER__LOG_LEVEL;
    await nats.stop();
  });

  it('/readyz is 200 while connected, 503 while the NATS server is down, 200 after reconnecting', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const abort = new AbortController();
    const running = startDemo({ natsUrl: nats.url, mode: 'core', port: 0, out, signal: abort.signal });
    try {
      await expect
        .poll(() => /^vigil ops: (http:\/\/127\.0\.0\.1:\d+)\//m.exec(text)?.[1], { timeout: 10_000 })
        .toBeDefined();
      const [, url, token] = /^vigil ops: (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)$/m.exec(text)!;
      const status = async (path: string, headers: Record<string, string> = {}) =>
        (await fetch(url + path, { headers })).status;
      expect(await status('/readyz')).toBe(200);
      // The printed one-time token is the one the server accepts (404: authenticated, no such customer).
      expect(await status('/v1/customers/nobody')).toBe(401);
      expect(await status('/v1/customers/nobody', { authorization: `Bearer ${token}` })).toBe(404);
      const restarting = nats.restart(3000);
      await expect.poll(() => status('/readyz'), { timeout: 2500, interval: 50 }).toBe(503);
      expect(await status('/livez')).toBe(200);
      const body = await (await fetch(url + '/readyz')).json();
      expect(body).toEqual({ status: 'not_ready', sourceConnected: false, stateReady: true, outputsFlowing: true });
      await restarting;
      await expect.poll(() => status('/readyz'), { timeout: 10_000, interval: 100 }).toBe(200);
    } finally {
      abort.abort();
      await running;
    }
    expect(text).toContain('stopped cleanly');
  });
});
