import type { KeyedProcess } from '../../state/operators/keyed-state.js';
import type { CanonicalEvent } from '../../core/event.js';
import type { CustomerStore } from '../../state/customer-store.js';
import { BEHAVIOUR_DIMENSIONS, behaviourVector, SlotBehaviour, Standardiser } from './behaviour.js';
import { clusterLabel, matchIds } from './cluster-ids.js';
import type { ClustersConfig } from './config.js';
import { MiniBatchKMeans, nearest, type Clustering, type MiniBatchKMeansSnapshot } from './kmeans.js';

export interface ClusterView {
  id: number;
  label: string;
}

export interface PublishedClusters {
  /** Event time of publication. */
  at: number;
  ids: number[];
  labels: string[];
  /**
   * Per cluster (in the order of `ids`): the points of the reservoir nearest its centroid at
   * publication. The reservoir is a uniform sample of the sampled events' behaviour vectors,
   * so these are shares of activity (a customer counts per sampled event), not of customers.
   */
  sizes: number[];
  centroids: number[];
}

export interface ClustersSnapshot {
  kmeans: MiniBatchKMeansSnapshot;
  standardiser: { n: number; mean: number[]; m2: number[] };
  published: PublishedClusters | null;
  nextPublish: number | null;
}

/**
 * Behavioural clusters as a keyed process (it reads a customer's state at the exact point
 * of the stream where an event was applied, so it runs inside the keyed-state stage, like
 * the customer analytics, not after the batch). Per-customer fields: none of its own (the
 * behaviour vector is read from keyed state, `behaviourVector`); timers: none (publication
 * follows the watermark). Global state: the population standardiser (a mergeable
 * mean/variance summary), the streaming k-means (centroids, counts, one mini-batch, a
 * reservoir sample; partitions would merge reservoirs and count-weighted centroids) and the
 * last published clustering.
 *
 * A sampled applied event (one in `sampleEvery`, chosen by a hash of its id, so the choice
 * is the same on replay) feeds its customer's current vector. Every `publishEveryMs` of
 * event time the current centroids are published with ids matched to the previous
 * publication's (`matchIds`): a profile's cluster is the nearest published centroid.
 */
export class ClusterProcess implements KeyedProcess {
  private readonly kmeans: MiniBatchKMeans;
  private readonly population = new Standardiser(BEHAVIOUR_DIMENSIONS);
  private published: PublishedClusters | undefined;
  private nextPublish: number | undefined;
  private readonly raw = new Float64Array(BEHAVIOUR_DIMENSIONS);
  private readonly z = new Float64Array(BEHAVIOUR_DIMENSIONS);
  private readonly behaviour: SlotBehaviour;

  constructor(
    private readonly config: ClustersConfig,
    private readonly store: CustomerStore,
  ) {
    this.behaviour = new SlotBehaviour(store);
    this.kmeans = new MiniBatchKMeans(config.k, BEHAVIOUR_DIMENSIONS, {
      batchSize: config.batchSize,
      seed: 1,
      minRate: config.minRate,
      reservoir: config.reservoir,
      refreshEvery: config.refreshEvery,
    });
  }

  begin(): void {}

  onSignals(): void {}

  onApplied(slot: number, event: CanonicalEvent, watermark: number): void {
    if (idHash(event.id) % this.config.sampleEvery === 0) {
      this.behaviour.into(slot, event.ts, this.raw);
      this.population.add(this.raw);
      this.kmeans.add(this.population.standardise(this.raw, this.z));
    }
    this.publishAt(watermark);
  }

  /** Publication points are watermarks seen at applied events, so they do not depend on batch ends. */
  private publishAt(watermark: number): void {
    if (!Number.isFinite(watermark)) return;
    if (this.nextPublish === undefined) {
      this.nextPublish = watermark - (watermark % this.config.publishEveryMs) + this.config.publishEveryMs;
      return;
    }
    if (watermark < this.nextPublish) return;
    if (this.kmeans.ready) this.publish(this.nextPublish);
    this.nextPublish = watermark - (watermark % this.config.publishEveryMs) + this.config.publishEveryMs;
  }

  /** The published clusters, or undefined before the first publication. */
  get clusters(): PublishedClusters | undefined {
    return this.published;
  }

  /** The customer's cluster as of `asOf` by the last publication; undefined before one or for an unknown customer. */
  clusterOf(customerId: string, asOf: number): ClusterView | undefined {
    const p = this.published;
    if (p === undefined) return undefined;
    const view = this.store.view(customerId, asOf);
    if (view === undefined) return undefined;
    const z = this.population.standardise(behaviourVector(view, asOf));
    const q = nearest(
      { k: p.ids.length, dimensions: BEHAVIOUR_DIMENSIONS, centroids: Float64Array.from(p.centroids) },
      z,
      0,
    );
    return { id: p.ids[q]!, label: p.labels[q]! };
  }

  private publish(at: number): void {
    const next: Clustering = {
      k: this.kmeans.k,
      dimensions: BEHAVIOUR_DIMENSIONS,
      centroids: Float64Array.from(this.kmeans.centroids),
    };
    const prev = this.published;
    const ids = matchIds(
      prev && { k: prev.ids.length, dimensions: BEHAVIOUR_DIMENSIONS, centroids: Float64Array.from(prev.centroids) },
      prev?.ids ?? [],
      next,
    );
    const sizes = ids.map(() => 0);
    const sample = this.kmeans.sample();
    for (let i = 0; i < sample.length / BEHAVIOUR_DIMENSIONS; i++) sizes[nearest(next, sample, i)]!++;
    this.published = {
      at,
      ids,
      labels: ids.map((_, q) => clusterLabel(next, q)),
      sizes,
      centroids: [...next.centroids],
    };
  }

  snapshot(): ClustersSnapshot {
    return {
      kmeans: this.kmeans.snapshot(),
      standardiser: { n: this.population.n, mean: [...this.population.mean], m2: [...this.population.m2] },
      published: this.published ?? null,
      nextPublish: this.nextPublish ?? null,
    };
  }

  restore(s: ClustersSnapshot): void {
    this.kmeans.restore(s.kmeans);
    this.population.n = s.standardiser.n;
    this.population.mean.set(s.standardiser.mean);
    this.population.m2.set(s.standardiser.m2);
    this.published = s.published ?? undefined;
    this.nextPublish = s.nextPublish ?? undefined;
  }
}

/** FNV-1a of the event id: which events feed the clustering, the same on every replay. */
function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
