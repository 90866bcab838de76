import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '../bench/support/nats-server.js';
import { encodePayload } from '../src/edges/encode.js';
import { Engine } from '../src/app/engine.js';
import { openErasure, type ErasureReply } from '../src/app/erasure/wiring.js';
import { ConfirmedPublisher } from '../src/delivery/sinks/confirmed-publisher.js';
import { DEAD_LETTER_HEADERS, DeadLetterSink } from '../src/delivery/sinks/dead-letters.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { runMessages, testConfig } from './support/engine-harness.js';

/**
 * Erasure with NATS: a request on `vigil.control.erase` (from `vigil erase --nats-url`)
 * erases the customer; the suppression list is a JetStream KV bucket that a second engine on
 * the same bucket follows live; dead letters of the suppressed customer's later events carry
 * neither the bytes nor the source subject, and no header holds the raw id.
 */
let server: NatsServer;
let nc: NatsConnection;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('erasure over NATS', () => {
  it('vigil erase --nats-url erases in every engine on the KV bucket; dead letters carry no trace', async () => {
    const config = testConfig({ nats: { url: server.url, deadLetterPrefix: 'er.dlq' } });
    const events = new SyntheticShop({ seed: 4, customers: 50, products: 40, startTs: Date.UTC(2025, 0, 1) })
      .take(3000)
      .map((e) => ({ ...e, customerId: `id-${e.customerId}-x` }));
    const messages = events.map((e) => ({
      bytes: encodePayload(e, 'msgpack'),
      subject: `shop.${e.customerId}`,
      receivedAt: 0,
    }));
    const one = new Engine(config);
    const two = new Engine(config);
    await runMessages(config, messages, { engine: one, finite: false });
    await runMessages(config, messages, { engine: two, finite: false });
    const first = await openErasure(config, one.state, { nc, logger: silent });
    const second = await openErasure(config, two.state, { nc, logger: silent });
    try {
      const target = [...one.state.store.customerIds()].sort()[0]!;
      expect(two.state.store.has(target)).toBe(true);

      // Two engines answer the subject: the request gets the first reply; both erase (one by request, one from KV).
      // Not spawnSync: the engines answering live in this process, whose event loop must run.
      const cli = await new Promise<{ status: number; stderr: string }>((resolve) => {
        execFile(
          'node',
          ['dist/src/app/cli.js', 'erase', '--customer', target, '--nats-url', server.url],
          (err, _out, stderr) => resolve({ status: err ? Number(err.code) : 0, stderr }),
        );
      });
      expect([cli.status, cli.stderr]).toEqual([
        0,
        expect.stringMatching(/^erased \(was (not )?in state; \d+ held alerts dropped\)/),
      ]);
      expect(cli.stderr).not.toContain(target);
      await expect
        .poll(() => [one.state.store.has(target), two.state.store.has(target)], { timeout: 10_000 })
        .toEqual([false, false]);

      // The KV bucket holds it once, under a key that is not the id (its SHA-256).
      const key = createHash('sha256').update(target).digest('hex');
      const stored = await (
        await jetstreamManager(nc)
      ).streams.getMessage(`KV_${config.erasure.kvBucket}`, { last_by_subj: `$KV.${config.erasure.kvBucket}.${key}` });
      expect(new TextDecoder().decode(stored!.data)).toBe(target);
      expect((await (await jetstreamManager(nc)).streams.info(`KV_${config.erasure.kvBucket}`)).state.messages).toBe(1);

      // An engine started later reads the bucket at start.
      const three = new Engine(config);
      await runMessages(config, messages, { engine: three, finite: false });
      const third = await openErasure(config, three.state, { nc, logger: silent });
      expect(three.state.store.has(target)).toBe(false);
      await third.close();

      // Later events: rejected as suppressed; the dead letters hold no bytes, no subject, no raw id.
      const dead: Msg[] = [];
      const sub = nc.subscribe('er.dlq.>', { callback: (_e, m) => void dead.push(m) });
      await nc.flush();
      const later = messages
        .filter((_, i) => events[i]!.customerId === target)
        .map((m, i) => ({
          ...m,
          bytes: encodePayload({ ...events.find((e) => e.customerId === target)!, id: `later-${i}` }, 'json'),
        }));
      await runMessages(config, later, { engine: one, finite: false }).then(async ({ batches }) => {
        const publisher = new ConfirmedPublisher(nc, {
          requireCaptureStream: false,
          ackTimeoutMs: 5000,
          retry: { baseMs: 50, maxMs: 500 },
        });
        const sink = new DeadLetterSink(publisher, config.nats.deadLetterPrefix);
        for (const b of batches) await sink.handle(b);
      });
      await expect.poll(() => dead.length, { timeout: 5000 }).toBe(later.length);
      sub.unsubscribe();
      for (const m of dead) {
        expect(m.subject).toBe('er.dlq.suppressed');
        expect(m.data.length).toBe(0);
        expect(m.headers?.get(DEAD_LETTER_HEADERS.reason)).toBe('VIGIL_ERR_SUPPRESSED');
        expect(m.headers?.get(DEAD_LETTER_HEADERS.subject)).toBe('');
        for (const [k, v] of m.headers ?? []) expect(`${k}:${v.join(',')}`).not.toContain(target);
      }

      // A malformed request is answered, not dropped.
      const bad = await nc.request(config.erasure.subject, new Uint8Array([0xff]), { timeout: 5000 });
      expect((JSON.parse(new TextDecoder().decode(bad.data)) as ErasureReply).ok).toBe(false);
    } finally {
      await first.close();
      await second.close();
    }
  }, 60_000);
});
