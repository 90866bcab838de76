import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { AlertLatency } from './alert-latency.js';
import { closeCodes } from './frames.js';
import type { StreamHub } from './stream-hub.js';

/** How long stream clients get to answer the close handshake before they are cut. */
const CLOSE_GRACE_MS = 500;

/**
 * The ops server's shutdown, in order: stop the ticks, flush pending alerts, close every
 * stream connection (1001) and wait for the handshakes (cut after a grace), close the
 * HTTP server, then the latency recorder and the log.
 */
export async function shutDown(
  stopTicks: () => void,
  hub: StreamHub,
  server: Server,
  alertLatency: AlertLatency,
  log: Logger,
): Promise<void> {
  stopTicks();
  hub.flush();
  const conns = [...hub.connections];
  hub.closeAll(closeCodes.goingAway, 'server shutting down');
  const grace = setTimeout(() => conns.forEach((c) => c.ws.terminate()), CLOSE_GRACE_MS);
  await Promise.all(conns.map((c) => (c.ws.readyState === c.ws.CLOSED ? undefined : once(c.ws, 'close'))));
  clearTimeout(grace);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  alertLatency.close();
  log.info('ops server closed');
  log.flush();
}
