import { parentPort, workerData } from 'node:worker_threads';
import { Outcome } from '../../core/batch.js';
import type { RejectReason } from '../../core/errors.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { RawMessage } from '../../core/source.js';
import type { EngineBatch } from '../engine-batch.js';
import { keyedStateDump, PartitionGraph, pieceDocument } from './partition-graph.js';
import type { Alert } from '../../alerts/alert.js';
import { partitionOfId } from './partition-of.js';
import type {
  CapturedPartition,
  ChurnAnswer,
  FromWorker,
  LiveOutputs,
  PartitionResult,
  PartitionWorkerInit,
  Population,
  StageFeed,
  StateQuery,
  ToWorker,
} from './partition-protocol.js';
import { concernsGlobalStage } from './global-stage.js';
import { customerAnswer } from '../../server/customer-answer.js';
import { CaptureArena } from '../checkpoint/capture-arena.js';
import { CheckpointWriter } from '../checkpoint/checkpoint-codec.js';
import { postable } from '../checkpoint/checkpoint-write-thread.js';
import { customerDumpLines } from '../customer-dump.js';
import { receiveBroadcast, SyncGate, syncPartitions, type ReceivedBroadcasts } from './sync-gate.js';

/**
 * A worker thread running the operator graph for the partitions it owns (see
 * `PartitionedEngine`). Batches come as transferred buffers of raw bytes; each partition's
 * messages go through its own graph in their order of arrival, so a partition's results do
 * not depend on which worker runs it or on how its messages were batched.
 */
const init = workerData as PartitionWorkerInit;
const port = parentPort!;
const clocks = init.wallClock === undefined ? {} : { wallClock: () => init.wallClock!, processingClock: () => 0 };
const graphs = new Map<number, PartitionGraph>();
const alertIds = new Map<number, string[]>();
/** Per partition, the alerts of `init.keepAlertTypes`, whole. */
const kept = new Map<number, Alert[]>();
const keepTypes = new Set(init.keepAlertTypes ?? []);
for (const p of init.owned) adopt(p);
let graphMs = 0;
let alerts = 0;
let messages = 0;
const pending = new Map<number, RawMessage[]>();
/** Main thread's clock to this thread's: add to a main-thread `performance.now()`. */
const fromMain = init.mainTimeOrigin - performance.timeOrigin;

function adopt(p: number): PartitionGraph {
  // Demand series and campaign cohorts run once, after the shuffle, on the main thread.
  const g = new PartitionGraph(p, init.partitions, init.config, clocks, { globalStageElsewhere: true });
  graphs.set(p, g);
  alertIds.set(p, []);
  kept.set(p, []);
  return g;
}

/** Counts partition `p`'s new alerts, and keeps their ids (`collectAlerts`) and those of `keepAlertTypes` whole. */
function collect(p: number, out: readonly Alert[]): void {
  alerts += out.length;
  if (init.collectAlerts) for (const a of out) alertIds.get(p)!.push(a.id);
  if (keepTypes.size > 0) for (const a of out) if (keepTypes.has(a.type)) kept.get(p)!.push(a);
}

function send(m: FromWorker): void {
  port.postMessage(m);
}

/** Whether the main thread runs a stage after the shuffle, which replay batches then feed. */
const feedsStage = init.config.demand.enabled || init.config.analytics.enabled;

