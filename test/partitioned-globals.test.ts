import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastOf, mergePartials, othersOf, type GlobalPartial } from '../src/analytics/processes/global-share.js';
import { mergeManySketches, mergeReturnHazards, mergeRfm, mergeSketches } from '../src/analytics/processes/merges.js';
import { ReturnHazard, type ReturnHazardSnapshot } from '../src/analytics/return-hazard.js';
import { logarithmicBuckets, QuantileSketch } from '../src/analytics/quantile-sketch.js';
import { emptyGaps } from '../src/analytics/refit-job.js';
import { RfmPopulation, type RfmValues } from '../src/analytics/rfm.js';
import { RunningGap } from '../src/analytics/running-gap.js';
import { eventTimeOfMessage } from '../src/app/partitions/partition-of.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import { DEFAULT_PARTITIONS } from '../src/app/partitions/partition-of.js';
import type { RawMessage } from '../src/core/source.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { encodePayload } from '../src/edges/encode.js';
import { runMessages, testConfig } from './support/engine-harness.js';

const WALL_CLOCK = Date.UTC(2030, 0, 1);
const CLV_MAPPING = logarithmicBuckets(0.01, 0.01);
const WEEK = 7 * 86_400_000;

/** One partition's partial as its analytics would hand it, from its customers' values. */
function partialOf(buyers: readonly RfmValues[], clvs: readonly number[], gaps: readonly number[]): GlobalPartial {
  const rfm = new RfmPopulation();
  for (const b of buyers) rfm.update(undefined, b);
  const clv = new QuantileSketch(CLV_MAPPING);
  for (const v of clvs) clv.insert(v);
  const gap = new RunningGap();
  for (const g of gaps) gap.add(g);
  const returns = new ReturnHazard(WEEK);
  for (const b of buyers) returns.update(undefined, b);
  return {
    rfm: rfm.snapshot(),
    clv: clv.snapshot(),
    sessionGap: gap.snapshot(),
    sessions: gaps.length + buyers.length,
    intentSessions: buyers.length,
    pooledGaps: emptyGaps(),
    returns: returns.snapshot(),
  };
}

/** A life table's open spells as counts per (class, start cell), and their summed start. */
function openSpells(r: ReturnHazardSnapshot): { counts: string; start: number } {
  const counts = r.open
    .map(([c, cell, n]) => `${c}:${cell}:${n}`)
    .sort()
    .join(' ');
  return { counts, start: r.open.reduce((s, o) => s + o[3]!, 0) };
}

const buyer = fc.record({
  lastPurchase: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2026, 6, 1) }),
  transactions: fc.integer({ min: 1, max: 900 }),
  monetary: fc.double({ min: 0, max: 1e5, noNaN: true }),
});
/** Per partition: its buyers, their CLVs and its session gaps. */
const partitions = fc.array(
  fc.record({
    buyers: fc.array(buyer, { maxLength: 40 }),
    clvs: fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { maxLength: 40 }),
    gaps: fc.array(fc.integer({ min: 1, max: 86_400_000 * 30 }), { maxLength: 20 }),
  }),
  { minLength: 1, maxLength: 12 },
);

