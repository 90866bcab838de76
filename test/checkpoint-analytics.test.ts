import { describe, expect, it } from 'vitest';
import { ALL_CATEGORIES } from '../src/analytics/demand/demand-process.js';
import { CaptureArena } from '../src/app/checkpoint/capture-arena.js';
import { CheckpointWriter, readCheckpoint } from '../src/app/checkpoint/checkpoint-codec.js';
import { Engine } from '../src/app/engine.js';
import type { CanonicalEvent } from '../src/core/event.js';
import type { StateSnapshot } from '../src/app/engine-state.js';
import { SEASONAL_SHOP } from '../src/edges/demo/demand-cycle.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { dump, message, runMessages, testConfig } from './support/engine-harness.js';

/**
 * Issue 22 with issue 16's checkpoints: demand series, campaign cohorts and behavioural
 * clusters go through capture → checkpoint bytes → decode → restoreCapture unchanged, and a
 * restored engine goes on exactly as the original does.
 */
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const config = testConfig({
  clusters: { publishEveryMs: 7 * DAY },
  demand: { alerts: { measure: 'units', granularities: ['hourly', 'daily'] } },
});
const clocks = { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 };

/** A seasonal shop whose purchases by every fourth customer in the first three weeks came through a campaign. */
function events(): CanonicalEvent[] {
  const shop = new SyntheticShop({
    seed: 21,
    customers: 400,
    products: 150,
    startTs: START,
    endTs: START + 70 * DAY,
    demandCycle: SEASONAL_SHOP,
  });
  const out: CanonicalEvent[] = [];
  for (let e = shop.next(); e !== undefined; e = shop.next()) {
    const tagged =
      e.type === 'purchase' && e.ts < START + 21 * DAY && Number(/\d+/.exec(e.customerId)?.[0] ?? 1) % 4 === 0;
    out.push(tagged ? { ...e, campaign: { id: 'spring', channel: 'email' }, coupon: 'SPRING10' } : e);
  }
  return out;
}

describe('checkpoints of demand, campaigns and clusters', () => {
  it('survive capture → encode → decode → restore identically, and the restored engine goes on as the original', async () => {
    const all = events().map((e) => message(e));
    const cut = Math.floor(all.length * 0.6);
    const { engine } = await runMessages(config, all.slice(0, cut), { finite: false, batchSize: 113 });
    const s = engine.state;
    const asOf = s.watermark.watermark;
    // The parts under test hold data (so their equality below means something).
    expect(s.demand!.categoryNames().length).toBeGreaterThan(3);
    expect(s.demand!.view(ALL_CATEGORIES)!.daily.measures.units.observedBuckets).toBeGreaterThan(20);
    expect(s.campaigns!.report('spring', asOf)!.converted).toBeGreaterThan(10);
    expect(s.alerts!.emitted['demand.spike'] + s.alerts!.emitted['demand.drop']).toBeGreaterThan(0);
    const someone = [...s.store.customerIds()].find((id) => s.clusters!.clusterOf(id, asOf) !== undefined);
    expect(someone).toBeDefined();

    const writer = new CheckpointWriter({ n: 1 }, s.capture(new CaptureArena().begin()), 4096);
    const { doc } = readCheckpoint<{ n: number }>(Buffer.concat([...writer.chunks()]));
    const restored = new Engine(config, clocks);
    restored.state.restoreCapture(doc as StateSnapshot, 0);
    const r = restored.state;
    expect(Buffer.from(r.snapshot()).equals(Buffer.from(s.snapshot()))).toBe(true);
    expect(r.demand!.categoryNames()).toEqual(s.demand!.categoryNames());
    for (const c of s.demand!.categoryNames()) expect(r.demand!.view(c)).toEqual(s.demand!.view(c));
    expect(r.campaigns!.report('spring', asOf)).toEqual(s.campaigns!.report('spring', asOf));
    expect(r.clusters!.clusterOf(someone!, asOf)).toEqual(s.clusters!.clusterOf(someone!, asOf));
    // The snapshot route restores them as well.
    const viaSnapshot = new Engine(config, clocks);
    viaSnapshot.state.restore(s.snapshot(), 0);
    expect(viaSnapshot.state.campaigns!.report('spring', asOf)).toEqual(s.campaigns!.report('spring', asOf));

    // Both go on over the rest of the input, raise the same alerts (demand ones among them) and end in the same state.
    const rest = all.slice(cut);
    const after = await runMessages(config, rest, { engine, finite: false, batchSize: 113 });
    const afterRestore = await runMessages(config, rest, { engine: restored, finite: false, batchSize: 113 });
    const alertsOf = (r: typeof after) => r.batches.flatMap((b) => b.alerts);
    expect(alertsOf(afterRestore)).toEqual(alertsOf(after));
    expect(alertsOf(after).some((a) => a.type.startsWith('demand.'))).toBe(true);
    expect(Buffer.from(r.snapshot()).equals(Buffer.from(s.snapshot()))).toBe(true);
    expect(dump(restored)).toEqual(dump(engine));
    const end = s.watermark.watermark;
    expect(r.demand!.view(ALL_CATEGORIES)).toEqual(s.demand!.view(ALL_CATEGORIES));
    expect(r.campaigns!.report('spring', end)).toEqual(s.campaigns!.report('spring', end));
  }, 120_000);

  it('a snapshot of an older version is refused with VIGIL_ERR_SNAPSHOT', () => {
    const engine = new Engine(config, clocks);
    const doc = { ...engine.state.capture(), version: 3 } as StateSnapshot;
    expect(() => engine.state.restoreCapture(doc, 0)).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_SNAPSHOT' }));
  });
});
