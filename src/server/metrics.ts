import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { alertTypes } from '../alerts/alert.js';
import type { Batch } from '../core/batch.js';
import type { EngineView } from './engine-view.js';
import type { AlertLatency } from './alert-latency.js';
import type { StreamFanout } from './fanout/stream-fanout.js';

/**
 * Prometheus metrics on the server's own registry (not prom-client's global one, so two
 * servers in one process, as in tests, do not collide). Labels are closed vocabularies
 * (outcome, alert type, close reason, quantile): never a customer id, a product or a token.
 * Totals kept elsewhere (engine counters, hub counters) are read at scrape time.
 */
export class OpsMetrics {
  readonly registry = new Registry();
  private readonly batchSeconds: Histogram;
  readonly refused: Counter<'code'>;

  constructor(state: EngineView, hub: StreamFanout, latency: AlertLatency) {
    const registers = [this.registry];
    // prom-client's names already start with process_ or nodejs_: the prefix only adds vigil_.
    collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' });
    const c = state.counters;
    fromTotals(registers, 'vigil_events_total', 'Input messages by outcome.', 'outcome', () => ({
      applied: c.applied,
      duplicate: c.duplicate,
      late: c.late,
      rejected: c.rejected,
    }));
    fromTotals(registers, 'vigil_alerts_total', 'Alerts emitted by type.', 'type', () =>
      Object.fromEntries(alertTypes.map((t) => [t, state.alerts?.emitted[t] ?? 0])),
    );
    fromTotals(
      registers,
      'vigil_ws_alerts_total',
      'Alert frames to stream clients: delivered live, resent from the ring (since/replay), or dropped for a full send buffer.',
      'result',
      () => {
        const t = hub.totals();
        return { delivered: t.delivered - t.resent, resent: t.resent, dropped: t.dropped };
      },
    );
    fromTotals(registers, 'vigil_ws_closed_total', 'Stream connections the server closed, by reason.', 'reason', () => {
      const t = hub.totals();
      return { too_slow: t.closedTooSlow, protocol_error: t.closedProtocol, dead_peer: t.closedDead };
    });
    this.refused = new Counter({
      name: 'vigil_http_refused_total',
      help: 'Requests and upgrades refused, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'vigil_batch_processing_seconds',
      help: 'From a batch entering the operator graph to it reaching the ops server.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    gauge(registers, 'vigil_event_time_lag_seconds', 'Wall clock minus the latest event time seen.', () =>
      lag(state.watermark.maxEventTime),
    );
    gauge(registers, 'vigil_watermark_lag_seconds', 'Wall clock minus the watermark.', () =>
      lag(state.watermark.watermark),
    );
    gauge(
      registers,
      'vigil_customers',
      'Customers in keyed state.',
      () => state.partitions?.population().customers ?? state.store.size,
    );
    fromTotals(
      registers,
      'vigil_ws_fanout_total',
      'server.fanout process: alerts not posted to the fan-out child (its queue over its bound, or it was down), and its restarts after dying.',
      'event',
      () => ({ alerts_dropped: hub.fanoutCounters.alertsDropped, restarts: hub.fanoutCounters.restarts }),
    );
    gauge(registers, 'vigil_ws_clients', 'Open stream connections.', () => hub.clients);
    gauge(registers, 'vigil_alert_ring_seq', 'Sequence of the newest alert in the stream.', () => hub.sequence);
    const analytics = state.analytics;
    if (analytics !== undefined) {
      fromTotals(
        registers,
        'vigil_model_refits_total',
        'Model refits completed, and those whose BG/NBD fit was rejected as implausible (the parameters in force stayed).',
        'result',
        () => ({
          completed: analytics.refits,
          bgnbd_rejected: analytics.refitsRejected,
        }),
      );
      gauge(
        registers,
        'vigil_model_refit_pending',
        '1 while a refit is under way (spread over the events that follow its start), else 0.',
        () => (analytics.refitPending ? 1 : 0),
      );
    }
    const campaigns = state.campaigns?.cohorts;
    if (campaigns !== undefined) {
      fromTotals(
        registers,
        'vigil_campaign_events_total',
        'Campaign events and first purchases the cohorts left out: over campaigns.maxLive, of a campaign already reported, beyond limits.maxCustomers entries.',
        'outcome',
        () => ({
          over_limit: campaigns.outcomes.overLimit,
          after_report: campaigns.outcomes.afterReport,
          untracked: campaigns.outcomes.untracked,
        }),
      );
      gauge(registers, 'vigil_campaigns_live', 'Campaigns whose cohort window is open.', () => campaigns.liveCount());
    }
    this.registry.registerMetric(
      latency.histogram(
        'vigil_alert_latency_seconds',
        'Message in to alert frame handed to the socket, per live delivery to a stream client.',
      ),
    );
  }

  observeBatch(batch: Batch): void {
    if (batch.messages.length > 0) this.batchSeconds.observe((performance.now() - batch.startedAt) / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

function lag(ts: number): number {
  return Number.isFinite(ts) ? Math.max(0, (Date.now() - ts) / 1000) : 0;
}

function gauge(registers: Registry[], name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

/** A counter per label value that follows totals kept elsewhere (they only grow). */
function fromTotals(
  registers: Registry[],
  name: string,
  help: string,
  label: string,
  read: () => Record<string, number>,
): void {
  const seen: Record<string, number> = {};
  new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      for (const [value, total] of Object.entries(read())) {
        const delta = total - (seen[value] ?? 0);
        if (delta > 0) this.inc({ [label]: value }, delta);
        else if (seen[value] === undefined) this.inc({ [label]: value }, 0);
        seen[value] = total;
      }
    },
  });
}
