import type { AlertEmitter } from '../alerts/alert-emitter.js';
import type { VigilConfig } from './config/schema.js';
import type { CustomerStore } from '../state/customer-store.js';
import { CustomerAnalytics } from '../analytics/customer-analytics.js';
import { logarithmicBuckets, QuantileSketch } from '../analytics/quantile-sketch.js';
import { ItemNeighbours } from '../analytics/recs/item-neighbours.js';
import { ReturnHazard } from '../analytics/return-hazard.js';
import { TIME_UNITS } from '../analytics/repeat-stats.js';
import { RfmPopulation } from '../analytics/rfm.js';

/** CLV is money: 1% relative accuracy is far finer than the models' own error; a cent is nothing. */
const CLV_ACCURACY = 0.01;
const CLV_MIN = 0.01;

/** Builds the analytics from the configuration: the models, the recommender and their alert output. */
export function createCustomerAnalytics(
  config: VigilConfig,
  store: CustomerStore,
  alerts: AlertEmitter,
): CustomerAnalytics {
  return new CustomerAnalytics(config.analytics, store, {
    alerts,
    recommender: new ItemNeighbours({ maxItemIndex: config.state.maxProducts + 1 }),
    rfm: new RfmPopulation(),
    clvQuantile: new QuantileSketch(logarithmicBuckets(CLV_ACCURACY, CLV_MIN)),
    returns: new ReturnHazard(TIME_UNITS[config.analytics.timeUnit]),
  });
}
