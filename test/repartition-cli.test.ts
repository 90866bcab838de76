import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PARTITIONS, partitionOfId } from '../src/app/partitions/partition-of.js';
import { repartition } from '../src/app/cli/repartition.js';
import { NatsServer } from '../bench/support/nats-server.js';
import { dump, runMessages, testConfig } from './support/engine-harness.js';
import { consumedOnWorkers, segmentFeed, shopEvents } from './support/segment-feed.js';

/**
 * `vigil repartition` through a real nats-server, run as the CLI: a Segment feed on one
 * subject, put on partition subjects by the command (killed half-way with SIGKILL and
 * restarted, then stopped with SIGTERM), gives the same state and alert ids as the same feed
 * published pre-partitioned; nothing is lost and nothing is stored twice; and a second run
 * from the feed's start republishes nothing new (every republish a duplicate).
 */
const WALL_CLOCK = Date.UTC(2030, 0, 1);
const config = testConfig({ nats: { pullBatch: 500 } });

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

interface Run {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function vigil(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn('node', ['dist/src/app/cli.js', ...args], { env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

/** The counters the command prints when it stops. */
function counters(stderr: string): { read: number; republished: number; duplicates: number; partitions: number } {
  const m = /^repartitioned SEG_IN \(consumer [^)]+\) in [\d.]+ s: (\{.*\})$/m.exec(stderr);
  if (m === null) throw new Error(`no counters in: ${stderr}`);
  return JSON.parse(m[1]!) as { read: number; republished: number; duplicates: number; partitions: number };
}

describe('vigil repartition on nats-server', () => {
  const feed = segmentFeed(shopEvents({ seed: 23, customers: 1500, products: 400, days: 5 }).slice(0, 8000));
  const repartitionArgs = (consumer: string) => [
    'repartition',
    '--from',
    'seg.in',
    '--to',
    'seg.part',
    '--consumer',
    consumer,
    '--nats-url',
    server.url,
    '--quiet',
  ];

  it('without a stream for the output subjects it refuses to start (nothing would be stored)', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'LONE_IN', subjects: ['lone.in'] });
    await expect(
      repartition({ from: 'lone.in', to: 'lone.part', natsUrl: server.url, progress: false, log: () => {} }),
    ).rejects.toMatchObject({ code: 'VIGIL_ERR_USAGE', message: expect.stringContaining("'lone.part.>'") });
  });

  it('killed and restarted, then run again from the start: the feed pre-partitioned, nothing lost or doubled', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'SEG_IN', subjects: ['seg.in'] });
    await jsm.streams.add({ name: 'SEG_PRE', subjects: ['seg.pre.>'] });
    // A duplicate window longer than the test, however slow the shared machine is.
    await jsm.streams.add({ name: 'SEG_PART', subjects: ['seg.part.>'], duplicate_window: 15 * 60 * 1e9 /* ns */ });
    for (const f of feed) {
      nc.publish('seg.in', f.bytes);
      nc.publish(`seg.pre.${partitionOfId(f.userId, DEFAULT_PARTITIONS)}.in`, f.bytes);
    }
    await nc.flush();
    const stored = async (stream: string) => (await jsm.streams.info(stream)).state.messages;
    await expect.poll(() => stored('SEG_PRE'), { timeout: 60_000 }).toBe(feed.length);
    await expect.poll(() => stored('SEG_IN'), { timeout: 60_000 }).toBe(feed.length);

    // Killed (no chance to clean up) once it has republished something; small rounds, so mid-way.
    const killed = vigil(repartitionArgs('repartition'), { VIGIL_NATS__PULL_BATCH: '50' });
    await expect.poll(() => stored('SEG_PART'), { timeout: 60_000, interval: 10 }).toBeGreaterThan(0);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const storedAfterKill = await stored('SEG_PART');
    expect(storedAfterKill).toBeLessThan(feed.length);

    // Restarted on the same durable consumer: resumes, then stops cleanly on SIGTERM.
    const resumed = vigil(repartitionArgs('repartition'));
    await expect.poll(() => stored('SEG_PART'), { timeout: 120_000, interval: 100 }).toBe(feed.length);
    await expect
      .poll(async () => (await jsm.consumers.info('SEG_IN', 'repartition')).num_ack_pending, { timeout: 60_000 })
      .toBe(0);
    resumed.child.kill('SIGTERM');
    expect(await resumed.exited).toBe(0);
    const second = counters(resumed.stderr());
    expect(second.partitions).toBe(DEFAULT_PARTITIONS);
    expect(second.read).toBe(second.republished + second.duplicates);
    // Nothing lost, nothing stored twice: what the killed run stored plus what the restart added.
    expect(storedAfterKill + second.republished).toBe(feed.length);
    expect(await stored('SEG_PART')).toBe(feed.length);
    const info = await jsm.consumers.info('SEG_IN', 'repartition');
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);

    // A second run from the feed's start (a new consumer, as after losing every ack): all duplicates.
    const again = vigil(repartitionArgs('repartition-again'));
    await expect
      .poll(
        async () => {
          const c = await jsm.consumers.info('SEG_IN', 'repartition-again').catch(() => undefined);
          return c !== undefined && c.delivered.stream_seq === feed.length && c.num_ack_pending === 0;
        },
        { timeout: 120_000, interval: 100 },
      )
      .toBe(true);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(counters(again.stderr())).toMatchObject({ read: feed.length, republished: 0, duplicates: feed.length });
    expect(await stored('SEG_PART')).toBe(feed.length);

    // The repartitioned feed gives the state and alert ids of the feed published pre-partitioned,
    // and the single-threaded engine's per-customer state on the feed as it came.
    const repartitioned = await consumedOnWorkers(nc, config, 'SEG_PART', 'seg.part.>', WALL_CLOCK);
    const pre = await consumedOnWorkers(nc, config, 'SEG_PRE', 'seg.pre.>', WALL_CLOCK);
    expect(repartitioned.counters).toEqual({ input: feed.length, applied: feed.length, rejected: 0 });
    expect(JSON.stringify(repartitioned.dump)).toBe(JSON.stringify(pre.dump));
    expect(repartitioned.alertIds).toEqual(pre.alertIds);
    const single = dump(
      (
        await runMessages(
          config,
          feed.map((f) => ({ bytes: f.bytes, subject: 'seg.in', receivedAt: 0 })),
        )
      ).engine,
    );
    expect(JSON.stringify(repartitioned.dump.map(([, v]) => v))).toBe(JSON.stringify(single));
  }, 600_000);
});
