import { decodeId } from '../http-api.js';
import { aggregateRoute } from './aggregate-route.js';

/**
 * `GET /v1/forecasts`: the categories with a demand series; `GET /v1/forecasts/<category>`
 * (`_all`: every category): its forecasts.
 */
export const serveForecasts = aggregateRoute(/^\/v1\/forecasts(?:\/([^/]+))?$/, (match, state) => {
  const demand = state.demand;
  const watermark = state.watermark.watermark;
  const asOf = Number.isFinite(watermark) ? watermark : null;
  if (demand === undefined) return { notFound: 'demand forecasts are off (demand.enabled)' };
  const rawCategory = match[1];
  if (rawCategory === undefined) return { body: { asOf, categories: demand.categoryNames() } };
  const category = decodeId(rawCategory);
  const view = category === undefined ? undefined : demand.view(category);
  return view === undefined ? { notFound: 'no demand series for this category' } : { body: { asOf, ...view } };
});
