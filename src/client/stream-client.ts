import WebSocket from 'ws';
import type { AlertFilter } from '../alerts/alert-filter.js';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  serverFrame,
  SUBPROTOCOL_JSON,
  type AlertFrame,
  type GapFrame,
  type KpiFrame,
} from '../server/frames.js';

/** Why the client stopped for good (it retries anything else). */
export class VigilStreamError extends Error {
  constructor(
    readonly code: 'VIGIL_ERR_AUTH' | 'VIGIL_ERR_ORIGIN' | 'VIGIL_ERR_STREAM_BAD_FRAME',
    message: string,
  ) {
    super(message);
    this.name = 'VigilStreamError';
  }
}

export interface VigilStreamOptions {
  /** The stream's address, e.g. ws://127.0.0.1:8080/v1/stream. */
  readonly url: string;
  /** A token of `server.tokens`, or the one `vigil start` printed. */
  readonly token: string;
  /** Server-side filter (docs/stream.md): types, segments, minSeverity, minScore. */
  readonly filter?: AlertFilter;
  /** Resume after this seq (one your application has already handled); default: live only. */
  readonly since?: number;
  /** Reconnect delays: full jitter, doubling from `baseMs` up to `maxMs`. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Alerts held while the consumer is behind; past this the socket is paused (TCP pushes back). */
  readonly highWaterMark?: number;
  /** The server could not resend `from`..`to` (aged out of its ring, or this client was too slow). */
  readonly onGap?: (gap: GapFrame) => void;
  readonly onKpi?: (kpi: KpiFrame) => void;
  readonly onStatus?: (status: 'connecting' | 'open' | 'reconnecting' | 'closed', detail?: string) => void;
}

/**
 * A typed client of Vigil's live alert stream for Node: it connects with the token, subscribes
 * with the filter, checks every frame against the protocol's zod schemas, and after a lost
 * connection reconnects with jittered exponential backoff and resumes with `since` = the last
 * seq it yielded, so nothing the server still holds is missed or repeated. A server restart
 * (its `hello.seq` below the last seq seen) starts from that server's beginning. Iterate it:
 *
 *   for await (const { seq, alert } of connectStream({ url, token, filter: { types: ['churn.risk'] } })) …
 *
 * Authentication and origin refusals end the iteration with a VigilStreamError.
 */
export class VigilStream implements AsyncIterable<AlertFrame> {
  /** The seq of the last alert yielded (0: none yet); resume from here after a restart of your own. */
  lastSeq = 0;
  /** The newest seq received (queued or yielded): where a reconnect resumes; -1 before the first hello. */
  private receivedSeq: number;
  private ws: WebSocket | undefined;
  private readonly queue: AlertFrame[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  private retries = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(private readonly opts: VigilStreamOptions) {
    this.receivedSeq = opts.since ?? -1;
    this.connect();
  }

  private connect(): void {
    this.opts.onStatus?.(this.retries === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.opts.url, [SUBPROTOCOL_JSON, BEARER_SUBPROTOCOL_PREFIX + this.opts.token]);
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 401) this.fail(new VigilStreamError('VIGIL_ERR_AUTH', 'the server refused the token (401)'));
      else if (status === 403)
        this.fail(new VigilStreamError('VIGIL_ERR_ORIGIN', 'the server refused the origin (403)'));
      else ws.emit('close', 1006, Buffer.from(`HTTP ${status}`)); // 429, 5xx: try again later
    });
    ws.on('error', () => {}); // a 'close' follows; it decides
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(ws, data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.closed) return;
      const delay = Math.floor(
        Math.random() * Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(this.retries, 30)),
      );
      this.retries++;
      this.opts.onStatus?.('reconnecting', `closed ${code} ${reason.toString()}`.trim());
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  private get backoff(): { baseMs: number; maxMs: number } {
    return this.opts.backoff ?? { baseMs: 250, maxMs: 30_000 };
  }

  private onFrame(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    const parsed = serverFrame.safeParse(isBinary ? undefined : JSON.parse(data.toString('utf8')));
    if (!parsed.success) {
      this.fail(
        new VigilStreamError(
          'VIGIL_ERR_STREAM_BAD_FRAME',
          `a frame did not match the protocol: ${parsed.error.issues[0]?.message ?? ''}`,
        ),
      );
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'hello': {
        this.retries = 0;
        this.opts.onStatus?.('open');
        // First connection without `since`: from now on. A restarted server numbers from 1
        // again: what it holds is all new to us.
        if (this.receivedSeq < 0) this.receivedSeq = frame.seq;
        else if (frame.seq < this.receivedSeq) this.receivedSeq = 0;
        ws.send(
          JSON.stringify({
            type: 'subscribe',
            ...(this.opts.filter && { filter: this.opts.filter }),
            since: this.receivedSeq,
          }),
        );
        break;
      }
      case 'alert':
        if (frame.seq <= this.receivedSeq) break; // already received before a reconnect
        this.receivedSeq = frame.seq;
        this.queue.push(frame);
        if (!this.paused && this.queue.length >= (this.opts.highWaterMark ?? 10_000)) {
          this.paused = true;
          ws.pause();
        }
        this.wake?.();
        break;
      case 'gap':
        this.opts.onGap?.(frame);
        break;
      case 'kpi':
        this.opts.onKpi?.(frame);
        break;
      case 'error':
        if (frame.code === 'VIGIL_ERR_STREAM_FORBIDDEN_TYPE')
          this.fail(new VigilStreamError('VIGIL_ERR_AUTH', frame.message));
        break;
      default:
        break;
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    void this.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<AlertFrame> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next !== undefined) {
          if (this.paused && this.queue.length < (this.opts.highWaterMark ?? 10_000) / 2) {
            this.paused = false;
            this.ws?.resume();
          }
          this.lastSeq = next.seq;
          yield next;
          continue;
        }
        if (this.failure !== undefined) throw this.failure;
        if (this.closed) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
    } finally {
      await this.close();
    }
  }

  /** Stops for good: no reconnect; an iteration in progress ends after the alerts already held. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const ws = this.ws;
    this.wake?.();
    this.opts.onStatus?.('closed');
    if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
      const done = new Promise<void>((r) => ws.once('close', () => r()));
      ws.close(1000);
      await done;
    }
  }
}

export function connectStream(opts: VigilStreamOptions): VigilStream {
  return new VigilStream(opts);
}
