import { aggregateRoute } from './aggregate-route.js';

/**
 * `GET /v1/clusters`: the published behavioural clusters, their ids, labels and sizes (points
 * of the clustering's sample nearest each; docs/analytics.md). 404 when clusters are off;
 * `clusters` empty before the first publication.
 */
export const serveClusters = aggregateRoute(/^\/v1\/clusters$/, (_match, state) => {
  if (state.clusters === undefined) return { notFound: 'behavioural clusters are off (clusters.enabled)' };
  const p = state.clusters.clusters;
  const total = p === undefined ? 0 : p.sizes.reduce((a, b) => a + b, 0);
  const clusters =
    p === undefined
      ? []
      : p.ids
          .map((id, q) => ({ id, label: p.labels[q]!, size: p.sizes[q]!, share: total > 0 ? p.sizes[q]! / total : 0 }))
          .sort((a, b) => a.id - b.id);
  return { body: { publishedAt: p?.at ?? null, clusters } };
});
