import { parentPort, workerData } from 'node:worker_threads';
import { Outcome } from '../../core/batch.js';
import type { RejectReason } from '../../core/errors.js';
import type { RawMessage } from '../../core/source.js';
import type { EngineBatch } from '../engine-batch.js';
import { keyedStateDump, PartitionGraph } from './partition-graph.js';
import type { FromWorker, LiveOutputs, PartitionResult, PartitionWorkerInit, ToWorker } from './partition-protocol.js';
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
for (const p of init.owned) adopt(p);
let graphMs = 0;
let alerts = 0;
let messages = 0;
const pending = new Map<number, RawMessage[]>();
/** Main thread's clock to this thread's: add to a main-thread `performance.now()`. */
const fromMain = init.mainTimeOrigin - performance.timeOrigin;

function adopt(p: number): PartitionGraph {
  const g = new PartitionGraph(p, init.partitions, init.config, clocks);
  graphs.set(p, g);
  alertIds.set(p, []);
  return g;
}

function send(m: FromWorker): void {
  port.postMessage(m);
}

function runBatch(bytes: ArrayBuffer, index: Uint32Array): void {
  const t0 = performance.now();
  const all = new Uint8Array(bytes);
  for (let i = 0; i < index.length; i += 3) {
    const p = index[i]!;
    let list = pending.get(p);
    if (list === undefined) pending.set(p, (list = []));
    list.push({ bytes: all.subarray(index[i + 1]!, index[i + 2]!), subject: 'partitioned', receivedAt: t0 });
  }
  for (const [p, list] of pending) {
    if (list.length === 0) continue;
    const g = graphs.get(p);
    if (g === undefined) throw new Error(`partition ${p} is not run by this worker`);
    const out = g.run(list);
    alerts += out.alerts.length;
    if (init.collectAlerts) for (const a of out.alerts) alertIds.get(p)!.push(a.id);
    messages += list.length;
    list.length = 0;
  }
  graphMs += performance.now() - t0;
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
  };
}

/** Partition `p`'s processed batch into the live outputs; `at[j]`: where its message j was in the live batch. */
function gather(out: LiveOutputs, b: EngineBatch, at: readonly number[], p: number): void {
  for (let j = 0; j < b.outcome.length; j++) {
    const k = at[j]!;
    out.outcome[k] = b.outcome[j]!;
    out.watermarkAt[k] = b.watermarkAt[j]!;
    if (b.outcome[j] === Outcome.applied) out.events[k] = b.events[j];
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
  alerts += b.alerts.length;
  if (init.collectAlerts) for (const a of b.alerts) alertIds.get(p)!.push(a.id);
}

function withMaxEventTime(out: LiveOutputs): LiveOutputs {
  for (const g of graphs.values()) out.maxEventTime = Math.max(out.maxEventTime, g.maxEventTime);
  return out;
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
    case 'batch':
      runBatch(m.bytes, m.index);
      send({ type: 'done', messages: m.index.length / 3 });
      break;
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
        alerts += out.alerts.length;
        if (init.collectAlerts) for (const a of out.alerts) alertIds.get(p)!.push(a.id);
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
        counters: g.state.counters.toJSON(),
        watermark: g.state.watermark.watermark,
      }));
      send({ type: 'results', partitions, graphMs, alerts, messages });
      break;
    }
    case 'release': {
      const g = graphs.get(m.partition)!;
      graphs.delete(m.partition);
      const ids = alertIds.get(m.partition)!;
      alertIds.delete(m.partition);
      const capture = g.capture();
      if (othersReceived.has(m.partition)) capture.pendingOthers = othersReceived.get(m.partition)!;
      othersReceived.delete(m.partition);
      send({ type: 'released', capture, alertIds: ids });
      break;
    }
    case 'adopt': {
      adopt(m.capture.header.partition).restore(m.capture);
      alertIds.set(m.capture.header.partition, m.alertIds);
      if (m.capture.pendingOthers !== undefined)
        othersReceived.set(m.capture.header.partition, m.capture.pendingOthers);
      send({ type: 'adopted', partition: m.capture.header.partition });
      break;
    }
  }
}
send({ type: 'ready' });
