import { readCdnowPurchases } from '../../ingest/adapters/cdnow.js';
import { adjustedRandIndex } from '../../analytics/clusters/adjusted-rand.js';
import { BEHAVIOUR_DIMENSIONS, behaviourVector, Standardiser } from '../../analytics/clusters/behaviour.js';
import { clusterLabel } from '../../analytics/clusters/cluster-ids.js';
import { assignments, batchKMeans, inertia, MiniBatchKMeans } from '../../analytics/clusters/kmeans.js';
import { encodePayload } from '../../edges/encode.js';
import { loadConfig } from '../config/load.js';
import { Engine } from '../engine.js';
import { VigilError } from '../../core/errors.js';
import { readEventFile } from '../../edges/files/event-file.js';
import { InProcessSource } from '../../edges/in-process.js';
import type { RawMessage } from '../../core/source.js';
import type { CustomerStore, CustomerView } from '../../state/customer-store.js';
import { customerLinesOnWorkers } from './replay-on-workers.js';
import { workersFor } from './workers-option.js';

/**
 * `vigil eval clusters FILE [--k N] [--format cdnow]`: replays the file through the engine,
 * takes every customer's behaviour vector as of the final watermark, standardises them over
 * the population, and clusters them twice: streaming mini-batch k-means in one pass over
 * the customers in the store's order (memory: k centroids, one mini-batch of 256 and a
 * 2,048-point reservoir, refreshed every 8 mini-batches), and batch
 * k-means (Lloyd from k-means++, best of 5). Reports the inertia ratio (streaming / batch,
 * both measured on all points) and the adjusted Rand index between the two partitions.
 */
export interface EvalClustersReport {
  file: string;
  customers: number;
  k: number;
  batchSize: number;
  inertia: { streaming: number; batch: number; ratio: number };
  adjustedRand: number;
  clusters: { id: number; label: string; size: number }[];
}

export interface EvalClustersOptions {
  readonly file: string;
  readonly k?: number | undefined;
  readonly format?: string | undefined;
  readonly configFile?: string | undefined;
  readonly seed?: number | undefined;
  readonly batchSize?: number | undefined;
  /** Worker threads (`--workers`, else `engine.workers`); with more than 1, customers come in id order. */
  readonly workers?: string | number | undefined;
}

export async function evalClusters(opts: EvalClustersOptions): Promise<EvalClustersReport> {
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const k = opts.k ?? 6;
  if (!(Number.isInteger(k) && k >= 2 && k <= 50))
    throw new VigilError('VIGIL_ERR_USAGE', `--k must be an integer from 2 to 50, got ${k}`);
  const input: AsyncIterable<readonly RawMessage[]> | Iterable<RawMessage> =
    opts.format === 'cdnow'
      ? readCdnowPurchases(opts.file).map((p) => ({
          bytes: encodePayload(p, 'msgpack'),
          subject: 'cdnow',
          receivedAt: 0,
        }))
      : readEventFile(opts.file, { maxPayloadBytes: config.limits.maxPayloadBytes });
  const workers = workersFor(config, opts.workers);
  let points: Float64Array;
  if (workers > 1) {
    const { lines, watermark } = await customerLinesOnWorkers(config, input, workers);
    points = standardisedViews(
      lines.map(([, v]) => v as CustomerView),
      watermark,
    );
  } else {
    const engine = new Engine(config);
    await engine.run(new InProcessSource(input, { name: 'eval', batchSize: config.pipeline.batchSize, finite: true }));
    points = standardisedBehaviour(engine.state.store, engine.state.watermark.watermark);
  }
  return {
    file: opts.file,
    ...compareClusterings(points, k, { seed: opts.seed ?? 1, batchSize: opts.batchSize ?? 256 }),
  };
}

/** Every customer's standardised behaviour vector, rows in the store's order. */
export function standardisedBehaviour(store: CustomerStore, asOf: number): Float64Array {
  return standardisedViews(
    [...store.customerIds()].map((id) => store.view(id, asOf)!),
    asOf,
  );
}

/** The standardised behaviour vectors of customer views (as of `asOf`), rows in the views' order. */
export function standardisedViews(views: readonly CustomerView[], asOf: number): Float64Array {
  const raw = new Float64Array(views.length * BEHAVIOUR_DIMENSIONS);
  const population = new Standardiser(BEHAVIOUR_DIMENSIONS);
  views.forEach((v, i) => {
    const row = raw.subarray(i * BEHAVIOUR_DIMENSIONS, (i + 1) * BEHAVIOUR_DIMENSIONS);
    behaviourVector(v, asOf, row);
    population.add(row);
  });
  for (let i = 0; i < views.length; i++) {
    const row = raw.subarray(i * BEHAVIOUR_DIMENSIONS, (i + 1) * BEHAVIOUR_DIMENSIONS);
    row.set(population.standardise(row));
  }
  return raw;
}

export function compareClusterings(
  points: Float64Array,
  k: number,
  opts: { seed: number; batchSize: number },
): Omit<EvalClustersReport, 'file'> {
  const d = BEHAVIOUR_DIMENSIONS;
  const n = points.length / d;
  if (n < Math.max(k, opts.batchSize))
    throw new VigilError('VIGIL_ERR_USAGE', `${n} customers are too few to cluster with k = ${k}`);
  const streaming = new MiniBatchKMeans(k, d, {
    batchSize: opts.batchSize,
    seed: opts.seed,
    minRate: 0,
    reservoir: 2048,
    refreshEvery: 8,
  });
  for (let i = 0; i < n; i++) streaming.add(points.subarray(i * d, (i + 1) * d));
  streaming.flush();
  const batch = batchKMeans(points, d, k, { seed: opts.seed });
  const si = inertia(streaming, points);
  const bi = inertia(batch, points);
  const labels = assignments(streaming, points);
  const sizes = new Array<number>(k).fill(0);
  for (const q of labels) sizes[q]!++;
  return {
    customers: n,
    k,
    batchSize: opts.batchSize,
    inertia: { streaming: si, batch: bi, ratio: si / bi },
    adjustedRand: adjustedRandIndex(labels, assignments(batch, points)),
    clusters: sizes.map((size, q) => ({ id: q, label: clusterLabel(streaming, q), size })),
  };
}
