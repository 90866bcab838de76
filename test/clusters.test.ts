import { describe, expect, it } from 'vitest';
import { adjustedRandIndex } from '../src/analytics/clusters/adjusted-rand.js';
import {
  BEHAVIOUR_DIMENSIONS,
  behaviourVector,
  SlotBehaviour,
  Standardiser,
} from '../src/analytics/clusters/behaviour.js';
import { clusterLabel, matchIds } from '../src/analytics/clusters/cluster-ids.js';
import { Engine } from '../src/app/engine.js';
import { batchKMeans, inertia, MiniBatchKMeans, type Clustering } from '../src/analytics/clusters/kmeans.js';
import { compareClusterings, standardisedBehaviour } from '../src/app/cli/eval-clusters.js';
import { Random } from '../src/edges/demo/random.js';
import { shopRun } from './support/churn-truth.js';
import { runMessages, testConfig } from './support/engine-harness.js';

describe('adjusted Rand index', () => {
  it('gives the published values (scikit-learn adjusted_rand_score examples)', () => {
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
    expect(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1);
    expect(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(0.5714285714285715, 12);
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
  });
});

describe('standardiser', () => {
  it('merges partial summaries to the same mean and sd as one pass', () => {
    const r = new Random(5);
    const xs = Array.from({ length: 500 }, () => [r.next() * 10, r.next() - 3]);
    const whole = new Standardiser(2);
    const a = new Standardiser(2);
    const b = new Standardiser(2);
    xs.forEach((x, i) => {
      whole.add(x);
      (i % 3 === 0 ? a : b).add(x);
    });
    a.merge(b);
    for (let j = 0; j < 2; j++) {
      const mean = xs.reduce((s, x) => s + x[j]!, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x[j]! - mean) ** 2, 0) / (xs.length - 1));
      expect(a.mean[j]).toBeCloseTo(mean, 10);
      expect(a.sd(j)).toBeCloseTo(sd, 10);
      expect(whole.sd(j)).toBeCloseTo(sd, 10);
    }
  });
});

function blobs(seed: number, n: number, centres: number[][], spread: number): Float64Array {
  const r = new Random(seed);
  const d = centres[0]!.length;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[r.int(centres.length)]!;
    for (let j = 0; j < d; j++) out[i * d + j] = c[j]! + spread * (r.next() + r.next() + r.next() - 1.5);
  }
  return out;
}

describe('streaming mini-batch k-means', () => {
  it('ends within 10 % of batch k-means inertia on separated blobs, over several seeds', () => {
    const centres = [
      [0, 0, 0],
      [5, 0, 1],
      [0, 5, -1],
      [4, 4, 4],
      [-4, 2, 3],
    ];
    for (const seed of [1, 2, 3, 4]) {
      const points = blobs(seed, 6000, centres, 1.5);
      const s = new MiniBatchKMeans(5, 3, { batchSize: 200, seed, minRate: 0, reservoir: 1024, refreshEvery: 8 });
      for (let i = 0; i < 6000; i++) s.add(points.subarray(i * 3, i * 3 + 3));
      s.flush();
      const b = batchKMeans(points, 3, 5, { seed });
      expect(inertia(s, points) / inertia(b, points)).toBeLessThan(1.1);
    }
  });

  it('restores from a snapshot and continues identically', () => {
    const points = blobs(
      9,
      2000,
      [
        [0, 0],
        [3, 3],
        [-3, 3],
      ],
      1,
    );
    const a = new MiniBatchKMeans(3, 2, { batchSize: 64, seed: 9, minRate: 0.001, reservoir: 256, refreshEvery: 4 });
    for (let i = 0; i < 1000; i++) a.add(points.subarray(i * 2, i * 2 + 2));
    const b = new MiniBatchKMeans(3, 2, { batchSize: 64, seed: 9, minRate: 0.001, reservoir: 256, refreshEvery: 4 });
    b.restore(structuredClone(a.snapshot()));
    for (let i = 1000; i < 2000; i++) {
      a.add(points.subarray(i * 2, i * 2 + 2));
      b.add(points.subarray(i * 2, i * 2 + 2));
    }
    expect([...b.centroids]).toEqual([...a.centroids]);
  });
});

