import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * POSTs to one URL over a keep-alive connection pool of `maxSockets`. node:http rather than
 * fetch: webhook deliveries share the engine's thread, and node:http served more requests
 * per second than fetch against a local receiver (chosen by `npm run bench -- triggers`).
 *
 * `post` resolves at the response head with the status and headers; the body is discarded,
 * and cut off past `MAX_DISCARD_BYTES` so a receiver cannot make us read without end. The
 * timeout covers connecting, sending and waiting for the head. Redirects are not followed.
 */
const MAX_DISCARD_BYTES = 64 * 1024;

export interface PostAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

export class PostTimeout extends Error {
  constructor(ms: number) {
    super(`no response head within ${ms} ms`);
    this.name = 'PostTimeout';
  }
}

export class HttpPoster {
  private readonly agent: HttpAgent;
  private readonly live = new Set<ClientRequest>();
  private readonly target: URL;

  constructor(url: string, maxSockets: number) {
    this.target = new URL(url);
    const opts = { keepAlive: true, maxSockets };
    this.agent = this.target.protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts);
  }

  post(headers: OutgoingHttpHeaders, body: Uint8Array, timeoutMs: number): Promise<PostAnswer> {
    return new Promise((resolve, reject) => {
      const send = this.target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        this.target,
        { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': body.byteLength } },
        (res) => {
          clearTimeout(timer);
          this.live.delete(req);
          let discarded = 0;
          res.on('data', (c: Buffer) => {
            discarded += c.length;
            if (discarded > MAX_DISCARD_BYTES) res.destroy();
          });
          res.on('error', () => {});
          resolve({ status: res.statusCode ?? 0, headers: res.headers });
        },
      );
      const timer = setTimeout(() => req.destroy(new PostTimeout(timeoutMs)), timeoutMs);
      this.live.add(req);
      req.on('error', (e) => {
        clearTimeout(timer);
        this.live.delete(req);
        reject(e);
      });
      req.end(body);
    });
  }

  /** Aborts requests under way (they reject) and closes idle connections. */
  close(): void {
    for (const req of this.live) req.destroy();
    this.live.clear();
    this.agent.destroy();
  }
}
