import { parentPort, workerData } from 'node:worker_threads';
import type { RawMessage } from '../../core/source.js';
import { keyedStateDump, PartitionGraph } from './partition-graph.js';
import type { FromWorker, PartitionResult, PartitionWorkerInit, ToWorker } from './partition-protocol.js';

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

port.on('message', (m: ToWorker) => {
  switch (m.type) {
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
      send({ type: 'released', capture: g.capture(), alertIds: ids });
      break;
    }
    case 'adopt': {
      adopt(m.capture.header.partition).restore(m.capture);
      alertIds.set(m.capture.header.partition, m.alertIds);
      send({ type: 'adopted', partition: m.capture.header.partition });
      break;
    }
  }
});
send({ type: 'ready' });
