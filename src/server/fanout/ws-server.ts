import { WebSocketServer } from 'ws';
import type { ServerConfig } from '../config.js';
import { SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '../frames.js';

/**
 * The stream's WebSocket server, without an HTTP server of its own: the door (upgrade.ts)
 * has admitted the upgrade before `handleUpgrade` makes a WebSocket of it, in this process
 * (fanout inline) or in the fan-out child (fanout process).
 */
export function streamWebSocketServer(cfg: Pick<ServerConfig, 'maxPayloadBytes'>): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    maxPayload: cfg.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
    // Selects the frame encoding; never the bearer subprotocol, which only carries the token.
    handleProtocols: (offered) =>
      offered.has(SUBPROTOCOL_MSGPACK) ? SUBPROTOCOL_MSGPACK : offered.has(SUBPROTOCOL_JSON) ? SUBPROTOCOL_JSON : false,
  });
}
