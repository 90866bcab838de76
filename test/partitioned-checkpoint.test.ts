import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpointer } from '../src/app/checkpoint/checkpointer.js';
import { FileCheckpoints } from '../src/app/checkpoint/file-checkpoints.js';
import { ObjectStoreCheckpoints } from '../src/app/checkpoint/object-store-checkpoints.js';
import { CheckpointWriter, readCheckpoint } from '../src/app/checkpoint/checkpoint-codec.js';
import {
  checkpointNames,
  checkpointNumber,
  checkpointStagePieceName,
  prunedNames,
  type CheckpointHeader,
  type CheckpointStore,
} from '../src/app/checkpoint/checkpoint-store.js';
import { PartitionedCapture, type PartitionIndex } from '../src/app/checkpoint/partitioned-capture.js';
import { restoreLatest } from '../src/app/checkpoint/restore.js';
import { restorePartitionedLatest } from '../src/app/checkpoint/restore-partitioned.js';
import { startDemo } from '../src/app/cli/start.js';
import { loadConfig } from '../src/app/config/load.js';
import type { VigilConfig } from '../src/app/config/schema.js';
import { Engine } from '../src/app/engine.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import { PartitionedLiveEngine } from '../src/app/partitions/partitioned-live.js';
import type { PartitionResult } from '../src/app/partitions/partition-protocol.js';
import type { CanonicalEvent } from '../src/core/event.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { encodePayload } from '../src/edges/encode.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { NatsJetStreamSource } from '../src/edges/nats/nats-jetstream.js';
import { publishEvents } from '../src/edges/nats/publisher.js';
import { testConfig } from './support/engine-harness.js';
import { shopWithCampaigns } from './support/campaign-oracle.js';
import { spikeShop } from './support/demand-shop.js';
import { NatsServer } from '../bench/support/nats-server.js';

/**
 * Checkpoints of the partitioned live engine (`engine.workers` > 1), through a real
 * nats-server: a JetStream stream consumed by lives with 2, 4 and 2 workers, each restoring
 * the last one's checkpoint (taken at barriers while batches were in flight, then at the
 * stop), ends with the per-customer state and the alert ids of an uninterrupted in-process
 * partitioned replay; the stage after the shuffle (demand series, campaign cohorts) is in the
 * checkpoint at the barrier's position, and lives killed, stopped and restarted with other W
 * end with its uninterrupted state and alerts; `vigil start --workers 2` killed with SIGKILL
 * mid-stream and restarted with 4 workers loses nothing; a checkpoint of another layout, or
 * an index without the stage's piece, is refused.
 */
const WALL_CLOCK = Date.UTC(2030, 0, 1);
const config = testConfig({ nats: { pullBatch: 500 } });

