import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Alert, AlertType } from '../alerts/alert.js';
import { matcher, type AlertFilter } from '../alerts/alert-filter.js';
import type { Principal } from './auth.js';
import { closeCodes, type ServerFrame } from './frames.js';
import { AlertFrames, encodeFrame, type Encoding, type WireFrame } from './wire.js';

/** WebSocket.OPEN; ws's constants live on the class, which this module does not otherwise need. */
const OPEN = 1;
/** How long a connection closed with 4008 may take to read its backlog and the close frame. */
export const TOO_SLOW_GRACE_MS = 5000;

export interface BufferLimits {
  /** Past this many bytes queued, alerts are dropped and a gap is sent instead. */
  readonly softBufferBytes: number;
  /** Past this many, the connection is closed with 4008. */
  readonly hardBufferBytes: number;
}

/** One subscription of a connection: its name, its compiled filter, and what it skipped this tick. */
export interface Subscription {
  readonly id: string;
  /**
   * Equal for subscriptions that match the same alerts with the same frames (encoding, id,
   * filter as sent, token scope): within a tick they can share one run of bytes.
   */
  readonly key: string;
  readonly matches: (alert: Alert) => boolean;
  /**
   * While a resume or replay is being sent: the next held seq to offer (0 when live). Held
   * alerts go out as fast as the client reads them, never faster, so a reader that keeps up
   * gets all of a long resume without the drops a slow one earns; live alerts wait in the
   * ring for the cursor to reach them.
   */
  catchUp: number;
  /** Sequences dropped for a full buffer since the last gap frame: [from, to], or from = 0. */
  gapFrom: number;
  gapTo: number;
}

export interface ConnectionStats {
  delivered: number;
  dropped: number;
  disposableSkipped: number;
}

/**
 * One authenticated WebSocket and its subscriptions. Every send checks the connection's own
 * send buffer (`bufferedAmount`), so a reader that falls behind costs the hub a comparison,
 * not memory: past the soft limit alerts are skipped and the skipped range is reported in a
 * `gap` frame at the end of the tick (the client reads it, in order, when it catches up);
 * past the hard limit the connection is closed with 4008. kpi and heartbeat frames are
 * disposable (the next one replaces them) and are simply skipped past the soft limit.
 */
export class Connection {
  readonly subs = new Map<string, Subscription>();
  readonly scope: ReadonlySet<AlertType>;
  badFrames = 0;
  /** Client frames the connection may still send now (a token bucket, refilled per second). */
  private allowance: number;
  private allowanceAt = performance.now();
  /** A catch-up waits for the socket's 'drain' (one listener at a time). */
  awaitingDrain = false;
  /** Answered the last ping. */
  alive = true;
  closing = false;
  readonly stats: ConnectionStats = { delivered: 0, dropped: 0, disposableSkipped: 0 };

  constructor(
    readonly ws: WebSocket,
    /**
     * The TCP socket under `ws`: frames are written to it ready-made (`wire.ts`), and it is
     * corked around a tick so a tick's frames leave in few writes.
     */
    readonly socket: Socket,
    readonly principal: Principal,
    readonly encoding: Encoding,
    private readonly limits: BufferLimits & { readonly clientFramesPerSecond: number },
    private readonly onTooSlow: (c: Connection) => void,
  ) {
    this.scope = new Set(principal.types);
    this.allowance = 2 * limits.clientFramesPerSecond;
  }

  /** Takes one client frame from the allowance; false when it is spent. */
  admitClientFrame(now = performance.now()): boolean {
    const rate = this.limits.clientFramesPerSecond;
    this.allowance = Math.min(2 * rate, this.allowance + ((now - this.allowanceAt) * rate) / 1000);
    this.allowanceAt = now;
    if (this.allowance < 1) return false;
    this.allowance--;
    return true;
  }