describe('cluster ids and labels', () => {
  it('keep their ids across a refresh that reorders and moves centroids a little', () => {
    const prev: Clustering = { k: 3, dimensions: 2, centroids: Float64Array.from([0, 0, 5, 5, -5, 5]) };
    const next: Clustering = {
      k: 4,
      dimensions: 2,
      centroids: Float64Array.from([-4.8, 5.1, 0.2, -0.1, 9, -9, 5.1, 4.9]),
    };
    expect(matchIds(prev, [7, 3, 11], next)).toEqual([11, 7, 12, 3]);
    expect(matchIds(undefined, [], prev)).toEqual([0, 1, 2]);
  });

  it('name the two most distinctive features of a centroid', () => {
    const c: Clustering = {
      k: 1,
      dimensions: BEHAVIOUR_DIMENSIONS,
      centroids: Float64Array.from([-2, 0.1, 0.3, 1.2, 0, 0.5]),
    };
    expect(clusterLabel(c, 0)).toBe('low_recency_high_session_rate');
  });
});

describe('clusters of the synthetic shop', () => {
  it('streaming inertia is within 10 % of batch k-means on the customers’ behaviour', async () => {
    const { messages } = shopRun(3, 1000, 45);
    const { engine } = await runMessages(testConfig(), messages);
    const points = standardisedBehaviour(engine.state.store, engine.state.watermark.watermark);
    const r = compareClusterings(points, 6, { seed: 1, batchSize: 128 });
    expect(r.customers).toBeGreaterThan(700);
    expect(r.inertia.ratio).toBeLessThan(1.1);
    expect(r.inertia.ratio).toBeGreaterThan(0.95); // batch k-means is the better optimiser, give or take its restarts
    expect(r.adjustedRand).toBeGreaterThan(0.3);
    expect(r.clusters.reduce((s, c) => s + c.size, 0)).toBe(r.customers);
  });
});

describe('the cluster process in the engine', () => {
  const config = testConfig({ clusters: { sampleEvery: 4, batchSize: 32, reservoir: 256, refreshEvery: 4 } });
  const { messages } = shopRun(4, 250, 30);

  it('does not depend on batch boundaries, survives snapshot and restore, and names each customer’s cluster', async () => {
    const small = await runMessages(config, messages, { batchSize: 13 });
    const large = await runMessages(config, messages, { batchSize: 997 });
    const a = small.engine.state.clusters!;
    expect(large.engine.state.clusters!.snapshot()).toEqual(a.snapshot());
    const published = a.clusters!;
    expect([...published.ids].sort()).toEqual([0, 1, 2, 3, 4, 5]);

    const cut = Math.floor(messages.length / 2);
    const first = await runMessages(config, messages.slice(0, cut), { batchSize: 100, finite: false });
    const resumed = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
    resumed.state.restore(first.engine.state.snapshot(), 0);
    await runMessages(config, messages.slice(cut), { engine: resumed, batchSize: 100 });
    expect(resumed.state.clusters!.snapshot()).toEqual(a.snapshot());

    const asOf = small.engine.state.watermark.watermark;
    const ids = [...small.engine.state.store.customerIds()].slice(0, 50);
    for (const id of ids) {
      const c = a.clusterOf(id, asOf)!;
      expect(published.ids).toContain(c.id);
      expect(c.label).toBe(published.labels[published.ids.indexOf(c.id)]);
    }
    expect(a.clusterOf('nobody', asOf)).toBeUndefined();
  });

  it('reads the behaviour vector from keyed state in place as the customer’s view gives it', async () => {
    const { engine } = await runMessages(config, messages, { batchSize: 500 });
    const store = engine.state.store;
    const inPlace = new SlotBehaviour(store);
    const fromSlot = new Float64Array(BEHAVIOUR_DIMENSIONS);
    let compared = 0;
    for (const id of store.customerIds()) {
      const slot = store.slotOf(id)!;
      const last = store.lastSeen(slot);
      // At the last event, within the shortest windows, and after every window has emptied.
      for (const asOf of [last, last + 3 * 3_600_000, last + 2 * 86_400_000, last + 400 * 86_400_000]) {
        const expected = behaviourVector(store.view(id, asOf)!, asOf);
        expect(Array.from(inPlace.into(slot, asOf, fromSlot))).toEqual(Array.from(expected));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(800);
  });
});