let server: NatsServer;
let nc: NatsConnection;
const dirs: string[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function shopEvents(seed: number, customers: number, days: number): CanonicalEvent[] {
  const startTs = Date.UTC(2025, 0, 1);
  const shop = new SyntheticShop({ seed, customers, products: 300, startTs, endTs: startTs + days * 86_400_000 });
  const out: CanonicalEvent[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) out.push(e);
  return out;
}

interface Outcome {
  dump: [string, unknown][];
  alertIds: string[];
  counters: { input: number; applied: number; duplicate: number; rejected: number };
}

function outcomeOf(results: PartitionResult[]): Outcome {
  const sum = (k: 'input' | 'applied' | 'duplicate' | 'rejected') => results.reduce((s, r) => s + r.counters[k], 0);
  return {
    dump: results.flatMap((r) => r.dump!).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    alertIds: results.flatMap((r) => r.alertIds).sort(),
    counters: { input: sum('input'), applied: sum('applied'), duplicate: sum('duplicate'), rejected: sum('rejected') },
  };
}

/** The oracle: an uninterrupted in-process partitioned replay of the same messages. */
async function replayOf(messages: RawMessage[], c: VigilConfig, wallClock?: number): Promise<Outcome> {
  const engine = await PartitionedEngine.start(c, {
    workers: 2,
    collectAlerts: true,
    ...(wallClock !== undefined && { wallClock }),
  });
  try {
    await engine.feed(messages);
    await engine.finish();
    return outcomeOf(await engine.results(true));
  } finally {
    await engine.close();
  }
}

async function untilTrue(what: string, cond: () => Promise<boolean> | boolean, ms = 240_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A JetStream stream, its consumer and checkpoint store, consumed by successive lives of the engine. */
interface Lane {
  config: VigilConfig;
  stream: string;
  consumer: string;
  subjects: string[];
  /** `InputPosition.source` of the lane's checkpoints. */
  source: string;
  store: CheckpointStore;
}

/**
 * One life of the engine: restores the latest checkpoint, consumes until `until` input
 * messages are counted (or the stream's end), checkpointing every 15 completed batches
 * while it runs, then stops and takes the final checkpoint; with `killed`, stops without
 * one, as a crash would, so that the next life resumes from the last barrier checkpoint.
 */
async function life(
  lane: Lane,
  workers: number,
  until: number,
  opts: { partitions?: number; end?: boolean; killed?: boolean } = {},
) {
  const { store } = lane;
  const engine = await PartitionedLiveEngine.start(lane.config, {
    workers,
    collectAlerts: true,
    wallClock: WALL_CLOCK,
    ...(opts.partitions !== undefined && { partitions: opts.partitions }),
  });
  try {
    const source = new NatsJetStreamSource(nc, {
      stream: lane.stream,
      consumer: lane.consumer,
      subjects: lane.subjects,
      createStream: false,
      maxAckPending: 2000,
      ackWaitMs: 60_000,
      pullBatch: 500,
      batchSize: 128,
    });
    const manifest = await restorePartitionedLatest(engine, store, lane.source);
    source.resumeAfter({ afterSeq: manifest?.position.seq ?? 0 });
    const restoredInput = engine.front.counters.input;
    const logged: string[] = [];
    let completed = 0;
    let frozen = false;
    // Per barrier: batches routed and not yet through the sinks (the stage's capture waits for its share of them).
    const inFlightAtBarrier: number[] = [];
    const capture = engine.capture.bind(engine);
    engine.capture = (chunkBytes) => {
      inFlightAtBarrier.push(engine.batchesRouted - engine.batchesCompleted);
      return capture(chunkBytes);
    };
    const checkpointer = new Checkpointer(new PartitionedCapture(engine, lane.consumer), store, {
      scope: lane.consumer,
      source: lane.source,
      intervalMs: 1,
      keep: 2,
      chunkBytes: 64 * 1024,
      last: manifest,
      log: (line) => logged.push(line),
      // Killed: no checkpoint starts after 80% of the way, so the last one is well behind the kill.
      now: () => (frozen ? -Infinity : Math.floor(completed / 15) * 10),
    });
    const delivered: string[] = [];
    const running = engine.run(source, {
      heartbeatMs: 100,
      sinks: [{ handle: (b) => b.alerts.forEach((a) => delivered.push(a.id)) }],
      onBatchCompleted: (n) => {
        completed = n;
        if (opts.killed === true && engine.front.counters.input >= until * 0.8) frozen = true;
        checkpointer.batchCompleted(n);
      },
    });
    await untilTrue(`${until} messages`, () => engine.front.counters.input >= until);
    await source.stop();
    await running;
    if (opts.killed === true) {
      await checkpointer.settled();
      await checkpointer['writes'].close();
    } else expect(await checkpointer.final()).toBe(true);
    const s = checkpointer.stats;
    expect(s.failed, logged.join('\n')).toBe(0);
    let outcome: Outcome | undefined;
    if (opts.end === true) {
      await engine.endEventTime();
      outcome = outcomeOf(await engine.results(true));
    }
    return {
      manifest,
      restoredInput,
      delivered,
      stats: s,
      outcome,
      counters: engine.front.counters.toJSON(),
      inFlightAtBarrier,
      stage: stageOf(engine),
    };
  } finally {
    await engine.close();
  }
}

const isStageAlert = (id: string) => /^(demand\.|campaign\.report)/.test(id);

/** What the stage after the shuffle holds and concluded: demand series, final campaign reports, alert ids in order. */
function stageOf(engine: PartitionedLiveEngine | PartitionedEngine) {
  return {
    demand: JSON.stringify(engine.front.demand!.snapshot()),
    campaigns: JSON.stringify(engine.front.campaigns!.cohorts.finalReports()),
    alertIds: engine.stageAlerts.map((a) => a.id),
  };
}

describe('partitioned checkpoints, in process on a JetStream stream', () => {
  const STREAM = 'PCK';
  const SOURCE = `jetstream:${STREAM}/ck`;
  const events = shopEvents(31, 1200, 5);
  const messages: RawMessage[] = events.map((e, i) => ({
    bytes: encodePayload(e, i % 5 === 0 ? 'json' : 'msgpack'),
    subject: `pck.events.${e.type}`,
    receivedAt: 0,
  }));
  let store: CheckpointStore;

  beforeAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ['pck.events.>'] });
    for (const m of messages) nc.publish(m.subject, m.bytes);
    await nc.flush();
    await untilTrue(
      'the stream stored',
      async () => (await jsm.streams.info(STREAM)).state.messages === messages.length,
      60_000,
    );
    store = await ObjectStoreCheckpoints.open(nc, server.url, 'pck-checkpoints', 'ck', 64 * 1024);
  }, 120_000);
  const lane = (): Lane => ({
    config,
    stream: STREAM,
    consumer: 'ck',
    subjects: ['pck.events.>'],
    source: SOURCE,
    store,
  });

  it('lives with 2, 4 and 2 workers, each restoring the last one, end with the uninterrupted replay', async () => {
    const oracle = await replayOf(messages, config, WALL_CLOCK);
    expect(oracle.counters.input).toBe(messages.length);
    expect(oracle.alertIds.length).toBeGreaterThan(100);
    const n = messages.length;

    const first = await life(lane(), 2, Math.floor(n * 0.35));
    expect(first.manifest).toBeUndefined();
    // Checkpoints at barriers while batches were in flight, and the final one.
    expect(first.stats.written).toBeGreaterThanOrEqual(2);
    const taken = (await store.latest())!;
    expect(taken.partitioned).toEqual({ partitions: 32, hash: 'fnv1a32-utf8-mod', workers: 2 });
    expect(taken.position.messages).toBe(first.counters.input);

    const second = await life(lane(), 4, Math.floor(n * 0.7));
    expect(second.manifest?.number).toBe(taken.number);
    // The restored counters are the checkpoint's: nothing was lost or counted twice at the stop.
    expect(second.restoredInput).toBe(taken.position.messages);
    expect((await store.latest())!.partitioned?.workers).toBe(4);

    const third = await life(lane(), 2, n, { end: true });
    const live = third.outcome!;
    // Every message counted once, with the outcome it has in the uninterrupted run.
    expect(live.counters).toEqual(oracle.counters);
    expect(third.counters).toMatchObject(oracle.counters);
    expect(JSON.stringify(live.dump)).toBe(JSON.stringify(oracle.dump));
    // Alert ids: those delivered live in each life, and those the last one emitted at the end.
    const ids = new Set([...first.delivered, ...second.delivered, ...third.delivered, ...live.alertIds]);
    expect([...ids].sort()).toEqual(oracle.alertIds);
    // Only the newest `keep` (2) checkpoints remain, each an index, 32 pieces and the stage's.
    const latest = (await store.latest())!;
    const ours = await (store as ObjectStoreCheckpoints)['objects'].list();
    expect(ours.map((o) => o.name).filter((name) => name.startsWith('ck.')).length).toBe(2 * 34);
    expect(ours.some((o) => o.name === `ck.${String(latest.number).padStart(10, '0')}.p31.vck`)).toBe(true);
    expect(ours.some((o) => o.name === `ck.${String(latest.number).padStart(10, '0')}.stage.vck`)).toBe(true);
  }, 600_000);

  it('refuses another P, and a single-threaded checkpoint, with VIGIL_ERR_CHECKPOINT_LAYOUT', async () => {
    expect((await store.latest())?.partitioned?.partitions).toBe(32);
    const sixteen = await PartitionedLiveEngine.start(config, { workers: 2, partitions: 16 });
    try {
      await expect(restorePartitionedLatest(sixteen, store, SOURCE)).rejects.toMatchObject({
        code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
        message: expect.stringMatching(/32 partitions.*16.*--fresh-state/),
      });
    } finally {
      await sixteen.close();
    }
    // The single-threaded engine refuses the partitioned checkpoint.
    await expect(restoreLatest(new Engine(config), store, SOURCE)).rejects.toMatchObject({
      code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
      message: expect.stringContaining('engine.workers above 1'),
    });
    // And the partitioned engine a single-threaded one.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-pck-'));
    dirs.push(dir);
    const files = new FileCheckpoints(dir, 'single');
    const engine = new Engine(config);
    const checkpointer = new Checkpointer(engine, files, {
      scope: 'single',
      source: 'in-process',
      intervalMs: 60_000,
      keep: 1,
      chunkBytes: 64 * 1024,
      last: undefined,
      log: () => {},
    });
    await engine.run(new InProcessSource(messages.slice(0, 2000), { name: 't', batchSize: 100, finite: false }));
    expect(await checkpointer.final()).toBe(true);
    const two = await PartitionedLiveEngine.start(config, { workers: 2 });
    try {
      await expect(restorePartitionedLatest(two, files, 'in-process')).rejects.toMatchObject({
        code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
        message: expect.stringContaining('engine.workers 1'),
      });
    } finally {
      await two.close();
    }
  }, 120_000);
});