describe('state across customers merged over partitions', () => {
  it('the merged partials equal one summary fed every partition’s values, and others + own equal the whole (fast-check)', () => {
    fc.assert(
      fc.property(partitions, (parts) => {
        const partials = parts.map((p) => partialOf(p.buyers, p.clvs, p.gaps));
        const all = partialOf(
          parts.flatMap((p) => p.buyers),
          parts.flatMap((p) => p.clvs),
          parts.flatMap((p) => p.gaps),
        );
        const merged = mergePartials(partials)!;
        // Sketches and counts exactly; running moments to rounding (Chan's parallel update).
        expect(merged.rfm).toEqual(all.rfm);
        expect(merged.clv).toEqual(all.clv);
        expect(merged.sessions).toBe(all.sessions);
        expect(merged.intentSessions).toBe(all.intentSessions);
        expect(merged.sessionGap[0]).toBe(all.sessionGap[0]);
        expect(merged.sessionGap[1]).toBeCloseTo(all.sessionGap[1], 3);
        // The return hazard's spells by adding counts (their summed starts to rounding).
        expect(openSpells(merged.returns).counts).toBe(openSpells(all.returns).counts);
        expect(openSpells(merged.returns).start).toBeCloseTo(openSpells(all.returns).start, 3);
        // The n-way merge is the fold of the pairwise one.
        expect(mergeManySketches(partials.map((p) => p.clv))).toEqual(
          partials.map((p) => p.clv).reduce((a, b) => mergeSketches(a, b)),
        );
        // What each partition installs: the totals without its own share, plus its own, is the whole.
        const b = broadcastOf(partials)!;
        partials.forEach((own, i) => {
          const others = othersOf(b.totals, own, b.scalars[i]!, new ReturnHazard(WEEK).snapshot());
          const allCount = all.rfm.recency.under + all.rfm.recency.counts.reduce((s, c) => s + c, 0);
          const ownCount = own.rfm.recency.under + own.rfm.recency.counts.reduce((s, c) => s + c, 0);
          if (others === null) {
            expect(allCount).toBe(ownCount);
            return;
          }
          expect(mergeRfm(others.rfm, own.rfm)).toEqual(all.rfm);
          expect(mergeSketches(others.clv, own.clv)).toEqual(all.clv);
          expect(others.sessions + own.sessions).toBe(all.sessions);
          expect(others.sessionGap[0] + own.sessionGap[0]).toBe(all.sessionGap[0]);
          expect(openSpells(mergeReturnHazards(others.returns, own.returns)).counts).toBe(
            openSpells(all.returns).counts,
          );
        });
      }),
      { numRuns: 60, seed: 17 },
    );
  });

  it("a message's event time from its raw bytes is its decoded ts, in msgpack and JSON (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 2 ** 52 }), fc.double({ min: 0, max: 4e12, noNaN: true })),
        fc.constantFrom('msgpack', 'json'),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        (ts, format, extra) => {
          const rest = Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'ts'));
          const bytes = encodePayload(
            { ...rest, customerId: 'c', nested: { ts: -1 }, ts },
            format as 'msgpack' | 'json',
          );
          expect(eventTimeOfMessage(bytes)).toBe(ts);
        },
      ),
      { numRuns: 500, seed: 31 },
    );
    // A Segment call: its timestamp.
    const segment = { type: 'track', userId: 'u', event: 'x', timestamp: '2025-03-01T10:00:00.000Z' };
    expect(eventTimeOfMessage(encodePayload(segment, 'json'))).toBe(Date.UTC(2025, 2, 1, 10));
    expect(eventTimeOfMessage(new TextEncoder().encode('not an event'))).toBeNaN();
  });

  describe('on the synthetic shop’s week, P = 32 against the single-threaded engine', () => {
    const messages = shopMessages(1200);
    const HOUR = 3_600_000;
    /** The alert types whose decision reads the population (RFM quintiles, the CLV cut-off, churn priors). */
    const POPULATION_TYPES = ['segment.changed', 'value.tier_changed', 'churn.risk'];
    const population = (ids: string[]) => ids.filter((id) => POPULATION_TYPES.includes(id.split(':')[0]!));
    let single: string[];
    let merged: string[];
    let unmerged: string[];
    let syncPoints = 0;

    beforeAll(async () => {
      const { batches } = await runMessages(testConfig(), messages);
      single = batches.flatMap((b) => b.alerts.map((a) => a.id)).sort();
      merged = await partitionedAlerts(
        testConfig({ engine: { globalSyncMs: HOUR } }),
        messages,
        (n) => (syncPoints = n),
      );
      unmerged = await partitionedAlerts(testConfig({ engine: { workers: 1, globalSyncMs: 0 } }), messages);
    }, 600_000);

    it('population-dependent alerts are close to the single-threaded engine’s with the merges, and far without', () => {
      const s = population(single);
      const m = population(merged);
      expect(s.length).toBeGreaterThan(50);
      expect(syncPoints).toBeGreaterThan(100); // every hour of a week
      // Bound: the others' part a partition sees is as of two sync points back (≤ 3 h old
      // at E = 1 h), so an alert near a quintile or cut-off edge may move or vanish; most must not.
      expect(jaccard(m, s)).toBeGreaterThanOrEqual(0.75);
      expect(Math.abs(m.length - s.length)).toBeLessThanOrEqual(0.15 * s.length);
      // Per type: each is within 25 % of the single-threaded count.
      for (const t of POPULATION_TYPES) {
        const count = (ids: string[]) => ids.filter((id) => id.startsWith(`${t}:`)).length;
        expect(Math.abs(count(m) - count(s))).toBeLessThanOrEqual(Math.max(2, 0.25 * count(s)));
      }
      // Without the merges each partition's population is its own (too few buyers for
      // quintiles or a cut-off): the same alerts mostly do not happen.
      expect(jaccard(population(unmerged), s)).toBeLessThan(0.25);
    });

    afterAll(() => {
      process.stdout.write(
        `population alerts: single-threaded ${population(single).length}, P=${DEFAULT_PARTITIONS} merged ${population(merged).length} (Jaccard ${jaccard(population(merged), population(single)).toFixed(3)}), unmerged ${population(unmerged).length} (Jaccard ${jaccard(population(unmerged), population(single)).toFixed(3)}); all alerts ${single.length} / ${merged.length} / ${unmerged.length}\n`,
      );
    });
  });
});

function shopMessages(customers: number): RawMessage[] {
  const startTs = Date.UTC(2025, 0, 1);
  const shop = new SyntheticShop({ seed: 11, customers, products: 800, startTs, endTs: startTs + 7 * 86_400_000 });
  const out: RawMessage[] = [];
  let i = 0;
  for (let e = shop.next(); e !== undefined; e = shop.next())
    out.push({ bytes: encodePayload(e, i++ % 5 === 0 ? 'json' : 'msgpack'), subject: 'test', receivedAt: 0 });
  return out;
}

async function partitionedAlerts(
  config: ReturnType<typeof testConfig>,
  messages: readonly RawMessage[],
  syncPoints?: (n: number) => void,
): Promise<string[]> {
  const engine = await PartitionedEngine.start(config, { workers: 2, collectAlerts: true, wallClock: WALL_CLOCK });
  try {
    await engine.feed(messages);
    await engine.finish();
    const ids = (await engine.results(false)).flatMap((r) => r.alertIds).sort();
    syncPoints?.(engine.stats.syncPoints);
    return ids;
  } finally {
    await engine.close();
  }
}

function jaccard(a: readonly string[], b: readonly string[]): number {
  const A = new Set(a);
  const B = new Set(b);
  let both = 0;
  for (const x of A) if (B.has(x)) both++;
  return A.size + B.size === 0 ? 1 : both / (A.size + B.size - both);
}
