import { parentPort, workerData } from 'node:worker_threads';
import { Subject } from 'rxjs';
import { loadConfig } from '../../src/app/config/load.js';
import { newBatch, type Batch } from '../../src/core/batch.js';
import { pipeline } from '../../src/app/pipeline.js';
import { EngineState } from '../../src/app/engine-state.js';
import { shopInput, type ShopInputOptions } from './shop-input.js';

/**
 * One engine in a worker thread of its own (its own heap, so its own GCs, major ones
 * included), replaying the core bench's input a turn at a time when told to
 * (see `interleavedOverhead` in ../core.ts). Messages:
 *   → { type: 'reset' }                      a new engine (the input stays)
 *   → { type: 'turn', from, to, end }        feed messages [from, to) (and end of input)
 *   ← { type: 'ready', messages } | { type: 'done', ms } | { type: 'applied', applied }
 */
export interface TurnTakerData {
  readonly input: ShopInputOptions;
  readonly analytics: boolean;
}

export type TurnCommand =
  { type: 'reset' } | { type: 'turn'; from: number; to: number; end: boolean } | { type: 'count' };

const { input, analytics } = workerData as TurnTakerData;
const config = loadConfig({ env: process.env, overrides: { analytics: { enabled: analytics } } });
const { messages } = shopInput(input);
const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc;
if (!gc) throw new Error('run the bench with node --expose-gc (npm run bench does)');

let state: EngineState;
let batches: Subject<Batch>;
function reset(): void {
  batches?.complete();
  state = new EngineState(config);
  batches = new Subject<Batch>();
  batches.pipe(pipeline(config, state)).subscribe();
  gc!();
}
reset();

parentPort!.on('message', (command: TurnCommand) => {
  if (command.type === 'reset') {
    reset();
    parentPort!.postMessage({ type: 'ready', messages: messages.length });
  } else if (command.type === 'count') {
    parentPort!.postMessage({ type: 'applied', applied: state.counters.applied });
  } else {
    const { from, to, end } = command;
    const batchSize = config.pipeline.batchSize;
    const t0 = performance.now();
    for (let i = from; i < to; i += batchSize) batches.next(newBatch(messages.slice(i, Math.min(to, i + batchSize))));
    if (end) batches.next(newBatch([], true));
    // The young garbage this turn left is collected now and charged to it, so a turn does
    // not begin with a scavenge the previous one made due.
    gc!({ type: 'minor' });
    parentPort!.postMessage({ type: 'done', ms: performance.now() - t0 });
  }
});
parentPort!.postMessage({ type: 'ready', messages: messages.length });
