import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorCodes, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { presentedToken, type OriginPolicy, type TokenTable } from './auth.js';
import type { StreamFanout } from './fanout/stream-fanout.js';
import { requestUrl } from './routes/request-url.js';
import type { StreamCaps } from './stream-caps.js';

const HTTP_STATUS: Partial<Record<ErrorCode, string>> = {
  VIGIL_ERR_AUTH: '401 Unauthorized',
  VIGIL_ERR_ORIGIN: '403 Forbidden',
  VIGIL_ERR_FORBIDDEN_SCOPE: '403 Forbidden',
  VIGIL_ERR_CONNECTION_LIMIT: '429 Too Many Requests',
  VIGIL_ERR_NOT_FOUND: '404 Not Found',
  VIGIL_ERR_STREAM_FANOUT: '503 Service Unavailable',
};

export interface UpgradeParts {
  readonly origins: OriginPolicy;
  readonly tokens: TokenTable;
  readonly caps: StreamCaps;
  readonly fanout: StreamFanout;
  readonly refused: (code: ErrorCode) => void;
  readonly log: Logger;
}

/**
 * The stream's door (`/v1/stream`): path, origin, bearer token, scope `stream`, then the
 * connection caps, all in the HTTP `upgrade` handler. A refused upgrade gets a plain HTTP
 * status and its socket is closed before any WebSocket exists; an admitted one goes to the
 * fan-out (here, or in its child process), which makes the WebSocket and joins it to the hub.
 */
export class StreamUpgrade {
  constructor(private readonly parts: UpgradeParts) {}

  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { origins, tokens, caps, fanout } = this.parts;
    socket.on('error', () => socket.destroy());
    const refuse = (code: ErrorCode, message: string) => this.refuse(socket, code, message);
    if (requestUrl(req)?.pathname !== '/v1/stream') return refuse('VIGIL_ERR_NOT_FOUND', 'the stream is at /v1/stream');
    if (!origins.allows(req.headers.origin)) return refuse('VIGIL_ERR_ORIGIN', errorCodes.VIGIL_ERR_ORIGIN.summary);
    const principal = tokens.authenticate(presentedToken(req));
    if (principal === undefined) return refuse('VIGIL_ERR_AUTH', 'a bearer token from server.tokens is required');
    if (!principal.scopes.has('stream'))
      return refuse('VIGIL_ERR_FORBIDDEN_SCOPE', 'this token lacks the scope stream');
    const release = caps.admit(principal);
    if (release === undefined) return refuse('VIGIL_ERR_CONNECTION_LIMIT', 'too many stream connections');
    if (!fanout.accept(req, socket, head, principal, release)) {
      release();
      refuse('VIGIL_ERR_STREAM_FANOUT', 'the stream fan-out process is restarting: retry shortly');
    }
  }

  private refuse(socket: Duplex, code: ErrorCode, message: string): void {
    this.parts.refused(code);
    this.parts.log.debug({ code }, 'stream upgrade refused'); // counted in vigil_http_refused_total; a flood must not flood the log
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${HTTP_STATUS[code] ?? '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `${code === 'VIGIL_ERR_AUTH' ? 'WWW-Authenticate: Bearer\r\n' : ''}Connection: close\r\n\r\n${body}`,
    );
  }
}