function runBatch(bytes: ArrayBuffer, index: Uint32Array): StageFeed | undefined {
  const t0 = performance.now();
  const all = new Uint8Array(bytes);
  const n = index.length / 3;
  for (let k = 0; k < n; k++) {
    const p = index[3 * k]!;
    let list = pending.get(p);
    if (list === undefined) pending.set(p, (list = []));
    let at = positions.get(p);
    if (at === undefined) positions.set(p, (at = []));
    list.push({ bytes: all.subarray(index[3 * k + 1]!, index[3 * k + 2]!), subject: 'partitioned', receivedAt: t0 });
    at.push(k);
  }
  const watermarkAt = feedsStage ? new Float64Array(n) : undefined;
  const needed: [number, CanonicalEvent, boolean][] = [];
  for (const [p, list] of pending) {
    if (list.length === 0) continue;
    const g = graphs.get(p);
    if (g === undefined) throw new Error(`partition ${p} is not run by this worker`);
    const out = g.run(list);
    collect(p, out.alerts);
    const at = positions.get(p)!;
    if (watermarkAt !== undefined)
      for (let j = 0; j < out.outcome.length; j++) {
        watermarkAt[at[j]!] = out.watermarkAt[j]!;
        const e = out.events[j];
        if (out.outcome[j] === Outcome.applied && concernsGlobalStage(e!))
          needed.push([at[j]!, e!, g.state.firstPurchases?.isFirst(e!) ?? false]);
      }
    messages += list.length;
    list.length = 0;
    at.length = 0;
  }
  graphMs += performance.now() - t0;
  if (watermarkAt === undefined) return undefined;
  needed.sort((a, b) => a[0] - b[0]);
  const feed: StageFeed = { watermarkAt, at: [], events: [], firstPurchase: [] };
  for (const [k, e, first] of needed) {
    feed.at.push(k);
    feed.events.push(e);
    if (first) feed.firstPurchase.push(k);
  }
  return feed;
}

/** Per partition: the live batch's positions of its messages, in order. */
const positions = new Map<number, number[]>();

/**
 * A live batch: each partition's messages through its graph in their order, the outputs
 * gathered back at the positions the messages had in the batch.
 */
function runLive(m: Extract<ToWorker, { type: 'live' }>): LiveOutputs {
  const t0 = performance.now();
  const all = new Uint8Array(m.bytes);
  const n = m.index.length / 3;
  const rejectedBy = new Map<number, RejectReason>(m.rejectedBy);
  for (let k = 0; k < n; k++) {
    const p = m.index[3 * k]!;
    let list = pending.get(p);
    if (list === undefined) pending.set(p, (list = []));
    let at = positions.get(p);
    if (at === undefined) positions.set(p, (at = []));
    const bytes = all.subarray(m.index[3 * k + 1]!, m.index[3 * k + 2]!);
    const receivedAt = m.receivedAt[k]! + fromMain;
    const reason = rejectedBy.get(k);
    list.push(
      reason === undefined
        ? { bytes, subject: 'partitioned', receivedAt }
        : { bytes, subject: 'partitioned', receivedAt, rejectedBy: reason },
    );
    at.push(k);
  }
  const out = emptyOutputs(n);
  for (const [p, list] of pending) {
    if (list.length === 0) continue;
    const g = graphs.get(p);
    if (g === undefined) throw new Error(`partition ${p} is not run by this worker`);
    gather(out, g.run(list), positions.get(p)!, p);
    messages += list.length;
    list.length = 0;
    positions.get(p)!.length = 0;
  }
  graphMs += performance.now() - t0;
  return out;
}

function emptyOutputs(n: number): LiveOutputs {
  return {
    type: 'applied',
    outcome: new Uint8Array(n),
    watermarkAt: new Float64Array(n),
    events: new Array(n),
    rejections: [],
    late: [],
    lateIndex: [],
    alerts: [],
    alertEnteredAt: [],
    signals: [],
    maxEventTime: -Infinity,
    alertAt: [],
    firstPurchase: [],
  };
}

/** Partition `p`'s processed batch into the live outputs; `at[j]`: where its message j was in the live batch. */
function gather(out: LiveOutputs, b: EngineBatch, at: readonly number[], p: number): void {
  const marks = graphs.get(p)?.state.firstPurchases;
  for (let j = 0; j < b.outcome.length; j++) {
    const k = at[j]!;
    out.outcome[k] = b.outcome[j]!;
    out.watermarkAt[k] = b.watermarkAt[j]!;
    if (b.outcome[j] === Outcome.applied) {
      out.events[k] = b.events[j];
      if (marks?.isFirst(b.events[j]!)) out.firstPurchase.push(k);
    }
  }
  // Each alert's message: alertsThrough[j] alerts were out after message j; the rest came at the close.
  for (let j = 0, a = 0; a < b.alerts.length; a++) {
    while (j < b.outcome.length && b.alertsThrough[j]! <= a) j++;
    out.alertAt.push(j < b.outcome.length ? at[j]! : out.outcome.length);
  }
  for (const r of b.rejections) out.rejections.push({ index: at[r.index]!, reason: r.reason, path: r.path });
  for (let i = 0; i < b.late.length; i++) {
    out.late.push(b.late[i]!);
    out.lateIndex.push(at[b.lateIndex[i]!]!);
  }
  for (let i = 0; i < b.alerts.length; i++) {
    out.alerts.push(b.alerts[i]!);
    out.alertEnteredAt.push(b.alertEnteredAt[i]! - fromMain);
  }
  for (const s of b.signals) out.signals.push(s);
  collect(p, b.alerts);
}