describe('the stage after the shuffle in partitioned checkpoints', () => {
  const STREAM = 'PST';
  const SOURCE = `jetstream:${STREAM}/st`;
  // A partition silent for a while on this busy machine must not move the stage's watermark
  // on its own: the stage then is a function of the input alone, as in the replay.
  const stageConfig = testConfig({ nats: { pullBatch: 500 }, eventTime: { idleTimeoutMs: 3_600_000 } });
  // The demand shop (a spike and an empty day: demand alerts) and the campaign shop (closed
  // campaigns: reports), one input in event-time order, their customers and ids kept apart.
  const campaignEvents = shopWithCampaigns(7, 1500).map((e) => ({
    ...e,
    id: `k-${e.id}`,
    customerId: `k-${e.customerId}`,
    ...(e.type === 'purchase' && { orderId: `k-${e.orderId}` }),
  })) as CanonicalEvent[];
  const events = [...spikeShop().events, ...campaignEvents].sort((a, b) => a.ts - b.ts);
  const messages: RawMessage[] = events.map((e, i) => ({
    bytes: encodePayload(e, i % 7 === 0 ? 'json' : 'msgpack'),
    subject: `pst.events.${e.type}`,
    receivedAt: 0,
  }));
  let store: CheckpointStore;

  beforeAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ['pst.events.>'] });
    for (const m of messages) nc.publish(m.subject, m.bytes);
    await nc.flush();
    await untilTrue(
      'the stream stored',
      async () => (await jsm.streams.info(STREAM)).state.messages === messages.length,
      60_000,
    );
    store = await ObjectStoreCheckpoints.open(nc, server.url, 'pst-checkpoints', 'st', 64 * 1024);
  }, 120_000);
  const lane = (): Lane => ({
    config: stageConfig,
    stream: STREAM,
    consumer: 'st',
    subjects: ['pst.events.>'],
    source: SOURCE,
    store,
  });

  it('killed with 2 workers, stopped with 4, ended with 3: demand series, reports and alerts of the uninterrupted run', async () => {
    // The oracle: the same messages through the in-process partitioned engine, uninterrupted.
    const replay = await PartitionedEngine.start(stageConfig, {
      workers: 2,
      collectAlerts: true,
      wallClock: WALL_CLOCK,
    });
    let oracle: ReturnType<typeof stageOf>;
    try {
      await replay.feed(messages);
      await replay.finish();
      oracle = stageOf(replay);
    } finally {
      await replay.close();
    }
    expect(oracle.alertIds.some((id) => id.startsWith('demand.'))).toBe(true);
    expect(oracle.alertIds.some((id) => id.startsWith('campaign.report'))).toBe(true);
    expect(oracle.alertIds.every(isStageAlert)).toBe(true);
    const n = messages.length;

    // Killed: the second life resumes from a checkpoint taken at a barrier with batches in flight.
    const first = await life(lane(), 2, Math.floor(n * 0.4), { killed: true });
    expect(first.inFlightAtBarrier.some((b) => b > 0)).toBe(true);
    const atKill = (await store.latest())!;
    expect(atKill.partitioned?.workers).toBe(2);
    expect(atKill.position.messages).toBeLessThan(first.counters.input);

    const second = await life(lane(), 4, Math.floor(n * 0.75));
    expect(second.manifest?.number).toBe(atKill.number);
    expect(second.restoredInput).toBe(atKill.position.messages);
    const third = await life(lane(), 3, n, { end: true });
    expect(third.outcome!.counters.input).toBe(n);

    // The demand series (and models, and alert gates) and the final campaign reports.
    expect(third.stage.demand).toBe(oracle.demand);
    expect(third.stage.campaigns).toBe(oracle.campaigns);
    // The stage's alerts: those of the first life up to its checkpoint, then the later lives'
    // (which conclude again those the first concluded after it), in the oracle's order.
    const resumed = [...second.stage.alertIds, ...third.stage.alertIds];
    const k = oracle.alertIds.length - resumed.length;
    expect(resumed).toEqual(oracle.alertIds.slice(k));
    expect(first.stage.alertIds).toEqual(oracle.alertIds.slice(0, first.stage.alertIds.length));
    expect(first.stage.alertIds.length).toBeGreaterThanOrEqual(k);
    expect(new Set([...first.stage.alertIds, ...resumed])).toEqual(new Set(oracle.alertIds));
  }, 600_000);

  it('refuses a checkpoint whose index has no stage piece (the older layout) with VIGIL_ERR_CHECKPOINT_LAYOUT', async () => {
    const latest = (await store.latest())!;
    const { header, doc } = readCheckpoint<CheckpointHeader>(await store.read(latest));
    const { stage, ...older } = doc as PartitionIndex;
    expect(stage?.name).toBe(`st.${String(latest.number).padStart(10, '0')}.stage.vck`);
    const number = latest.number + 1;
    const name = `st.${String(number).padStart(10, '0')}.vck`;
    const writer = new CheckpointWriter({ ...header, number }, older, 64 * 1024);
    const sha256 = await store.write(name, toAsync(writer.chunks()));
    await store.commit({ ...latest, name, number, bytes: writer.bytes, sha256 });
    const engine = await PartitionedLiveEngine.start(stageConfig, { workers: 2 });
    try {
      await expect(restorePartitionedLatest(engine, store, SOURCE)).rejects.toMatchObject({
        code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
        message: expect.stringMatching(/no stage piece.*--fresh-state/),
      });
    } finally {
      await engine.close();
    }
  }, 120_000);
});

