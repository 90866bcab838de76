import type { Socket } from 'node:net';
import { decode as msgpackDecode } from '@msgpack/msgpack';
import type { RawData, WebSocket } from 'ws';
import type { Alert } from '../alerts/alert.js';
import type { ServerConfig } from './config.js';
import { AlertRing } from './alert-ring.js';
import type { Principal } from './auth.js';
import type { Scope } from './scopes.js';
import { Connection, type Subscription } from './connection.js';
import {
  clientFrame,
  closeCodes,
  PROTOCOL_VERSION,
  SUBPROTOCOL_MSGPACK,
  type ServerFrame,
  type StreamErrorCode,
  type SubscribeFrame,
} from './frames.js';
import type { LatencySink } from './alert-latency.js';
import type { Logger } from '../core/logger.js';
import { AlertFrames, encodeFrame, type Encoding, type WireFrame } from './wire.js';

export interface HubCounters {
  /** Alerts taken into the ring (and offered to subscribers). */
  published: number;
  /** Ticks: each sequences what was published since the last and writes it to every socket once. */
  ticks: number;
  /** Alert frames handed to sockets (live and resent). */
  delivered: number;
  /** Of those, alerts sent again from the ring for a `since` or `replay`. */
  resent: number;
  /** Alert frames skipped for a full send buffer (each reported in a gap). */
  dropped: number;
  /** kpi/heartbeat frames skipped for a full send buffer. */
  disposableSkipped: number;
  /** Connections closed by reason. */
  closedTooSlow: number;
  closedProtocol: number;
  closedDead: number;
  /** Malformed or refused client frames answered with an error frame. */
  badFrames: number;
}

type HubLimits = Pick<
  ServerConfig,
  | 'ringCapacity'
  | 'softBufferBytes'
  | 'hardBufferBytes'
  | 'maxSubscriptions'
  | 'maxBadFrames'
  | 'clientFramesPerSecond'
  | 'flushIntervalMs'
>;

/**
 * The live stream's fan-out. Processed batches' alerts wait for the next tick (at most
 * `flushIntervalMs`, see `publish`); in a tick they get their `seq` in the ring, are encoded once, and are offered to every connection's
 * subscriptions with the connection's socket corked, so a tick costs each socket a few
 * writes however many alerts it carries rather than one write per alert frame (chosen by
 * `npm run bench -- ws`).
 * Sends never wait: a reader that falls behind is limited on its own (see `Connection`).
 * Latency is recorded per delivery, after the uncork that hands the tick to the socket.
 */
