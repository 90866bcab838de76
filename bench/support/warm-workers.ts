import type { VigilConfig } from '../../src/app/config/schema.js';
import type { RawMessage } from '../../src/core/source.js';
import { encodePayload } from '../../src/edges/encode.js';
import { InProcessSource } from '../../src/edges/in-process.js';
import { SyntheticShop } from '../../src/edges/demo/shop.js';
import type { PartitionedLiveEngine } from '../../src/app/partitions/partitioned-live.js';

/**
 * Worker threads start with cold isolates, while the main thread's JIT has compiled the graph
 * in earlier runs of the same bench; so before the clock starts, other events go through the
 * workers' graphs: `n` events of another shop (seed 11: its own event ids; customer ids may
 * be the bench's, which only gives those customers some history), a week ending at `endTs`,
 * before the bench input's first event, so none of the measured events is late for it.
 */
export function warmUpMessages(n: number, endTs: number, subject: string): RawMessage[] {
  const startTs = endTs - 7 * 86_400_000;
  const shop = new SyntheticShop({ seed: 11, customers: 2000, products: 5000, startTs, endTs });
  const out: RawMessage[] = [];
  for (let e = shop.next(); e !== undefined && out.length < n; e = shop.next())
    out.push({ bytes: encodePayload(e, 'msgpack'), subject, receivedAt: 0 });
  return out;
}

/** The warm-up events through the engine's workers, in live-sized batches. */
export async function warmWorkers(
  engine: PartitionedLiveEngine,
  config: VigilConfig,
  messages: readonly RawMessage[],
): Promise<void> {
  const source = new InProcessSource(messages, {
    name: 'warm-up',
    batchSize: config.pipeline.liveBatchSize,
    finite: true,
  });
  await engine.run(source);
}