describe('the sync points (engine.globalSyncMs) in partitioned checkpoints', () => {
  const STREAM = 'PSY';
  const SOURCE = `jetstream:${STREAM}/sy`;
  const HOUR = 3_600_000;
  const syncConfig = testConfig({ nats: { pullBatch: 500 }, engine: { globalSyncMs: HOUR } });
  const events = shopEvents(41, 1200, 5);
  const messages: RawMessage[] = events.map((e, i) => ({
    bytes: encodePayload(e, i % 5 === 0 ? 'json' : 'msgpack'),
    subject: `psy.events.${e.type}`,
    receivedAt: 0,
  }));
  let store: CheckpointStore;

  beforeAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ['psy.events.>'] });
    for (const m of messages) nc.publish(m.subject, m.bytes);
    await nc.flush();
    await untilTrue(
      'the stream stored',
      async () => (await jsm.streams.info(STREAM)).state.messages === messages.length,
      60_000,
    );
    store = await ObjectStoreCheckpoints.open(nc, server.url, 'psy-checkpoints', 'sy', 64 * 1024);
  }, 120_000);
  const lane = (): Lane => ({
    config: syncConfig,
    stream: STREAM,
    consumer: 'sy',
    subjects: ['psy.events.>'],
    source: SOURCE,
    store,
  });
  /** The latest checkpoint's index. */
  const latestIndex = async () => readCheckpoint<CheckpointHeader>(await store.read((await store.latest())!));
  /** Alerts that read the population merged at the sync points. */
  const isPopulationAlert = (id: string) =>
    ['segment.changed', 'value.tier_changed', 'churn.risk'].includes(id.split(':')[0]!);

  async function expectRestoredAhead(seq: number, sync: NonNullable<PartitionIndex['sync']>) {
    const nextPoint = (sync.point! + 1) * HOUR;
    // Fed past the next sync point, where the restored broadcast is installed: half an hour,
    // or on a quiet night up to 21 events, never past the point after it. Where the barrier
    // fell depends on timing, so the stretch before the next point may be short.
    let end = seq;
    let past = 0;
    while (
      end < events.length &&
      events[end]!.ts < nextPoint + HOUR &&
      (events[end]!.ts < nextPoint + HOUR / 2 || past <= 20)
    ) {
      if (events[end]!.ts >= nextPoint) past++;
      end++;
    }
    const ahead = events.slice(seq, end);
    // Every customer's views are read at the end: one message past the point installs them.
    expect(ahead.filter((e) => e.ts >= nextPoint).length).toBeGreaterThan(0);
    const asOf = Math.max(...ahead.map((e) => e.ts));

    const replay = await PartitionedEngine.start(syncConfig, { workers: 2, wallClock: WALL_CLOCK });
    let expected: [string, unknown][];
    try {
      await replay.feed(messages.slice(0, end));
      await replay.settle();
      expected = await replay.dumpLines(asOf);
    } finally {
      await replay.close();
    }

    const dir = mkdtempSync(join(tmpdir(), 'vigil-psy-'));
    dirs.push(dir);
    const files = new FileCheckpoints(dir, 'ahead');
    const engine = await PartitionedLiveEngine.start(syncConfig, { workers: 3, wallClock: WALL_CLOCK });
    try {
      const manifest = await restorePartitionedLatest(engine, store, SOURCE);
      expect(manifest?.position.seq).toBe(seq);
      const checkpointer = new Checkpointer(new PartitionedCapture(engine, 'ahead'), files, {
        scope: 'ahead',
        source: 'in-process',
        intervalMs: 60_000,
        keep: 1,
        chunkBytes: 64 * 1024,
        last: undefined,
        log: () => {},
      });
      await engine.run(
        new InProcessSource(messages.slice(seq, end), { name: 'ahead', batchSize: 100, finite: false }),
        {
          heartbeatMs: 60_000,
        },
      );
      const lines = await engine.dumpLines(asOf);
      expect(lines.length).toBe(expected.length);
      expect(lines.filter(([, v], i) => JSON.stringify(v) !== JSON.stringify(expected[i]![1])).length).toBe(0);
      expect(JSON.stringify(lines)).toBe(JSON.stringify(expected));
      // Its own checkpoint: one more sync point, the broadcast of the barrier's newer marker still to install.
      expect(await checkpointer.final()).toBe(true);
      const { doc } = readCheckpoint<CheckpointHeader>(await files.read((await files.latest())!));
      const after = (doc as PartitionIndex).sync!;
      expect(after.markers).toBe(sync.markers + 1);
      expect(after.point).toBe(sync.point! + 1);
      expect(after.highWater).toBe(asOf);
      expect(after.recent.map((b) => b.marker)).toEqual([sync.point, sync.point! + 1]);
      expect(JSON.stringify(after.recent[0])).toBe(JSON.stringify(sync.recent[1]));
    } finally {
      await engine.close();
    }
  }

  it('killed with 2 workers, stopped with 4, ended with 2: the dump, counters and alert ids of the uninterrupted run', async () => {
    const oracle = await replayOf(messages, syncConfig, WALL_CLOCK);
    expect(oracle.counters.input).toBe(messages.length);
    // The merges change the population alerts: without them there are (next to) none.
    const unmerged = await replayOf(
      messages,
      { ...syncConfig, engine: { ...syncConfig.engine, globalSyncMs: 0 } },
      WALL_CLOCK,
    );
    const population = oracle.alertIds.filter(isPopulationAlert);
    expect(population.length).toBeGreaterThan(20);
    expect(unmerged.alertIds.filter(isPopulationAlert)).not.toEqual(population);
    const n = messages.length;

    // Killed: the second life resumes from a checkpoint taken at a barrier with batches in flight.
    const first = await life(lane(), 2, Math.floor(n * 0.35), { killed: true });
    expect(first.inFlightAtBarrier.some((b) => b > 0)).toBe(true);
    const atKill = (await store.latest())!;
    expect(atKill.position.messages).toBeLessThan(first.counters.input);
    // The index holds the sync points' position and the broadcasts of the last two markers.
    const { doc } = await latestIndex();
    const sync = (doc as PartitionIndex).sync!;
    expect(sync.everyMs).toBe(HOUR);
    expect(sync.markers).toBeGreaterThan(10);
    expect(sync.recent.length).toBe(2);
    expect(sync.recent[0]!.marker).toBeLessThan(sync.point!);
    expect(sync.recent[1]!.marker).toBe(sync.point);
    expect(sync.recent.every((b) => b.totals !== null && b.scalars.length === 32)).toBe(true);

    // Restored with 3 workers and fed up to half an hour past the next sync point: the views
    // the population alerts read (RFM scores, CLV tier, P(alive) in the dump lines) are those
    // of the uninterrupted run at the same message, which installed there the broadcast of the
    // barrier's older marker; and the sync points went on from the checkpoint's.
    await expectRestoredAhead(atKill.position.seq, sync);

    const second = await life(lane(), 4, Math.floor(n * 0.7));
    expect(second.manifest?.number).toBe(atKill.number);
    expect(second.restoredInput).toBe(atKill.position.messages);
    expect((await store.latest())!.partitioned?.workers).toBe(4);

    const third = await life(lane(), 2, n, { end: true });
    const live = third.outcome!;
    expect(live.counters).toEqual(oracle.counters);
    expect(third.counters).toMatchObject(oracle.counters);
    expect(live.dump.length).toBe(oracle.dump.length);
    const wrong = live.dump.filter(([, v], i) => JSON.stringify(v) !== JSON.stringify(oracle.dump[i]![1])).length;
    expect(wrong).toBe(0);
    expect(JSON.stringify(live.dump)).toBe(JSON.stringify(oracle.dump));
    // Alert ids: each life's delivered ones (the first's again after its checkpoint) and those at the end.
    const ids = new Set([...first.delivered, ...second.delivered, ...third.delivered, ...live.alertIds]);
    expect([...ids].sort()).toEqual(oracle.alertIds);
    // The last life alone emitted the population alerts of the uninterrupted run from its checkpoint on.
    const lastIds = new Set([...third.delivered, ...live.alertIds]);
    expect(population.filter((id) => lastIds.has(id)).length).toBeGreaterThan(0);
    expect([...lastIds].filter(isPopulationAlert).every((id) => population.includes(id))).toBe(true);
  }, 600_000);

  it('refuses an index without the sync state, or with another engine.globalSyncMs, with VIGIL_ERR_CHECKPOINT_LAYOUT', async () => {
    const latest = (await store.latest())!;
    const engine = await PartitionedLiveEngine.start(
      { ...syncConfig, engine: { ...syncConfig.engine, globalSyncMs: 6 * HOUR } },
      { workers: 2 },
    );
    try {
      await expect(restorePartitionedLatest(engine, store, SOURCE)).rejects.toMatchObject({
        code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
        message: expect.stringMatching(/globalSyncMs 3600000, and this engine has 21600000.*--fresh-state/),
      });
    } finally {
      await engine.close();
    }
    const off = await PartitionedLiveEngine.start(
      { ...syncConfig, engine: { ...syncConfig.engine, globalSyncMs: 0 } },
      { workers: 2 },
    );
    try {
      await expect(restorePartitionedLatest(off, store, SOURCE)).rejects.toMatchObject({
        code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
        message: expect.stringMatching(/start with engine.globalSyncMs 3600000/),
      });
    } finally {
      await off.close();
    }
    // The layout written before the sync state was checkpointed: no `sync` in the index.
    const { header, doc } = await latestIndex();
    const { sync, ...older } = doc as PartitionIndex;
    expect(sync?.everyMs).toBe(HOUR);
    const number = latest.number + 1;
    const name = `sy.${String(number).padStart(10, '0')}.vck`;
    const writer = new CheckpointWriter({ ...header, number }, older, 64 * 1024);
    const sha256 = await store.write(name, toAsync(writer.chunks()));
    await store.commit({ ...latest, name, number, bytes: writer.bytes, sha256 });
    const on = await PartitionedLiveEngine.start(syncConfig, { workers: 2 });
    try {
      await expect(restorePartitionedLatest(on, store, SOURCE)).rejects.toMatchObject({
        code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
        message: expect.stringMatching(/without the state of the sync points.*--fresh-state/),
      });
    } finally {
      await on.close();
    }
  }, 120_000);
});

