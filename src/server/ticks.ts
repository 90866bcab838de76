import type { ServerConfig } from './config.js';
import type { KpiTracker } from './kpi.js';
import type { StreamHub } from './stream-hub.js';

/** The hub's periodic frames: kpis, heartbeats, pings. Returns the stopper; the timers never hold the process open. */
export function startTicks(cfg: ServerConfig, hub: StreamHub, kpi: KpiTracker): () => void {
  const timers = [
    setInterval(() => {
      kpi.tick();
      // The frame counts segments over all of state: built only when someone will read it,
      // and sent only to tokens holding kpi:read.
      if (hub.hasReader('kpi:read')) hub.broadcast(kpi.frame(), 'kpi:read');
    }, cfg.kpiIntervalMs),
    setInterval(() => hub.heartbeat(), cfg.heartbeatMs),
    setInterval(() => hub.pingAll(), cfg.pingIntervalMs),
  ];
  for (const t of timers) t.unref();
  return () => timers.forEach((t) => clearInterval(t));
}
