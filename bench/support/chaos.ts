import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { isMarketingFacing, type Alert } from '../../src/alerts/alert.js';
import { encodePayload } from '../../src/edges/encode.js';
import { ObjectStoreCheckpoints } from '../../src/app/checkpoint/object-store-checkpoints.js';
import { restoreLatest } from '../../src/app/checkpoint/restore.js';
import { loadConfig } from '../../src/app/config/load.js';
import { Engine } from '../../src/app/engine.js';
import { publishEvents } from '../../src/edges/nats/publisher.js';
import { InProcessSource } from '../../src/edges/in-process.js';
import { SyntheticShop } from '../../src/edges/demo/shop.js';
import { NatsServer } from './nats-server.js';

/**
 * The durability check of docs/nats.md, shared by the chaos test and `npm run bench -- chaos`:
 * events in a JetStream stream, `vigil start` as a child process killed (SIGKILL, some
 * SIGTERM) at random stream positions and restarted each time, optionally the nats-server
 * killed under it, then the state of its final checkpoint compared customer by customer
 * with an uninterrupted in-process run of the same events, and the trigger ids on the
 * stream with the alerts that run emitted.
 */
export interface ChaosOptions {
  readonly events: number;
  readonly customers: number;
  readonly kills: number;
  /** Every n-th kill is a SIGTERM (a deploy) instead of a SIGKILL. */
  readonly sigtermEvery: number;
  /** One more SIGKILL, sent while a checkpoint's chunks are being written. */
  readonly killMidCheckpoint: boolean;
  /** The nats-server, killed this way mid-stream once while the engine runs (and started again). */
  readonly serverKill: 'none' | 'SIGTERM' | 'SIGKILL';
  readonly checkpointIntervalMs: number;
  readonly seed: number;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly customers: number;
  readonly customersWrong: number;
  /** Input the final state never saw (stream messages minus input counted, when positive). */
  readonly eventsLost: number;
  /** Input counted more than once (input counted minus stream messages, when positive). */
  readonly eventsDoubleCounted: number;
  readonly outcomesDiffer: boolean;
  readonly triggersExpected: number;
  readonly triggersMissing: number;
  readonly triggersUnexpected: number;
  readonly kills: readonly { signal: string; atSeq: number }[];
  /** Per restart: ms from spawn to having consumed past where the killed engine stood. */
  readonly recoveryMs: readonly number[];
  readonly lives: number;
}

