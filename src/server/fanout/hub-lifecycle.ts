import { once } from 'node:events';
import type { ServerConfig } from '../config.js';
import { closeCodes } from '../frames.js';
import type { StreamHub } from '../stream-hub.js';

/** How long stream clients get to answer the close handshake before they are cut. */
const CLOSE_GRACE_MS = 500;

/** The hub's own periodic frames: heartbeats and pings. Returns the stopper; the timers never hold the process open. */
export function startHubTimers(cfg: Pick<ServerConfig, 'heartbeatMs' | 'pingIntervalMs'>, hub: StreamHub): () => void {
  const timers = [
    setInterval(() => hub.heartbeat(), cfg.heartbeatMs),
    setInterval(() => hub.pingAll(), cfg.pingIntervalMs),
  ];
  for (const t of timers) t.unref();
  return () => timers.forEach((t) => clearInterval(t));
}

/**
 * The hub's part of a shutdown: flush pending alerts, close every connection (1001) and wait
 * for the handshakes, cutting those that do not answer within a grace.
 */
export async function closeHub(hub: StreamHub): Promise<void> {
  hub.flush();
  const conns = [...hub.connections];
  hub.closeAll(closeCodes.goingAway, 'server shutting down');
  const grace = setTimeout(() => conns.forEach((c) => c.ws.terminate()), CLOSE_GRACE_MS);
  await Promise.all(conns.map((c) => (c.ws.readyState === c.ws.CLOSED ? undefined : once(c.ws, 'close'))));
  clearTimeout(grace);
}
