import type { Server } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { AlertLatency } from './alert-latency.js';
import type { StreamFanout } from './fanout/stream-fanout.js';

/**
 * The ops server's shutdown, in order: stop the ticks, close the fan-out (pending alerts
 * flushed, every stream connection closed with 1001 and its handshake awaited, cut after a
 * grace; a fan-out child exits), close the HTTP server, then the latency recorder and the log.
 */
export async function shutDown(
  stopTicks: () => void,
  fanout: StreamFanout,
  server: Server,
  alertLatency: AlertLatency,
  log: Logger,
): Promise<void> {
  stopTicks();
  await fanout.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  alertLatency.close();
  log.info('ops server closed');
  log.flush();
}