function withMaxEventTime(out: LiveOutputs): LiveOutputs {
  for (const g of graphs.values()) out.maxEventTime = Math.max(out.maxEventTime, g.maxEventTime);
  return out;
}

/** A question about this worker's state (partition-protocol.ts, `StateQuery`). */
function answerQuery(q: StateQuery): unknown {
  if (q.kind === 'churn') return churnAnswer(q.asOf, q.customerIds);
  if (q.kind === 'population') {
    const total: Population = { customers: 0, segments: {} };
    for (const g of graphs.values()) {
      total.customers += g.state.store.size;
      for (const [s, n] of Object.entries(g.state.analytics?.segmentCounts() ?? {}))
        total.segments[s] = (total.segments[s] ?? 0) + n;
    }
    return total;
  }
  const state = graphs.get(q.partition)?.state;
  if (state === undefined) throw new Error(`partition ${q.partition} is not run by this worker`);
  if (q.kind === 'customer') return customerAnswer(state, q.customerId, state.watermark.watermark) ?? null;
  state.suppressed.add(q.customerId);
  return state.store.erase(q.customerId);
}

/** The `churn` query: evidence of the asked customers this worker holds, and its partitions' own session counts. */
function churnAnswer(asOf: number, customerIds: readonly string[]): ChurnAnswer {
  const answer: ChurnAnswer = { evidence: [], sessions: 0, intentSessions: 0, modelErrors: 0 };
  for (const id of customerIds) {
    const g = graphs.get(partitionOfId(id, init.partitions));
    const evidence = g?.state.analytics?.churnEvidence(id, asOf);
    if (evidence !== undefined) answer.evidence.push([id, evidence]);
  }
  for (const g of graphs.values()) {
    const a = g.state.analytics;
    if (a === undefined) continue;
    const { sessions, intentSessions } = a.ownSessions();
    answer.sessions += sessions;
    answer.intentSessions += intentSessions;
    answer.modelErrors += a.modelErrors;
  }
  return answer;
}

/** Per partition: the buffers its checkpoint captures copy into, kept between checkpoints. */
const arenas = new Map<number, CaptureArena>();

/**
 * Every partition of this worker captured now, between two of its batches, as checkpoint
 * pieces: large buffers as views of the partition's arena (shared with the main thread and
 * the checkpoint writer thread, not copied), the rest encoded here and moved.
 */
function captureAll(chunkBytes: number) {
  const t0 = performance.now();
  const partitions: CapturedPartition[] = [];
  const transfer = new Set<ArrayBuffer>();
  let grown = false;
  for (const [p, g] of graphs) {
    let arena = arenas.get(p);
    if (arena === undefined) arenas.set(p, (arena = new CaptureArena()));
    const before = arena.grownInCapture;
    const capture = g.capture(arena.begin());
    grown ||= arena.grownInCapture > before;
    const pieces = [...new CheckpointWriter(capture.header, pieceDocument(capture), chunkBytes).chunks()].map(postable);
    for (const piece of pieces) if (piece.buffer instanceof ArrayBuffer) transfer.add(piece.buffer);
    partitions.push({ partition: p, pieces, input: g.state.counters.input });
  }
  return { partitions, transfer: [...transfer], pauseMs: performance.now() - t0, grown };
}

/** The broadcast received per partition, installed at its next sync marker. */
const othersReceived: ReceivedBroadcasts = new Map();
const gate = new SyncGate(handle);
port.on('message', (m: ToWorker) => gate.receive(m));