const ENGINE_CHECKPOINT_CHUNK = 64 * 1024;

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const log = opts.log ?? (() => {});
  const server = await NatsServer.start();
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const workDir = mkdtempSync(join(tmpdir(), 'vigil-chaos-'));
  const children = new Set<ChildProcess>();
  try {
    const events = new SyntheticShop({
      seed: opts.seed,
      customers: opts.customers,
      products: 300,
      startTs: Date.UTC(2026, 0, 1),
    }).take(opts.events);
    await publishEvents(nc, events, {
      subjectPrefix: 'shop.events',
      format: 'msgpack',
      mode: 'jetstream',
      createStream: 'SHOP_EVENTS',
    });
    const jsm = await jetstreamManager(nc);
    const lastSeq = (await jsm.streams.info('SHOP_EVENTS')).state.last_seq;
    log(`chaos: ${events.length} events in SHOP_EVENTS (last seq ${lastSeq})`);

    const env = {
      ...process.env,
      VIGIL_CHECKPOINT__INTERVAL_MS: String(opts.checkpointIntervalMs),
      VIGIL_CHECKPOINT__CHUNK_BYTES: String(ENGINE_CHECKPOINT_CHUNK),
      VIGIL_TRIGGERS__NATS__ENABLED: 'true',
      VIGIL_SERVER__LOG_LEVEL: 'warn',
    };
    // Each life creates the consumer anew at its checkpoint: until it has, the consumer seen is the last life's.
    let consumerOfLife = '';
    const consumer = async () => {
      const info = await jsm.consumers.info('SHOP_EVENTS', 'vigil').catch(() => undefined);
      return info !== undefined && info.created !== consumerOfLife ? info : undefined;
    };
    const delivered = async () => (await consumer())?.delivered.stream_seq ?? 0;
    const spawnEngine = () => {
      const child = spawn(process.execPath, ['dist/src/app/cli.js', 'start', '--nats-url', server.url, '--port', '0'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let output = '';
      child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      child.once('exit', () => children.delete(child));
      return { child, output: () => output };
    };
    const until = async (what: string, cond: () => Promise<boolean>, child?: ChildProcess, output?: () => string) => {
      const deadline = Date.now() + 300_000;
      while (!(await cond())) {
        if (child !== undefined && child.exitCode !== null)
          throw new Error(`engine exited (${child.exitCode}) while waiting for ${what}:\n${output?.()}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output?.()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    // Random kill points over the stream, in order; every sigtermEvery-th is a SIGTERM.
    let rng = opts.seed * 7919 + 17;
    const random = () => (rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648;
    const targets = Array.from({ length: opts.kills }, () => Math.floor(lastSeq * (0.05 + 0.9 * random()))).sort(
      (a, b) => a - b,
    );
    const kills: { signal: string; atSeq: number }[] = [];
    const recoveryMs: number[] = [];
    let reached = 0;
    let lives = 0;
    const serverKillAt = opts.serverKill === 'none' ? -1 : Math.floor(opts.kills / 2);
    for (let i = 0; i <= opts.kills; i++) {
      consumerOfLife = (await jsm.consumers.info('SHOP_EVENTS', 'vigil').catch(() => undefined))?.created ?? '';
      const { child, output } = spawnEngine();
      lives++;
      const spawned = Date.now();
      const target = i < opts.kills ? targets[i]! : lastSeq;
      // Recovery: back at least where the previous life stood.
      await until(
        'catch-up',
        async () => (await consumer()) !== undefined && (await delivered()) >= reached,
        child,
        output,
      );
      if (reached > 0) recoveryMs.push(Date.now() - spawned);
      if (i === serverKillAt) {
        await until(
          `seq ${Math.floor((target + reached) / 2)}`,
          async () => (await delivered()) >= Math.floor((target + reached) / 2),
          child,
          output,
        );
        log(`chaos: nats-server ${opts.serverKill} at seq ${await delivered()}`);
        if (opts.serverKill === 'SIGKILL') await server.crash();
        else await server.down();
        await new Promise((r) => setTimeout(r, 500));
        await server.up();
      }
      if (i === opts.kills) {
        // The last life runs to the end: everything delivered and acknowledged, then a SIGTERM.
        await until(
          'the end of the stream',
          async () => {
            const info = await consumer();
            return (
              info !== undefined &&
              info.delivered.stream_seq >= lastSeq &&
              info.num_ack_pending === 0 &&
              info.num_pending === 0
            );
          },
          child,
          output,
        );
        child.kill('SIGTERM');
        const [code] = (await once(child, 'exit')) as [number | null];
        if (code !== 0) throw new Error(`engine exited ${code} on SIGTERM:\n${output()}`);
        break;
      }
      await until(`seq ${target}`, async () => (await delivered()) >= target, child, output);
      // Listened for before the kill: the child may exit while `delivered()` is awaited below.
      const exited = once(child, 'exit');
      if (opts.killMidCheckpoint && i === 1) {
        // Wait for a checkpoint's first chunk, then kill: the checkpoint is cut short.
        const chunks = nc.subscribe('$O.vigil-checkpoints.C.>', { max: 1, timeout: 120_000 });
        for await (const chunk of chunks) if (chunk.data.length > 0) break;
        child.kill('SIGKILL');
        kills.push({ signal: 'SIGKILL mid-checkpoint', atSeq: await delivered() });
      } else {
        const signal = opts.sigtermEvery > 0 && (i + 1) % opts.sigtermEvery === 0 ? 'SIGTERM' : 'SIGKILL';
        child.kill(signal);
        kills.push({ signal, atSeq: await delivered() });
      }
      await exited;
      reached = kills.at(-1)!.atSeq;
      log(`chaos: life ${lives} ended by ${kills.at(-1)!.signal} at seq ${reached}`);
    }

    log('chaos: reading the final checkpoint');
    // What the engine left: its final checkpoint, restored in process.
    const config = loadConfig({ env: {}, overrides: {} });
    const live = new Engine(config);
    const store = await ObjectStoreCheckpoints.open(
      nc,
      server.url,
      config.checkpoint.bucket,
      config.nats.consumer,
      config.checkpoint.chunkBytes,
    );
    const manifest = await restoreLatest(live, store, 'jetstream:SHOP_EVENTS/vigil');
    if (manifest === undefined) throw new Error('no checkpoint after the final stop');
    log('chaos: the oracle run');
    // The oracle: the same events, in stream order, one uninterrupted in-process run.
    const oracle = new Engine(config);
    const alerts: Alert[] = [];
    const messages = events.map((e) => ({
      bytes: encodePayload(e, 'msgpack'),
      subject: `shop.events.${e.type}`,
      receivedAt: 0,
    }));
    await oracle.run(new InProcessSource(messages, { name: 'oracle', batchSize: 64, finite: false }), {
      sinks: [{ handle: (b) => void alerts.push(...b.alerts) }],
    });
    const ids = [...oracle.state.store.customerIds()].sort();
    const asOf = oracle.state.watermark.watermark;
    let customersWrong = 0;
    for (const id of ids) {
      if (JSON.stringify(live.state.store.view(id, asOf)) !== JSON.stringify(oracle.state.store.view(id, asOf)))
        customersWrong++;
    }
    customersWrong += Math.max(0, live.state.store.size - oracle.state.store.size);
    const got = live.state.counters.toJSON();
    const want = oracle.state.counters.toJSON();
    const expected = new Set(alerts.filter((a) => isMarketingFacing(a.type)).map((a) => a.id));
    log('chaos: reading the trigger stream');
    const seen = await triggerIds(nc);
    return {
      customers: ids.length,
      customersWrong,
      eventsLost: Math.max(0, want.input - got.input),
      eventsDoubleCounted: Math.max(0, got.input - want.input),
      outcomesDiffer: JSON.stringify(got) !== JSON.stringify(want),
      triggersExpected: expected.size,
      triggersMissing: [...expected].filter((id) => !seen.has(id)).length,
      triggersUnexpected: [...seen].filter((id) => !expected.has(id)).length,
      kills,
      recoveryMs,
      lives,
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await nc.close();
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Every trigger id on the VIGIL_TRIGGERS stream (its Nats-Msg-Id), read message by message. */
async function triggerIds(nc: NatsConnection): Promise<Set<string>> {
  const ids = new Set<string>();
  const jsm = await jetstreamManager(nc);
  const state = (await jsm.streams.info('VIGIL_TRIGGERS').catch(() => undefined))?.state;
  if (state === undefined || state.messages === 0) return ids;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage('VIGIL_TRIGGERS', { seq }).catch(() => null);
    const id = m?.header.get('Nats-Msg-Id');
    if (id) ids.add(id);
  }
  return ids;
}
