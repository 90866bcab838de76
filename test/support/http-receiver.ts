import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** What the receiver does with a request: answer with a status (and headers), or never answer. */
export type Reply = { status: number; headers?: Record<string, string> } | 'hang';

/** A real HTTP receiver on 127.0.0.1 and a free port, recording every request it gets. */
export class HttpReceiver {
  readonly received: Received[] = [];
  private readonly hanging: ServerResponse[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** `port` 0 picks a free one; a given port lets a receiver come up where a destination was refused. */
  static async start(reply: (r: Received, all: readonly Received[]) => Reply, port = 0): Promise<HttpReceiver> {
    const ref: { self?: HttpReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { headers: req.headers, body: Buffer.concat(chunks) };
        ref.self!.received.push(r);
        const answer = reply(r, ref.self!.received);
        if (answer === 'hang') {
          ref.self!.hanging.push(res);
          return;
        }
        res.writeHead(answer.status, answer.headers);
        res.end();
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    const bound = (server.address() as { port: number }).port;
    ref.self = new HttpReceiver(server, `http://127.0.0.1:${bound}/hook`);
    return ref.self;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
