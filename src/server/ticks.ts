import type { ServerConfig } from './config.js';
import type { StreamFanout } from './fanout/stream-fanout.js';
import type { KpiTracker } from './kpi.js';

/**
 * The kpi frame's period (heartbeats and pings are the hub's own, fanout/hub-lifecycle.ts).
 * Returns the stopper; the timer never holds the process open.
 */
export function startTicks(cfg: ServerConfig, fanout: StreamFanout, kpi: KpiTracker): () => void {
  const timer = setInterval(() => {
    kpi.tick();
    // The frame counts segments over all of state: built only when someone will read it,
    // and sent only to tokens holding kpi:read.
    if (fanout.hasReader('kpi:read')) fanout.broadcast(kpi.frame(), 'kpi:read');
  }, cfg.kpiIntervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
