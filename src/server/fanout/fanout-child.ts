import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocketServer } from 'ws';
import { ALERT_LATENCY_BUCKETS } from '../alert-latency.js';
import type { Principal } from '../auth.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { Scope } from '../scopes.js';
import { StreamHub } from '../stream-hub.js';
import type { FanoutReport, FromFanout, ToFanout } from './fanout-protocol.js';
import { closeHub, startHubTimers } from './hub-lifecycle.js';
import { LatencyDelta } from './latency-delta.js';
import { fromSharedClock } from './shared-clock.js';
import { streamWebSocketServer } from './ws-server.js';

/**
 * The stream's fan-out child process (`server.fanout` process), forked by process-fanout.ts:
 * a StreamHub as on the main thread (subscriptions, filters, ring, slow-reader limits,
 * heartbeats, pings), fed the alerts the main thread posts, finishing the handshakes of the
 * sockets it is handed. It reports its counters and latency records on a period and when
 * asked; it exits when told to close or when the main process goes away.
 */

/** How often the child reports its counters and latency records unasked. */
const REPORT_MS = 200;

interface Running {
  readonly hub: StreamHub;
  readonly latency: LatencyDelta;
  readonly wss: WebSocketServer;
  readonly log: Logger;
  readonly stop: () => void;
}

let running: Running | undefined;
/** Messages that arrive while the hub is being made (its latency recorder loads asynchronously). */
const early: [ToFanout, unknown][] = [];
let starting = false;

function send(message: FromFanout, then?: () => void): void {
  if (process.connected) process.send!(message, undefined, undefined, then);
  else then?.();
}

function report(r: Running, reply: number): FanoutReport {
  const readers: Partial<Record<Scope, number>> = {};
  for (const conn of r.hub.connections)
    for (const scope of conn.principal.scopes) readers[scope] = (readers[scope] ?? 0) + 1;
  return {
    type: 'report',
    reply,
    counters: r.hub.totals(),
    clients: r.hub.connections.size,
    sequence: r.hub.ring.sequence,
    readers,
    latency: r.latency.take(),
  };
}

async function start(m: Extract<ToFanout, { type: 'init' }>): Promise<void> {
  const log = createLogger(m.server.logLevel).child({ part: 'fanout' });
  const latency = await LatencyDelta.create(ALERT_LATENCY_BUCKETS.length + 1);
  const hub = new StreamHub(m.server, latency, log, m.firstSeq);
  const stopTimers = startHubTimers(m.server, hub);
  const r: Running = { hub, latency, log, wss: streamWebSocketServer(m.server), stop: () => undefined };
  const reports = setInterval(() => send(report(r, 0)), REPORT_MS);
  running = { ...r, stop: () => (stopTimers(), clearInterval(reports)) };
  send({ type: 'ready' });
  for (const [message, handle] of early.splice(0)) dispatch(message, handle);
}

function upgrade(r: Running, m: Extract<ToFanout, { type: 'upgrade' }>, socket: Socket | undefined): void {
  if (socket === undefined) {
    // The client went away while its socket was in flight.
    send({ type: 'closed', id: m.id });
    return;
  }
  socket.on('error', () => socket.destroy());
  socket.once('close', () => send({ type: 'closed', id: m.id }));
  const principal: Principal = {
    name: m.principal.name,
    scopes: new Set(m.principal.scopes),
    types: [...m.principal.types],
    maxConnections: m.principal.maxConnections,
  };
  // What ws reads of the request: method, url, headers.
  const req = { method: m.method, url: m.url, headers: m.headers } as IncomingMessage;
  r.wss.handleUpgrade(req, socket, Buffer.from(m.head), (ws) => {
    r.hub.attach(ws, socket, principal);
    r.log.debug({ principal: principal.name, protocol: ws.protocol }, 'stream client connected');
  });
}

async function close(r: Running): Promise<void> {
  r.stop();
  await closeHub(r.hub);
  send(report(r, 0), () => process.exit(0));
}

function dispatch(m: ToFanout, handle: unknown): void {
  if (m.type === 'init') {
    if (starting) return;
    starting = true;
    void start(m);
    return;
  }
  const r = running;
  if (r === undefined) {
    early.push([m, handle]);
    return;
  }
  switch (m.type) {
    case 'upgrade':
      upgrade(r, m, handle as Socket | undefined);
      break;
    case 'alerts': {
      const enteredAt = m.enteredAt.map(fromSharedClock);
      r.hub.publish(m.alerts, enteredAt);
      break;
    }
    case 'erase':
      r.hub.erase(m.customerId);
      break;
    case 'kpi':
      r.hub.broadcast(m.frame, 'kpi:read');
      break;
    case 'flush':
      r.hub.flush();
      break;
    case 'report':
      send(report(r, m.reply));
      break;
    case 'close':
      void close(r);
      break;
  }
}

process.on('message', (m: ToFanout, handle: unknown) => dispatch(m, handle));
// The main process is gone (its IPC channel closed): nothing feeds this hub any more.
process.on('disconnect', () => process.exit(0));
// A Ctrl-C or a TERM to the process group reaches this child too: the main process stops it
// (close frames to its clients first) as part of its own shutdown, or by going away.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
