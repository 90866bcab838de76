import { loadConfig } from '../src/app/config/load.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import type { WorkerMemory } from '../src/app/partitions/partition-protocol.js';
import { engineRun } from './core.js';
import { heapAndBuffers, settleHeap } from './report.js';
import { shopInput } from './support/shop-input.js';

/**
 * State memory per customer with analytics on: the single-threaded engine against the
 * partitioned engine with W workers, on the core bench's input (`customers` customers over
 * `days` days, msgpack). The single-threaded figure is this thread's heap and array buffers
 * after a run against before it (the input held throughout), as in the core suite. Worker
 * threads share the process's RSS, so each worker reports its own isolate's heap and array
 * buffers after a full GC, once started (empty partitions, code) and once the input is in;
 * the partitioned figure is the growth summed over the workers, per customer they hold.
 */
export interface MemoryBenchOptions {
  customers: number;
  days: number;
  workers: number;
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const held = (m: WorkerMemory) => m.heapUsed + m.arrayBuffers;

export async function memoryBench(opts: MemoryBenchOptions): Promise<Record<string, string | number>> {
  const config = loadConfig({ env: process.env });
  process.stderr.write(`memory: generating ${opts.days} days of shop activity for ${opts.customers} customers...\n`);
  const { messages } = shopInput({ customers: opts.customers, days: opts.days, format: 'msgpack' });

  process.stderr.write(`  single-threaded engine, ${messages.length} events...\n`);
  await settleHeap();
  const before = heapAndBuffers();
  let single: { customers: number; bytes: number };
  {
    const { engine } = await engineRun(config, messages);
    await settleHeap();
    single = { customers: engine.state.store.size, bytes: heapAndBuffers() - before };
  }
  await settleHeap();

  process.stderr.write(`  partitioned engine, ${opts.workers} workers...\n`);
  const engine = await PartitionedEngine.start(config, { workers: opts.workers });
  let empty: WorkerMemory[];
  let full: WorkerMemory[];
  try {
    empty = await engine.memory();
    await engine.feed(messages);
    await engine.finish();
    const results = await engine.results(false);
    const applied = results.reduce((s, p) => s + p.counters.applied, 0);
    if (applied !== messages.length)
      throw new Error(`memory bench input not fully applied: ${applied} of ${messages.length}`);
    full = await engine.memory();
  } finally {
    await engine.close();
  }
  if (!full.every((m) => m.settled)) throw new Error('run the bench with node --expose-gc (npm run bench does)');
  const customers = full.reduce((s, m) => s + m.customers, 0);
  const grown = full.reduce((s, m, w) => s + held(m) - held(empty[w]!), 0);
  const w = opts.workers;
  return {
    customers: opts.customers,
    events: messages.length,
    'single-threaded: customers': single.customers,
    'single-threaded: state MB': mb(single.bytes),
    'single-threaded: B/customer': Math.round(single.bytes / Math.max(1, single.customers)),
    [`${w} workers: customers (summed)`]: customers,
    [`${w} workers: heap + buffers MB per worker, started`]: empty.map((m) => mb(held(m))).join(', '),
    [`${w} workers: heap + buffers MB per worker, input in`]: full.map((m) => mb(held(m))).join(', '),
    [`${w} workers:   of which array buffers MB`]: full.map((m) => mb(m.arrayBuffers)).join(', '),
    [`${w} workers: customers per worker`]: full.map((m) => m.customers).join(', '),
    [`${w} workers: state MB (growth, summed)`]: mb(grown),
    [`${w} workers: B/customer (summed over workers)`]: Math.round(grown / Math.max(1, customers)),
    // Conservative: everything the workers' isolates hold, code and empty partitions included.
    [`${w} workers: B/customer, whole worker heaps + buffers`]: Math.round(
      full.reduce((s, m) => s + held(m), 0) / Math.max(1, customers),
    ),
    [`${w} workers / single-threaded, per customer`]: (
      grown /
      Math.max(1, customers) /
      (single.bytes / Math.max(1, single.customers))
    ).toFixed(2),
    'target B/customer (2 KB)': 2048,
  };
}
