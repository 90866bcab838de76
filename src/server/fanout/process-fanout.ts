import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../../alerts/alert.js';
import { VigilError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AlertLatency } from '../alert-latency.js';
import type { Principal } from '../auth.js';
import type { ServerConfig } from '../config.js';
import type { ConnectionGuard } from '../connection-guard.js';
import type { ServerFrame } from '../frames.js';
import type { Scope } from '../scopes.js';
import type { HubCounters } from '../stream-hub.js';
import type { FanoutReport, FromFanout, ToFanout } from './fanout-protocol.js';
import { toSharedClock } from './shared-clock.js';
import type { FanoutCounters, StreamFanout } from './stream-fanout.js';

/**
 * Under vitest the sources run as TypeScript, which a plain `node` child cannot load; the
 * child then runs the built file (tests build dist/ first), as partition workers do.
 */
const ownChild = new URL('./fanout-child.js', import.meta.url);
const CHILD_PATH = existsSync(fileURLToPath(ownChild))
  ? fileURLToPath(ownChild)
  : fileURLToPath(new URL('../../../dist/src/server/fanout/fanout-child.js', import.meta.url));

/**
 * Bounds of what is posted to the child and not yet written to its channel: a child that
 * stops reading costs the main thread at most this much memory, then its alerts are dropped
 * (counted, and logged at most every WARN_EVERY_MS).
 */
export const MAX_PENDING_BATCHES = 4096;
export const MAX_PENDING_ALERTS = 200_000;
const WARN_EVERY_MS = 10_000;
/** How long a closing child may take to say goodbye to its clients before it is killed. */
const CLOSE_TIMEOUT_MS = 3000;
/** Restart delays after unexpected deaths double from this, up to the max; a child up this long resets them. */
const RESTART_MIN_MS = 50;
const RESTART_MAX_MS = 5000;
const STABLE_MS = 10_000;

const zeroCounters = (): HubCounters => ({
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
});

/**
 * `server.fanout` process: the stream's hub in a forked child (fanout-child.ts), so the
 * fan-out to many sockets has a core of its own. The main thread keeps the HTTP server and
 * the door; each admitted upgrade's socket is sent to the child with what it needs to finish
 * the handshake, and each batch's alerts are posted in one message. Nothing waits on the
 * child: posts past the bounds above are dropped and counted.
 *
 * A child that dies is logged (VIGIL_ERR_STREAM_FANOUT) and started again; its clients lost
 * their sockets and reconnect. Its ring is gone: the new one starts after every alert posted
 * so far, so seqs never go back and a `since` from before the restart gets an `aged_out` gap.
 * Counters and latency reach the main thread in the child's reports (fanout-protocol.ts).
 */
export class ProcessFanout implements StreamFanout {
  readonly fanoutCounters: FanoutCounters = { alertsDropped: 0, restarts: 0 };
  private child: ChildProcess | undefined;
  private ready = false;
  private closing: Promise<void> | undefined;
  /** Connections handed to the child, by id: their release (caps and guard). */
  private readonly open = new Map<number, () => void>();
  private nextId = 1;
  private pendingBatches = 0;
  private pendingAlerts = 0;
  /** Alerts posted to children so far: a new child's ring starts after them. */
  private posted = 0;
  /** Counters of children that died or closed, as of their last report. */
  private readonly base = zeroCounters();
  private last: FanoutReport | undefined;
  private readonly replies = new Map<number, () => void>();
  private nextReply = 1;
  private failures = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private warnedAt = -Infinity;
  private droppedSinceWarn = 0;

  private constructor(
    private readonly cfg: ServerConfig,
    private readonly latency: AlertLatency,
    private readonly guard: ConnectionGuard,
    private readonly log: Logger,
  ) {}

  /** Forks the child and waits until it is ready. */
  static async start(
    cfg: ServerConfig,
    latency: AlertLatency,
    guard: ConnectionGuard,
    log: Logger,
  ): Promise<ProcessFanout> {
    const fanout = new ProcessFanout(cfg, latency, guard, log);
    try {
      await fanout.spawn();
    } catch (e) {
      await fanout.close();
      throw e;
    }
    return fanout;
  }

  /** The running child's pid (tests kill it). */
  get pid(): number | undefined {
    return this.ready ? this.child?.pid : undefined;
  }