function handle(m: ToWorker): void {
  switch (m.type) {
    case 'sync':
      send({
        type: 'partials',
        marker: m.marker,
        partials: syncPartitions(graphs, othersReceived, m.marker, gate.installs),
      });
      break;
    case 'others':
      receiveBroadcast(othersReceived, m);
      break;
    case 'live': {
      const out = withMaxEventTime(runLive(m));
      send(out);
      break;
    }
    case 'tick': {
      const t0 = performance.now();
      const out = emptyOutputs(0);
      for (const [p, g] of graphs) gather(out, g.run([]), [], p);
      graphMs += performance.now() - t0;
      send(withMaxEventTime(out));
      break;
    }
    case 'erase': {
      const state = graphs.get(m.partition)?.state;
      if (state === undefined) throw new Error(`partition ${m.partition} is not run by this worker`);
      state.suppressed.add(m.customerId);
      state.store.erase(m.customerId);
      state.campaigns?.erase(m.customerId);
      break;
    }
    case 'query': {
      // A question never fails the worker: its error goes back as the answer's.
      let answer: unknown;
      try {
        answer = answerQuery(m.query);
      } catch (e) {
        send({ type: 'answer', id: m.id, answer: null, error: (e as Error).message });
        break;
      }
      send({ type: 'answer', id: m.id, answer });
      break;
    }
    case 'batch': {
      const feed = runBatch(m.bytes, m.index);
      send(
        feed === undefined
          ? { type: 'done', messages: m.index.length / 3 }
          : { type: 'done', messages: m.index.length / 3, feed },
      );
      break;
    }
    case 'maxEventTime': {
      let max = -Infinity;
      for (const g of graphs.values()) max = Math.max(max, g.maxEventTime);
      send({ type: 'maxEventTime', value: max });
      break;
    }
    case 'finish': {
      const t0 = performance.now();
      for (const [p, g] of graphs) {
        const out = g.run([], true, m.eventTimeEnd);
        collect(p, out.alerts);
      }
      graphMs += performance.now() - t0;
      send({ type: 'finished' });
      break;
    }
    case 'results': {
      const partitions: PartitionResult[] = [...graphs].map(([p, g]) => ({
        partition: p,
        dump: m.dump ? keyedStateDump(g.state, g.state.watermark.watermark) : null,
        alertIds: alertIds.get(p)!,
        ...(keepTypes.size > 0 && { alerts: kept.get(p)! }),
        counters: g.state.counters.toJSON(),
        watermark: g.state.watermark.watermark,
        customers: g.state.store.size,
      }));
      send({ type: 'results', partitions, graphMs, alerts, messages });
      break;
    }
    case 'dumpLines': {
      const partitions = [...graphs].map(([p, g]) => ({
        partition: p,
        lines: customerDumpLines(g.state.store, m.asOf, g.state.analytics),
      }));
      send({ type: 'dumpLines', partitions });
      break;
    }
    case 'release': {
      const g = graphs.get(m.partition)!;
      graphs.delete(m.partition);
      arenas.delete(m.partition);
      const ids = alertIds.get(m.partition)!;
      alertIds.delete(m.partition);
      const keptAlerts = kept.get(m.partition)!;
      kept.delete(m.partition);
      const capture = g.capture();
      if (othersReceived.has(m.partition)) capture.pendingOthers = othersReceived.get(m.partition)!;
      othersReceived.delete(m.partition);
      send({ type: 'released', capture, alertIds: ids, kept: keptAlerts });
      break;
    }
    case 'capture': {
      const { partitions, transfer, pauseMs, grown } = captureAll(m.chunkBytes);
      port.postMessage({ type: 'captured', partitions, pauseMs, grown } satisfies FromWorker, transfer);
      break;
    }
    case 'memory': {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      let customers = 0;
      for (const g of graphs.values()) customers += g.state.store.size;
      send({
        type: 'memory',
        heapUsed: m.heapUsed,
        arrayBuffers: m.arrayBuffers,
        customers,
        settled: gc !== undefined,
      });
      break;
    }
    case 'adopt': {
      adopt(m.capture.header.partition).restore(m.capture);
      alertIds.set(m.capture.header.partition, m.alertIds);
      kept.set(m.capture.header.partition, m.kept);
      if (m.capture.pendingOthers !== undefined)
        othersReceived.set(m.capture.header.partition, m.capture.pendingOthers);
      send({ type: 'adopted', partition: m.capture.header.partition });
      break;
    }
  }
}
send({ type: 'ready' });
