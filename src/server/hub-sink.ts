import type { AlertOutput } from '../alerts/alert-emitter.js';
import type { SuppressionList } from '../alerts/suppression.js';
import type { Batch } from '../core/batch.js';
import type { BatchSink } from '../core/batch-sink.js';
import type { EngineView } from './engine-view.js';
import type { KpiTracker } from './kpi.js';
import type { OpsMetrics } from './metrics.js';
import type { StreamFanout } from './fanout/stream-fanout.js';

/**
 * The ops server's sink: each processed batch feeds the metrics, the kpis and the stream.
 * Alerts about erased customers (a batch processed before the erasure may carry them) and,
 * when a suppression list is given, those it holds back from ops destinations, are left out.
 */
export function hubSink(
  hub: Pick<StreamFanout, 'publish'>,
  kpi: KpiTracker,
  metrics: OpsMetrics,
  state: EngineView,
  suppression?: SuppressionList,
): BatchSink<Batch & AlertOutput> {
  return {
    handle(batch) {
      metrics.observeBatch(batch);
      kpi.observe(batch);
      if (batch.alerts.length === 0) return;
      if (suppression === undefined && state.suppressed.size === 0) {
        hub.publish(batch.alerts, batch.alertEnteredAt);
        return;
      }
      const alerts = [];
      const enteredAt = [];
      for (let i = 0; i < batch.alerts.length; i++) {
        const alert = batch.alerts[i]!;
        if (alert.customerId !== null && state.suppressed.has(alert.customerId)) continue;
        if (suppression !== undefined && !suppression.mayDeliver(alert, 'ops')) continue;
        alerts.push(alert);
        enteredAt.push(batch.alertEnteredAt[i]!);
      }
      hub.publish(alerts, enteredAt);
    },
  };
}
