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
  // Stop taking connections first: a server some of whose sockets went to the fan-out child
  // then asks the child (as cluster does) and is answered when the child's sockets are closed.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await fanout.close();
  server.closeAllConnections();
  if (waitsForNoChild(server)) server.emit('close');
  await closed;
  alertLatency.close();
  log.info('ops server closed');
  log.flush();
}

/**
 * Node's net.Server, once one of its sockets was sent to a child process, closes only when
 * each child it sent sockets to and that is still running says they are closed; a child
 * that exited drops out of that list, and when every one has (the fan-out child restarted
 * and was sent nothing since), `close` waits for no one and never comes. Nothing is held then.
 */
function waitsForNoChild(server: Server): boolean {
  const internals = server as unknown as { _usingWorkers?: boolean; _workers?: unknown[]; listening: boolean };
  return internals._usingWorkers === true && internals._workers?.length === 0 && !internals.listening;
}