async function* toAsync(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

describe("a partitioned checkpoint's names", () => {
  it('the stage piece is one of the checkpoint: numbered, named with it and pruned with it', () => {
    const layout = { partitions: 2, hash: 'fnv1a32-utf8-mod', workers: 2 };
    expect(checkpointStagePieceName('ck', 7)).toBe('ck.0000000007.stage.vck');
    expect(checkpointNumber('ck', 'ck.0000000007.stage.vck')).toBe(7);
    expect(checkpointNumber('other', 'ck.0000000007.stage.vck')).toBeUndefined();
    expect(checkpointNames('ck', 7, layout)).toEqual([
      'ck.0000000007.vck',
      'ck.0000000007.p0.vck',
      'ck.0000000007.p1.vck',
      'ck.0000000007.stage.vck',
    ]);
    expect(checkpointNames('ck', 7, undefined)).toEqual(['ck.0000000007.vck']);
    const names = [6, 7, 8].flatMap((n) => checkpointNames('ck', n, layout));
    // Keeping 1 of those up to 7: all of 6 goes, 7 stays, 8 (not committed yet) is left alone.
    expect(prunedNames('ck', names, 7, 1)).toEqual(checkpointNames('ck', 6, layout));
  });
});

describe('vigil start --workers with checkpoints, killed and restarted', () => {
  const children = new Set<ChildProcess>();
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('SIGKILL mid-stream with 2 workers, restart with 4: nothing lost, state equals the replay', async () => {
    const events = shopEvents(37, 2000, 6);
    await publishEvents(nc, events, {
      subjectPrefix: 'shop.events',
      format: 'msgpack',
      mode: 'jetstream',
      createStream: 'SHOP_EVENTS',
    });
    const jsm = await jetstreamManager(nc);
    const lastSeq = (await jsm.streams.info('SHOP_EVENTS')).state.last_seq;
    expect(lastSeq).toBe(events.length);
    const env = {
      ...process.env,
      VIGIL_CHECKPOINT__INTERVAL_MS: '300',
      VIGIL_CHECKPOINT__CHUNK_BYTES: String(64 * 1024),
      VIGIL_SERVER__LOG_LEVEL: 'warn',
    };
    const store = await ObjectStoreCheckpoints.open(
      nc,
      server.url,
      config.checkpoint.bucket,
      config.nats.consumer,
      64 * 1024,
    );
    const spawnEngine = (workers: number) => {
      const child = spawn(
        process.execPath,
        ['dist/src/app/cli.js', 'start', '--nats-url', server.url, '--port', '0', '--workers', String(workers)],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.add(child);
      let output = '';
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      child.once('exit', () => children.delete(child));
      return { child, output: () => output };
    };
    const running = (child: ChildProcess, output: () => string) => () => {
      if (child.exitCode !== null) throw new Error(`engine exited (${child.exitCode}):\n${output()}`);
    };

    // The first life: 2 workers, killed once past 40% of the stream with a checkpoint committed.
    const first = spawnEngine(2);
    const alive1 = running(first.child, first.output);
    const delivered = async () =>
      (await jsm.consumers.info('SHOP_EVENTS', 'vigil').catch(() => undefined))?.delivered.stream_seq ?? 0;
    await untilTrue('40% delivered and a checkpoint', async () => {
      alive1();
      const m = await store.latest();
      return (await delivered()) >= lastSeq * 0.4 && m !== undefined && m.position.seq > 0;
    });
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    const atKill = (await store.latest())!;
    expect(atKill.partitioned?.workers).toBe(2);
    expect(atKill.position.seq).toBeLessThan(lastSeq);

    // The second life: 4 workers, from the checkpoint to the end, then SIGTERM (final checkpoint).
    const createdBefore = (await jsm.consumers.info('SHOP_EVENTS', 'vigil')).created;
    const second = spawnEngine(4);
    const alive2 = running(second.child, second.output);
    await untilTrue('the end of the stream', async () => {
      alive2();
      const info = await jsm.consumers.info('SHOP_EVENTS', 'vigil').catch(() => undefined);
      return (
        info !== undefined &&
        info.created !== createdBefore &&
        info.delivered.stream_seq >= lastSeq &&
        info.num_ack_pending === 0 &&
        info.num_pending === 0
      );
    });
    expect(second.output()).toContain(`restored checkpoint ${atKill.number} (32 partitions, taken with 2 workers)`);
    second.child.kill('SIGTERM');
    const [code] = (await once(second.child, 'exit')) as [number | null];
    expect(code, second.output()).toBe(0);
    expect(second.output()).toMatch(/balanced=true/);

    // What the engine left: its final checkpoint, restored in process with 2 workers.
    const final = (await store.latest())!;
    expect(final.position.seq).toBe(lastSeq);
    const source = `jetstream:SHOP_EVENTS/vigil`;
    const realConfig = loadConfig({ env: {}, overrides: {} });
    const restored = await PartitionedLiveEngine.start(realConfig, { workers: 2, collectAlerts: true });
    let live: Outcome;
    try {
      await restorePartitionedLatest(restored, store, source);
      // Every message ended applied, exactly once: the counters add up to the stream.
      expect(restored.front.counters.toJSON()).toMatchObject({ input: lastSeq, duplicate: 0 });
      expect(restored.front.counters.balanced).toBe(true);
      await restored.endEventTime();
      live = outcomeOf(await restored.results(true));
    } finally {
      await restored.close();
    }
    const messages = events.map((e) => ({
      bytes: encodePayload(e, 'msgpack'),
      subject: `shop.events.${e.type}`,
      receivedAt: 0,
    }));
    const oracle = await replayOf(messages, realConfig);
    expect(live.counters).toEqual(oracle.counters);
    expect(live.dump.length).toBeGreaterThan(1000);
    expect(live.dump.length).toBe(oracle.dump.length);
    const wrong = live.dump.filter(([, v], i) => JSON.stringify(v) !== JSON.stringify(oracle.dump[i]![1])).length;
    expect(wrong).toBe(0);
    expect(JSON.stringify(live.dump)).toBe(JSON.stringify(oracle.dump));

    // Restarting with one thread (the single-threaded engine) refuses the partitioned checkpoint.
    const out = new PassThrough();
    await expect(startDemo({ natsUrl: server.url, port: 0, out, workers: 1, runForMs: 60_000 })).rejects.toMatchObject({
      code: 'VIGIL_ERR_CHECKPOINT_LAYOUT',
    });
  }, 900_000);
});

describe('the demo with --state-dir and --workers', () => {
  const demoEnv = {
    VIGIL_DEMO__CUSTOMERS: '2000',
    VIGIL_DEMO__EVENTS_PER_SECOND: '1500',
    VIGIL_DEMO__HISTORY_DAYS: '40',
    VIGIL_CHECKPOINT__INTERVAL_MS: '700',
    VIGIL_SERVER__LOG_LEVEL: 'warn',
  };

  /** `vigil start --state-dir` with `args` until 3 summary lines are out, then Ctrl-C; exit code and output. */
  async function runDemo(
    dir: string,
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number | null; text: string }> {
    const child = spawn(
      process.execPath,
      ['dist/src/app/cli.js', 'start', '--port', '0', '--state-dir', dir, ...args],
      {
        env: { ...process.env, ...demoEnv, ...env },
      },
    );
    let text = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (!interrupted && text.split('\n').filter((l) => l.includes(' ev/s | customers ')).length >= 3) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, text };
  }

  it('resumes with another number of workers; one worker refuses the partitioned checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-pck-demo-'));
    dirs.push(dir);
    const first = await runDemo(dir, ['--workers', '2']);
    expect(first.code, first.text).toBe(0);
    expect(first.text).toMatch(/^final checkpoint \d+: \d+ bytes/m);
    const store = new FileCheckpoints(dir, 'demo');
    const afterFirst = (await store.latest())!;
    expect(afterFirst.partitioned?.workers).toBe(2);
    expect(afterFirst.position.messages).toBeGreaterThan(500);

    const second = await runDemo(dir, ['--workers', '4']);
    expect(second.code, second.text).toBe(0);
    expect(second.text).toContain(`restored checkpoint ${afterFirst.number} (32 partitions, taken with 2 workers)`);
    expect(second.text).toContain(`resuming after ${afterFirst.position.messages} messages`);
    const final = (await store.latest())!;
    expect(final.position.messages).toBeGreaterThan(afterFirst.position.messages);
    // The counters went on from the checkpoint's: input counted once, balanced.
    const stopped = JSON.parse(/^stopped cleanly: (\{.*\}); balanced=true$/m.exec(second.text)![1]!) as {
      input: number;
    };
    expect(stopped.input).toBe(final.position.messages);

    const single = await runDemo(dir, ['--workers', '1']);
    expect(single.code).not.toBe(0);
    expect(single.text).toContain('VIGIL_ERR_CHECKPOINT_LAYOUT');
    expect(single.text).toContain('engine.workers above 1');
  }, 300_000);

  it('runs engine.globalSyncMs with checkpoints and workers, and resumes its sync state with another W', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-psy-demo-'));
    dirs.push(dir);
    const sync = { VIGIL_ENGINE__GLOBAL_SYNC_MS: '3600000' };
    const first = await runDemo(dir, ['--workers', '2'], sync);
    expect(first.code, first.text).toBe(0);
    expect(first.text).toMatch(/^final checkpoint \d+: \d+ bytes/m);
    const store = new FileCheckpoints(dir, 'demo');
    const afterFirst = (await store.latest())!;
    const index = readCheckpoint<CheckpointHeader>(await store.read(afterFirst)).doc as PartitionIndex;
    // The demo's history crosses many hours of event time: sync points, their broadcasts in the index.
    expect(index.sync?.everyMs).toBe(3_600_000);
    expect(index.sync!.markers).toBeGreaterThan(2);
    expect(index.sync!.recent.length).toBe(2);

    const second = await runDemo(dir, ['--workers', '3'], sync);
    expect(second.code, second.text).toBe(0);
    expect(second.text).toContain(`restored checkpoint ${afterFirst.number} (32 partitions, taken with 2 workers)`);
    const final = (await store.latest())!;
    expect(final.position.messages).toBeGreaterThan(afterFirst.position.messages);
    const after = readCheckpoint<CheckpointHeader>(await store.read(final)).doc as PartitionIndex;
    expect(after.sync!.markers).toBeGreaterThanOrEqual(index.sync!.markers);

    // Without the sync points the checkpoint is refused: the merged state would not go on.
    const off = await runDemo(dir, ['--workers', '2']);
    expect(off.code).not.toBe(0);
    expect(off.text).toContain('VIGIL_ERR_CHECKPOINT_LAYOUT');
    expect(off.text).toContain('engine.globalSyncMs 3600000');
  }, 300_000);
});
