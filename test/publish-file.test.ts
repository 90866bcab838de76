import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload } from '../src/edges/encode.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { NatsServer } from '../bench/support/nats-server.js';

/**
 * Issue 18, failure 5: `publish --file` on a msgpack file with a corrupted length field sent
 * what it could and exited 0 without a word, where `replay` warns and exits 1. Both now
 * report the unreadable bytes with the same line and exit 1.
 */
let server: NatsServer;
let nc: NatsConnection;
let dir: string;
const EVENTS = 2000;
const CORRUPT_AT = 700;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  dir = mkdtempSync(join(tmpdir(), 'vigil-publish-file-'));
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('unreadable msgpack bytes', () => {
  it('publish --file and replay both warn the same way and exit 1', async () => {
    const events = new SyntheticShop({ seed: 3, customers: 100, products: 50, startTs: Date.UTC(2026, 0, 1) }).take(
      EVENTS,
    );
    // A str32 header claiming ~4 GiB: the frame's end is never found, the rest cannot be cut.
    const parts = events.map((e, i) =>
      i === CORRUPT_AT
        ? new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0x00, ...encodePayload(e, 'msgpack')])
        : encodePayload(e, 'msgpack'),
    );
    const file = join(dir, 'corrupt.msgpack');
    writeFileSync(file, Buffer.concat(parts));

    const received: number[] = [];
    const sub = nc.subscribe('pf.events.replay', { callback: () => void received.push(1) });
    await nc.flush();
    const pub = spawnSync(
      'node',
      ['dist/src/app/cli.js', 'publish', '--nats-url', server.url, '--file', file, '--subject', 'pf.events'],
      { encoding: 'utf8' },
    );
    const rep = spawnSync('node', ['dist/src/app/cli.js', 'replay', file, '--quiet'], { encoding: 'utf8' });
    await nc.flush();
    sub.unsubscribe();

    const warning = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('warning:'));
    expect(pub.status).toBe(1);
    expect(rep.status).toBe(1);
    expect(warning(pub.stderr)).toMatch(
      /^warning: \d+ bytes after a msgpack framing error could not be read \(after \d+ messages\)$/,
    );
    expect(warning(pub.stderr)).toBe(warning(rep.stderr));
    // What was readable before the bad header went out (the bad value itself as one message).
    const sent = Number(/published (\d+) messages/.exec(pub.stderr)?.[1]);
    expect(sent).toBe(CORRUPT_AT + 1);
    expect(received.length).toBe(sent);
  }, 60_000);
});
