import type { CanonicalEvent } from '../../src/core/event.js';
import { SEASONAL_SHOP } from '../../src/edges/demo/demand-cycle.js';
import { SyntheticShop } from '../../src/edges/demo/shop.js';

const START = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

export const EMPTY_DAY = 30;
export const SPIKE_DAY = 38;
/** A seasonal shop; day 30 has no events at all; on day 38 a crowd buys 400 units of one product. */
export function spikeShop(): { events: CanonicalEvent[]; category: string } {
  const shop = new SyntheticShop({
    seed: 5,
    customers: 1200,
    products: 120,
    startTs: START,
    endTs: START + 45 * DAY,
    demandCycle: SEASONAL_SHOP,
  });
  const out: CanonicalEvent[] = [];
  let sample: Extract<CanonicalEvent, { type: 'purchase' }> | undefined;
  for (let e = shop.next(); e !== undefined; e = shop.next()) {
    const day = Math.floor((e.ts - START) / DAY);
    if (day === EMPTY_DAY) continue;
    if (sample === undefined && e.type === 'purchase' && e.items[0]!.category !== undefined) sample = e;
    out.push(e);
  }
  const item = { ...sample!.items[0]!, quantity: 4 };
  const at = START + SPIKE_DAY * DAY + 12 * 3_600_000;
  const crowd: CanonicalEvent[] = Array.from({ length: 100 }, (_, i) => ({
    id: `crowd-${i}`,
    type: 'purchase',
    customerId: `crowd-${i}`,
    ts: at + i * 1000,
    orderId: `crowd-o-${i}`,
    items: [item],
  }));
  return { events: [...out, ...crowd].sort((a, b) => a.ts - b.ts), category: item.category! };
}
