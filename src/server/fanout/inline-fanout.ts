import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Alert } from '../../alerts/alert.js';
import type { Logger } from '../../core/logger.js';
import type { Principal } from '../auth.js';
import type { ServerConfig } from '../config.js';
import type { ServerFrame } from '../frames.js';
import type { Scope } from '../scopes.js';
import type { HubCounters, StreamHub } from '../stream-hub.js';
import { closeHub, startHubTimers } from './hub-lifecycle.js';
import type { FanoutCounters, StreamFanout } from './stream-fanout.js';
import { streamWebSocketServer } from './ws-server.js';

/** `server.fanout` inline: the hub on the main thread, beside the transport and the routing. */
export class InlineFanout implements StreamFanout {
  readonly fanoutCounters: FanoutCounters = { alertsDropped: 0, restarts: 0 };
  private readonly wss: WebSocketServer;
  private readonly stopTimers: () => void;

  constructor(
    cfg: ServerConfig,
    readonly hub: StreamHub,
    private readonly log: Logger,
  ) {
    this.wss = streamWebSocketServer(cfg);
    this.stopTimers = startHubTimers(cfg, hub);
  }

  accept(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal, release: () => void): boolean {
    socket.once('close', release);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.hub.attach(ws, socket as Socket, principal);
      this.log.debug({ principal: principal.name, protocol: ws.protocol }, 'stream client connected');
    });
    return true;
  }

  publish(alerts: readonly Alert[], enteredAt: readonly number[]): void {
    this.hub.publish(alerts, enteredAt);
  }

  erase(customerId: string): number {
    return this.hub.erase(customerId);
  }

  hasReader(scope: Scope): boolean {
    return this.hub.hasReader(scope);
  }

  broadcast(frame: ServerFrame, scope: Scope): void {
    this.hub.broadcast(frame, scope);
  }

  flush(): void {
    this.hub.flush();
  }

  totals(): HubCounters {
    return this.hub.totals();
  }

  get clients(): number {
    return this.hub.connections.size;
  }

  get sequence(): number {
    return this.hub.ring.sequence;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.stopTimers();
    await closeHub(this.hub);
  }
}