export class StreamHub {
  readonly ring: AlertRing;
  readonly connections = new Set<Connection>();
  readonly counters: HubCounters = {
    published: 0,
    ticks: 0,
    delivered: 0,
    resent: 0,
    dropped: 0,
    disposableSkipped: 0,
    closedTooSlow: 0,
    closedProtocol: 0,
    closedDead: 0,
    badFrames: 0,
  };
  private scratch = new Int32Array(1024);
  /** Alerts published since the last tick, waiting for it (see `publish`). */
  private pendingAlerts: Alert[] = [];
  private pendingEnteredAt: number[] = [];
  private lastTickAt = -Infinity;
  private tickTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: HubLimits,
    private readonly latency: LatencySink,
    private readonly log: Logger,
    /** The seq the ring starts after (see AlertRing). */
    firstSeq = 0,
  ) {
    this.ring = new AlertRing(limits.ringCapacity, firstSeq);
  }

  /** A new authenticated connection: greet it and listen to its frames. */
  attach(ws: WebSocket, socket: Socket, principal: Principal): Connection {
    const encoding: Encoding = ws.protocol === SUBPROTOCOL_MSGPACK ? 'msgpack' : 'json';
    const conn = new Connection(ws, socket, principal, encoding, this.limits, () => {
      this.counters.closedTooSlow++;
      this.log.warn({ principal: principal.name, code: closeCodes.tooSlow }, 'stream client too slow: closed');
    });
    this.connections.add(conn);
    ws.on('message', (data, isBinary) => this.onClientFrame(conn, data, isBinary));
    ws.on('pong', () => (conn.alive = true));
    ws.on('close', () => this.detach(conn));
    ws.on('error', () => this.detach(conn));
    conn.sendFrame({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      seq: this.ring.sequence,
      oldest: this.ring.oldest,
      scopes: [...principal.scopes],
      types: [...principal.types],
    });
    return conn;
  }

  private detach(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    conn.closing = true;
    this.counters.delivered += conn.stats.delivered;
    this.counters.dropped += conn.stats.dropped;
    this.counters.disposableSkipped += conn.stats.disposableSkipped;
    conn.stats.delivered = conn.stats.dropped = conn.stats.disposableSkipped = 0;
  }

  /** Totals over live and closed connections. */
  totals(): HubCounters {
    const t = { ...this.counters };
    for (const c of this.connections) {
      t.delivered += c.stats.delivered;
      t.dropped += c.stats.dropped;
      t.disposableSkipped += c.stats.disposableSkipped;
    }
    return t;
  }

  /**
   * Takes a batch's alerts for the stream. `enteredAt[i]` is when the message behind
   * `alerts[i]` entered the process (performance.now()). They go out in the next tick: now,
   * if the last tick is `flushIntervalMs` old, else when it will be. A write to a socket
   * costs about the same for one frame as for twenty, and a live source hands over small
   * batches, so ticks at most every few ms keep 100 sockets from costing a core (as Nagle
   * and Kafka's linger.ms do); an alert waits at most `flushIntervalMs` for its tick.
   */
  publish(alerts: readonly Alert[], enteredAt: readonly number[]): void {
    if (alerts.length === 0) return;
    for (let i = 0; i < alerts.length; i++) {
      this.pendingAlerts.push(alerts[i]!);
      this.pendingEnteredAt.push(enteredAt[i]!);
    }
    if (this.tickTimer !== undefined) return;
    const wait = this.lastTickAt + this.limits.flushIntervalMs - performance.now();
    if (wait <= 0) this.flush();
    else this.tickTimer = setTimeout(() => this.flush(), wait);
  }

  /**
   * Erasure: the customer's alerts leave the ring and the next tick, so no resume or replay
   * sends them again. Returns how many were dropped.
   */
  erase(customerId: string): number {
    let n = this.ring.erase(customerId);
    for (let i = this.pendingAlerts.length - 1; i >= 0; i--) {
      if (this.pendingAlerts[i]!.customerId !== customerId) continue;
      this.pendingAlerts.splice(i, 1);
      this.pendingEnteredAt.splice(i, 1);
      n++;
    }
    return n;
  }

  /** Sends what is waiting for the next tick now (also before the server closes). */
  flush(): void {
    if (this.tickTimer !== undefined) clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    const alerts = this.pendingAlerts;
    const enteredAt = this.pendingEnteredAt;
    if (alerts.length === 0) return;
    this.pendingAlerts = [];
    this.pendingEnteredAt = [];
    this.lastTickAt = performance.now();
    this.counters.ticks++;
    this.tick(alerts, enteredAt, this.lastTickAt);
  }

  /** One tick: sequence the alerts and offer them to every subscription. */
  private tick(alerts: readonly Alert[], enteredAt: readonly number[], now: number): void {
    const frames: AlertFrames[] = new Array(alerts.length);
    for (let i = 0; i < alerts.length; i++) frames[i] = new AlertFrames(this.ring.push(alerts[i]!));
    this.counters.published += alerts.length;
    // Indices of the alerts delivered to one connection this tick (one per matching subscription).
    const most = alerts.length * this.limits.maxSubscriptions;
    if (this.scratch.length < most) this.scratch = new Int32Array(most);
    // Connections with one subscription (a wall screen, a dashboard) mostly share a few
    // filters: their tick is built once per filter and written to each as one buffer.
    const runs = new Map<string, { bytes: Buffer; indices: number[] }>();
    for (const conn of this.connections) {
      if (conn.closing || conn.subs.size === 0) continue;
      if (conn.subs.size === 1) {
        const sub: Subscription = conn.subs.values().next().value!;
        if (sub.catchUp !== 0) {
          this.pump(conn);
          continue;
        }
        let run = runs.get(sub.key);
        if (run === undefined) {
          const indices: number[] = [];
          const parts: Buffer[] = [];
          for (let i = 0; i < frames.length; i++) {
            if (!sub.matches(alerts[i]!)) continue;
            indices.push(i);
            parts.push(frames[i]!.frame(conn.encoding, sub.id).bytes);
          }
          run = { bytes: Buffer.concat(parts), indices };
          runs.set(sub.key, run);
        }
        if (run.indices.length === 0) continue;
        if (conn.deliverRun(run.bytes, run.indices.length)) {
          const handed = performance.now();
          for (const i of run.indices) this.latency.record(handed - (enteredAt[i] ?? now));
          continue;
        }
      }
      let n = 0;
      conn.socket.cork();
      for (const sub of conn.subs.values()) {
        if (sub.catchUp !== 0) continue;
        for (let i = 0; i < frames.length; i++) {
          if (!sub.matches(alerts[i]!)) continue;
          if (conn.offer(sub, frames[i]!)) this.scratch[n++] = i;
        }
      }
      conn.flushGaps();
      conn.socket.uncork();
      if (conn.catchingUp()) this.pump(conn);
      if (n === 0) continue;
      const handed = performance.now();
      for (let k = 0; k < n; k++) this.latency.record(handed - (enteredAt[this.scratch[k]!] ?? now));
    }
  }

  /** Whether a connection whose token holds `scope` is open. */
  hasReader(scope: Scope): boolean {
    for (const conn of this.connections) if (conn.principal.scopes.has(scope)) return true;
    return false;
  }

  /**
   * A frame that the next of its kind replaces (kpi), for every connection whose token holds
   * `scope` (every connection when undefined).
   */
  broadcast(frame: ServerFrame, scope?: Scope): void {
    let json: WireFrame | undefined;
    let msgpack: WireFrame | undefined;
    for (const conn of this.connections) {
      if (scope !== undefined && !conn.principal.scopes.has(scope)) continue;
      const wire =
        conn.encoding === 'json' ? (json ??= encodeFrame(frame, 'json')) : (msgpack ??= encodeFrame(frame, 'msgpack'));
      conn.sendDisposable(wire);
    }
  }

  /**
   * A heartbeat says "you have everything up to seq", so a connection still being sent a
   * resume gets none until it has caught up (its `subscribed` frame says so).
   */
  heartbeat(): void {
    const wire = { json: undefined as WireFrame | undefined, msgpack: undefined as WireFrame | undefined };
    const frame: ServerFrame = { type: 'heartbeat', seq: this.ring.sequence, at: Date.now() };
    for (const conn of this.connections) {
      if (conn.catchingUp()) continue;
      conn.sendDisposable((wire[conn.encoding] ??= encodeFrame(frame, conn.encoding)));
    }
  }

  /** WebSocket ping; a peer that did not answer the previous one is terminated. */
  pingAll(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        this.counters.closedDead++;
        conn.closing = true;
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  closeAll(code: number, reason: string): void {
    for (const conn of this.connections) conn.close(code, reason);
  }

  // ---- client frames ----------------------------------------------------------------------

  private onClientFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    if (!conn.admitClientFrame()) {
      this.refuse(conn, 'VIGIL_ERR_STREAM_RATE_LIMITED', 'too many frames: slow down', undefined, true);
      return;
    }
    let value: unknown;
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      value = isBinary && conn.encoding === 'msgpack' ? msgpackDecode(bytes) : JSON.parse(bytes.toString('utf8'));
    } catch {
      this.refuse(
        conn,
        'VIGIL_ERR_STREAM_BAD_FRAME',
        isBinary && conn.encoding === 'msgpack' ? 'frame is not msgpack' : 'frame is not JSON',
        undefined,
        true,
      );
      return;
    }
    const parsed = clientFrame.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.refuse(
        conn,
        'VIGIL_ERR_STREAM_BAD_FRAME',
        `frame does not match the protocol: ${issue?.message ?? 'invalid'}`,
        issue?.path.join('.'),
        true,
      );
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'ping':
        conn.sendFrame({
          type: 'pong',
          ...(frame.nonce !== undefined && { nonce: frame.nonce }),
          seq: this.ring.sequence,
        });
        break;
      case 'unsubscribe': {
        const id = frame.id ?? 'default';
        if (!conn.subs.delete(id))
          this.refuse(conn, 'VIGIL_ERR_STREAM_UNKNOWN_SUBSCRIPTION', 'no open subscription of that id', 'id', false);
        break;
      }
      case 'subscribe':
        this.subscribe(conn, frame);
        break;
    }
  }

  private subscribe(conn: Connection, frame: SubscribeFrame): void {
    const id = frame.id ?? 'default';
    const filter = frame.filter ?? {};
    const forbidden = filter.types?.find((t) => !conn.scope.has(t));
    if (forbidden !== undefined) {
      this.refuse(
        conn,
        'VIGIL_ERR_STREAM_FORBIDDEN_TYPE',
        `this token may not see ${forbidden} alerts`,
        'filter.types',
        false,
      );
      return;
    }
    if (!conn.subs.has(id) && conn.subs.size >= this.limits.maxSubscriptions) {
      this.refuse(
        conn,
        'VIGIL_ERR_STREAM_UNKNOWN_SUBSCRIPTION',
        `at most ${this.limits.maxSubscriptions} subscriptions per connection`,
        'id',
        false,
      );
      return;
    }
    const sub = conn.subscribe(id, filter);
    // A resume or replay starts a catch-up from the ring; `subscribed` (complete up to its
    // seq) is sent when the cursor has reached the live end, right away when there is none.
    if (frame.since !== undefined) sub.catchUp = Math.max(1, frame.since + 1);
    else if (frame.replay !== undefined && frame.replay > 0) sub.catchUp = this.replayStart(sub, frame.replay);
    if (sub.catchUp > this.ring.sequence) sub.catchUp = 0;
    if (sub.catchUp === 0) conn.sendFrame({ type: 'subscribed', sub: id, seq: this.ring.sequence });
    else this.pump(conn);
  }

  /** The seq from which the newest `n` held alerts that match follow (with any newer ones). */
  private replayStart(sub: Subscription, n: number): number {
    let start = 0;
    let picked = 0;
    for (let seq = this.ring.sequence; seq >= this.ring.oldest && picked < n; seq--) {
      const held = this.ring.at(seq);
      if (held !== undefined && sub.matches(held.alert)) {
        picked++;
        start = seq;
      }
    }
    return start;
  }

  /**
   * Sends held alerts to the connection's catching-up subscriptions while its send buffer has
   * room, and continues when the socket drains. What ages out of the ring under the cursor is
   * named in an `aged_out` gap, as for a `since` that was already too old.
   */
  private pump(conn: Connection): void {
    if (conn.closing) return;
    conn.socket.cork();
    try {
      for (const sub of conn.subs.values()) {
        if (sub.catchUp === 0) continue;
        if (sub.catchUp < this.ring.oldest) {
          conn.sendFrame({ type: 'gap', sub: sub.id, from: sub.catchUp, to: this.ring.oldest - 1, reason: 'aged_out' });
          sub.catchUp = this.ring.oldest;
        }
        while (sub.catchUp <= this.ring.sequence && conn.hasRoom()) {
          const held = this.ring.at(sub.catchUp++);
          if (held !== undefined && sub.matches(held.alert) && conn.offer(sub, new AlertFrames(held)))
            this.counters.resent++;
        }
        if (sub.catchUp > this.ring.sequence) {
          sub.catchUp = 0;
          conn.sendFrame({ type: 'subscribed', sub: sub.id, seq: this.ring.sequence });
        }
      }
    } finally {
      conn.socket.uncork();
    }
    if (conn.catchingUp() && !conn.awaitingDrain) {
      conn.awaitingDrain = true;
      conn.socket.once('drain', () => {
        conn.awaitingDrain = false;
        this.pump(conn);
      });
    }
  }

  private refuse(
    conn: Connection,
    code: StreamErrorCode,
    message: string,
    path: string | undefined,
    malformed: boolean,
  ): void {
    this.counters.badFrames++;
    conn.sendFrame({ type: 'error', code, message, ...(path !== undefined && path !== '' && { path }) });
    if (malformed && ++conn.badFrames >= this.limits.maxBadFrames) {
      this.counters.closedProtocol++;
      conn.close(closeCodes.protocolError, 'too many malformed frames');
    }
  }
}