  private spawn(): Promise<void> {
    this.startedAt = performance.now();
    const child = fork(CHILD_PATH, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    this.child = child;
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: FromFanout) => {
        if (m.type === 'ready' && child === this.child) {
          this.ready = true;
          resolve();
        } else this.onMessage(m);
      });
      child.once('exit', (code, signal) => {
        reject(
          new VigilError('VIGIL_ERR_STREAM_FANOUT', 'the stream fan-out process exited before it was ready', [
            `exit code ${code ?? '-'}, signal ${signal ?? '-'}`,
          ]),
        );
        this.onExit(child, code, signal);
      });
    });
    // A send to a child that has just died fails here; its exit is handled on 'exit'.
    child.on('error', (e) => this.log.debug({ err: e.message }, 'stream fan-out channel error'));
    this.post({ type: 'init', server: this.cfg, firstSeq: this.posted });
    return ready;
  }

  private onMessage(m: FromFanout): void {
    switch (m.type) {
      case 'closed': {
        const release = this.open.get(m.id);
        this.open.delete(m.id);
        release?.();
        break;
      }
      case 'report': {
        this.last = m;
        if (m.latency.hdr !== '') this.latency.absorb(m.latency);
        const reply = this.replies.get(m.reply);
        this.replies.delete(m.reply);
        reply?.();
        break;
      }
      case 'ready':
        break;
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.ready = false;
    if (this.last !== undefined)
      for (const k of Object.keys(this.base) as (keyof HubCounters)[]) this.base[k] += this.last.counters[k];
    this.last = undefined;
    for (const release of this.open.values()) release();
    this.open.clear();
    for (const reply of this.replies.values()) reply();
    this.replies.clear();
    this.pendingBatches = this.pendingAlerts = 0;
    if (this.closing !== undefined) return;
    this.fanoutCounters.restarts++;
    if (performance.now() - this.startedAt > STABLE_MS) this.failures = 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.failures++);
    this.log.error(
      { code: 'VIGIL_ERR_STREAM_FANOUT', exitCode: code, signal, restartInMs: delay },
      'stream fan-out process died: its clients reconnect; restarting it',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      // A child that cannot start exits, which schedules the next try.
      this.spawn().catch(() => undefined);
    }, delay);
  }

  private post(message: ToFanout, socket?: Socket, sent?: (error: Error | null) => void): boolean {
    const child = this.child;
    if (child === undefined || !child.connected) return false;
    try {
      child.send(message, socket, { keepOpen: false }, sent);
      return true;
    } catch {
      return false;
    }
  }

  accept(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal, release: () => void): boolean {
    if (!this.ready || this.closing !== undefined) return false;
    const tcp = socket as Socket;
    const id = this.nextId++;
    const releaseGuard = this.guard.handOver(tcp);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      this.open.delete(id);
      releaseGuard();
      release();
    };
    this.open.set(id, end);
    // From here on only the child may read the socket (see stopReading); bytes the HTTP parser
    // read past the request are `head`, any read since wait in the socket's buffer.
    stopReading(tcp);
    const more = tcp.readableLength > 0 ? (tcp.read() as Buffer | null) : null;
    const message: ToFanout = {
      type: 'upgrade',
      id,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      head: more === null ? head : Buffer.concat([head, more]),
      principal: {
        name: principal.name,
        scopes: [...principal.scopes],
        types: [...principal.types],
        maxConnections: principal.maxConnections,
      },
    };
    // Sent, this process's socket object is a shell without a handle, and the HTTP server
    // counts it as the child's (as cluster does); destroying it here would count it twice.
    const posted = this.post(message, tcp, (error) => {
      if (error === null) return;
      end();
      tcp.destroy();
    });
    if (!posted) {
      this.open.delete(id);
      releaseGuard();
      return false;
    }
    return true;
  }

  publish(alerts: readonly Alert[], enteredAt: readonly number[]): void {
    const n = alerts.length;
    if (n === 0) return;
    if (
      !this.ready ||
      this.pendingBatches >= MAX_PENDING_BATCHES ||
      this.pendingAlerts + n > MAX_PENDING_ALERTS ||
      this.closing !== undefined
    ) {
      this.drop(n);
      return;
    }
    const shared = new Array<number>(n);
    for (let i = 0; i < n; i++) shared[i] = toSharedClock(enteredAt[i]!);
    this.pendingBatches++;
    this.pendingAlerts += n;
    const child = this.child;
    const posted = this.post({ type: 'alerts', alerts, enteredAt: shared }, undefined, () => {
      if (child !== this.child) return;
      this.pendingBatches--;
      this.pendingAlerts -= n;
    });
    if (posted) this.posted += n;
    else {
      this.pendingBatches--;
      this.pendingAlerts -= n;
      this.drop(n);
    }
  }

  private drop(n: number): void {
    this.fanoutCounters.alertsDropped += n;
    this.droppedSinceWarn += n;
    const now = performance.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.log.warn(
      { dropped: this.droppedSinceWarn, pendingBatches: this.pendingBatches, pendingAlerts: this.pendingAlerts },
      'stream fan-out process behind or down: alerts not posted to it',
    );
    this.droppedSinceWarn = 0;
  }

  erase(customerId: string): number {
    // The child drops them when this arrives (after every alert posted before it).
    this.post({ type: 'erase', customerId });
    return 0;
  }

  hasReader(scope: Scope): boolean {
    return (this.last?.readers[scope] ?? 0) > 0;
  }

  broadcast(frame: ServerFrame, scope: Scope): void {
    // Only kpi frames are broadcast; the next replaces one skipped for a full queue.
    if (scope !== 'kpi:read' || !this.ready || this.pendingBatches >= MAX_PENDING_BATCHES) return;
    this.post({ type: 'kpi', frame });
  }

  flush(): void {
    this.post({ type: 'flush' });
  }

  totals(): HubCounters {
    const t = { ...this.base };
    if (this.last !== undefined) for (const k of Object.keys(t) as (keyof HubCounters)[]) t[k] += this.last.counters[k];
    return t;
  }

  get clients(): number {
    return this.last?.clients ?? 0;
  }

  get sequence(): number {
    return this.last?.sequence ?? this.posted;
  }

  sync(): Promise<void> {
    const reply = this.nextReply++;
    return new Promise<void>((resolve) => {
      this.replies.set(reply, resolve);
      if (!this.post({ type: 'report', reply })) {
        this.replies.delete(reply);
        resolve();
      }
    });
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    // 'close' follows the exit and the IPC channel's end, so the child's last report is in.
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    if (!this.post({ type: 'close' })) child.kill('SIGKILL');
    const kill = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await closed;
    clearTimeout(kill);
  }
}

/**
 * Stops this process reading the socket before its handle goes to the child. After an
 * upgrade Node leaves the handle reading (paused only once its buffer fills), and `send`
 * discards what the handle reads until the child acknowledges it: the client's first frame,
 * sent as soon as the child's 101 arrives, could be read and lost here. `readStop` on the
 * handle is what net.Socket itself calls when its buffer is full (not a public API).
 */
function stopReading(socket: Socket): void {
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } | null })._handle;
  if (typeof handle?.readStop !== 'function') return;
  handle.reading = false;
  handle.readStop();
}
