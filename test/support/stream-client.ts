import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  serverFrame,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
  type ServerFrame,
} from '../../src/server/frames.js';

export interface ClientOptions {
  token?: string;
  /** Present the token as an offered subprotocol (as a browser must) instead of a header. */
  viaSubprotocol?: boolean;
  msgpack?: boolean;
  origin?: string;
  autoPong?: boolean;
}

/**
 * A real `ws` client of /v1/stream that keeps every frame it receives, each checked against
 * the protocol's server-frame schema (a frame that does not parse fails the test).
 */
export class StreamClient {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  readonly closedPromise: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      const value: unknown = isBinary ? msgpackDecode(data) : JSON.parse(data.toString('utf8'));
      const frame = serverFrame.parse(value);
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closedPromise = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      }),
    );
  }

  static async connect(baseUrl: string, opts: ClientOptions = {}): Promise<StreamClient> {
    const ws = open(baseUrl, opts);
    const client = new StreamClient(ws);
    const refused = new Promise<never>((_, reject) =>
      ws.once('unexpected-response', (_req, res: IncomingMessage) => reject(new Error(`refused: ${res.statusCode}`))),
    );
    await Promise.race([once(ws, 'open'), refused]);
    await client.next((f) => f.type === 'hello');
    return client;
  }

  /** The first frame (already received or still to come) matching `pred`. */
  next<T extends ServerFrame['type']>(
    pred: (f: ServerFrame) => f is Extract<ServerFrame, { type: T }>,
  ): Promise<Extract<ServerFrame, { type: T }>>;
  next(pred: (f: ServerFrame) => boolean): Promise<ServerFrame>;
  next(pred: (f: ServerFrame) => boolean): Promise<ServerFrame> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** A frame arriving after this call. */
  upcoming(pred: (f: ServerFrame) => boolean): Promise<ServerFrame> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  send(frame: unknown): void {
    this.ws.send(this.ws.protocol === SUBPROTOCOL_MSGPACK ? msgpackEncode(frame) : JSON.stringify(frame));
  }

  async subscribe(frame: Record<string, unknown>): Promise<void> {
    const id = (frame.id as string | undefined) ?? 'default';
    const done = this.upcoming((f) => f.type === 'subscribed' && f.sub === id);
    this.send({ type: 'subscribe', ...frame });
    await done;
  }

  /** Round trip: every frame the server sent before the pong has arrived when this resolves. */
  async sync(): Promise<number> {
    const nonce = Math.random().toString(36).slice(2);
    const pong = this.upcoming((f) => f.type === 'pong' && f.nonce === nonce);
    this.send({ type: 'ping', nonce });
    return ((await pong) as Extract<ServerFrame, { type: 'pong' }>).seq;
  }

  alerts(sub?: string): Extract<ServerFrame, { type: 'alert' }>[] {
    return this.frames.filter(
      (f): f is Extract<ServerFrame, { type: 'alert' }> => f.type === 'alert' && (sub === undefined || f.sub === sub),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await this.closedPromise;
  }
}

export function open(baseUrl: string, opts: ClientOptions = {}): WebSocket {
  const protocols = [opts.msgpack ? SUBPROTOCOL_MSGPACK : SUBPROTOCOL_JSON];
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) {
    if (opts.viaSubprotocol) protocols.push(BEARER_SUBPROTOCOL_PREFIX + opts.token);
    else headers.authorization = `Bearer ${opts.token}`;
  }
  return new WebSocket(baseUrl.replace(/^http/, 'ws') + '/v1/stream', protocols, {
    headers,
    ...(opts.origin !== undefined && { origin: opts.origin }),
    ...(opts.autoPong === false && { autoPong: false }),
    perMessageDeflate: false,
  });
}

/** What an upgrade that the server refuses gets: the HTTP status and the error code in the body. */
export async function refusal(baseUrl: string, opts: ClientOptions = {}): Promise<{ status: number; code: string }> {
  const ws = open(baseUrl, opts);
  ws.on('error', () => {});
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let body = '';
  for await (const chunk of res) body += chunk;
  ws.terminate();
  return { status: res.statusCode ?? 0, code: (JSON.parse(body) as { error: { code: string } }).error.code };
}