  subscribe(id: string, filter: AlertFilter): Subscription {
    const match = matcher(filter);
    const scope = this.scope;
    const key = [this.encoding, id, JSON.stringify(filter), [...scope].sort().join(',')].join('\u0000');
    const sub: Subscription = {
      id,
      key,
      matches: (a) => scope.has(a.type) && match(a),
      catchUp: 0,
      gapFrom: 0,
      gapTo: 0,
    };
    this.subs.set(id, sub);
    return sub;
  }

  /** A control or reply frame: sent unless the connection is past its hard limit. */
  sendFrame(frame: ServerFrame): void {
    this.sendWire(encodeFrame(frame, this.encoding));
  }

  /** Room under the soft limit for another held alert (a catching-up subscription never overfills). */
  hasRoom(): boolean {
    return !this.closing && this.ws.readyState === OPEN && this.ws.bufferedAmount <= this.limits.softBufferBytes;
  }

  /** Some subscription is still being sent what it asked for from the ring. */
  catchingUp(): boolean {
    for (const sub of this.subs.values()) if (sub.catchUp !== 0) return true;
    return false;
  }

  /** A frame that the next of its kind replaces (kpi, heartbeat): skipped past the soft limit. */
  sendDisposable(wire: WireFrame): void {
    if (this.closing) return;
    if (this.ws.bufferedAmount > this.limits.softBufferBytes) {
      this.stats.disposableSkipped++;
      return;
    }
    this.sendWire(wire);
  }

  /** Offers an alert to one subscription; true when its frame was handed to the socket. */
  offer(sub: Subscription, frames: AlertFrames): boolean {
    if (this.closing) return false;
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.limits.softBufferBytes) {
      if (buffered > this.limits.hardBufferBytes) {
        this.tooSlow();
        return false;
      }
      const seq = frames.entry.seq;
      if (sub.gapFrom === 0) sub.gapFrom = seq;
      sub.gapTo = seq;
      this.stats.dropped++;
      return false;
    }
    if (this.ws.readyState !== OPEN) return false;
    this.socket.write(frames.frame(this.encoding, sub.id).bytes);
    this.stats.delivered++;
    return true;
  }

  /**
   * A tick's alert frames for this connection's one subscription, as one run of bytes shared
   * with every connection subscribed alike. Sent only if all of it fits under the soft
   * limit, when sending them one by one would have sent each; otherwise false, and the
   * caller offers them one by one (which drops, gaps or closes as needed).
   */
  deliverRun(bytes: Buffer, count: number): boolean {
    if (this.closing || this.ws.readyState !== OPEN) return false;
    if (this.ws.bufferedAmount + bytes.length > this.limits.softBufferBytes) return false;
    this.socket.write(bytes);
    this.stats.delivered += count;
    return true;
  }

  /** End of a tick: a gap frame for every subscription that skipped alerts in it. */
  flushGaps(): void {
    for (const sub of this.subs.values()) {
      if (sub.gapFrom === 0) continue;
      const gap: ServerFrame = { type: 'gap', sub: sub.id, from: sub.gapFrom, to: sub.gapTo, reason: 'slow_consumer' };
      sub.gapFrom = sub.gapTo = 0;
      this.sendFrame(gap);
    }
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
  }

  private sendWire(wire: WireFrame): void {
    if (this.closing) return;
    if (this.ws.bufferedAmount > this.limits.hardBufferBytes) {
      this.tooSlow();
      return;
    }
    if (this.ws.readyState === OPEN) this.socket.write(wire.bytes);
  }

  private tooSlow(): void {
    if (this.closing) return;
    this.close(closeCodes.tooSlow, 'send buffer over the hard limit');
    // The close frame waits behind the backlog. A reader that resumes soon gets both; one
    // that does not would hold the backlog's memory until ws's own 30 s close timeout.
    setTimeout(() => this.ws.terminate(), TOO_SLOW_GRACE_MS).unref();
    this.onTooSlow(this);
  }
}
