/**
 * The one registry of Vigil's error codes. Codes are stable: tests, logs, dead-letter
 * headers and the docs (docs/errors.md) refer to them, never to message text.
 * A code marked `reject: true` can be the reason an input message was rejected.
 */
export const errorCodes = {
  VIGIL_ERR_CONFIG: { reject: false, summary: 'The configuration is invalid; every problem is listed by path.' },
  VIGIL_ERR_USAGE: { reject: false, summary: 'A command was called with wrong arguments.' },
  VIGIL_ERR_INPUT_FILE: { reject: false, summary: 'An input file could not be read.' },
  VIGIL_ERR_SUPPRESSION_LIST: {
    reject: false,
    summary:
      'The suppression list is malformed or over alerts.suppression.maxIds or maxFileBytes; the message names the line or array element, never the id.',
  },
  VIGIL_ERR_FIT: {
    reject: false,
    summary:
      'vigil fit found no usable estimate: the search did not converge, or a parameter left [1e-8, 1e4] (a degenerate ridge of the likelihood, e.g. too few customers, or a file replayed out of time order); the details name what was seen.',
  },
  VIGIL_ERR_SNAPSHOT: {
    reject: false,
    summary:
      'A state snapshot or checkpoint is corrupt, of an unknown version, or taken with other windows or settings; `--fresh-state` starts empty instead.',
  },
  VIGIL_ERR_CHECKPOINT: {
    reject: false,
    summary:
      'A checkpoint could not be written or read: the store (JetStream Object Store and KV, or checkpoint.dir) refused or is unreachable; the details say which.',
  },
  VIGIL_ERR_CHECKPOINT_LAYOUT: {
    reject: false,
    summary:
      'The latest checkpoint was taken with another partition layout than this start runs: by the single-threaded engine (engine.workers 1) while this start has engine.workers > 1, or the reverse, or with another partition count or hash, or by an older version whose partitioned checkpoint has no piece for the demand series and campaign cohorts (resuming it would start them empty), or with other sync points for the state across customers (engine.globalSyncMs: another value, or none in a checkpoint of an older version while this start sets it above 0). Start with the engine.workers the message names (any number above 1 restores a partitioned checkpoint of the same partition count), or `--fresh-state` to begin empty.',
  },
  VIGIL_ERR_WORKERS_UNSUPPORTED: {
    reject: false,
    summary:
      'engine.workers (or --workers) > 1 was asked for with something the partitioned engine does not run yet: replay with checkpoints (--state-dir) or with --triggers, or eval forecast on canonical events; the message names it.',
  },
  VIGIL_ERR_WORKER_QUERY: {
    reject: false,
    summary:
      'With engine.workers > 1, a partition worker did not answer a question about its state (a customer, an erasure, population counts) within its time limit, or failed; the API answers 503 and nothing was changed by the query itself.',
  },
  VIGIL_ERR_TRIGGER_STREAM: {
    reject: false,
    summary:
      "The marketing trigger stream (triggers.nats.stream) could not be created, e.g. its subjects overlap another stream, or a webhook destination's consumer on it (vigil-webhook-<name>) could not be; the server's reason is in the details.",
  },
  VIGIL_ERR_ERASURE: {
    reject: false,
    summary:
      'An erasure could not be recorded in the suppression list (JetStream KV or erasure.file); the customer was not erased. HTTP 503 on DELETE /v1/customers/:id.',
  },
  VIGIL_ERR_SERVER_LISTEN: {
    reject: false,
    summary: 'The ops server could not listen on server.host:server.port (in use, or not permitted).',
  },
  VIGIL_ERR_STREAM_FANOUT: {
    reject: false,
    summary:
      'server.fanout process: the stream fan-out child process died (logged with its exit code or signal) and is restarted; its clients were disconnected and reconnect, and a `since` from before the restart gets an aged_out gap for what the lost ring held. Upgrades while it restarts get HTTP 503.',
  },
  VIGIL_ERR_AUTH: {
    reject: false,
    summary:
      'HTTP 401: no bearer token, or not one of server.tokens (Authorization: Bearer, or the offered subprotocol vigil.bearer.<token>). Refused before any WebSocket exists.',
  },
  VIGIL_ERR_FORBIDDEN_SCOPE: {
    reject: false,
    summary:
      'HTTP 403: the token is valid but lacks the scope this route or the stream needs (stream, kpi:read, customers:read, items:read, admin); the message names it.',
  },
  VIGIL_ERR_ORIGIN: {
    reject: false,
    summary: "HTTP 403: the Origin header is not the server's own origin nor in server.allowedOrigins.",
  },
  VIGIL_ERR_CONNECTION_LIMIT: {
    reject: false,
    summary:
      'HTTP 429: the token already holds its maxConnections WebSocket connections, or the server holds server.maxConnections.',
  },
  VIGIL_ERR_SERVER_INTERNAL: {
    reject: false,
    summary:
      'HTTP 500: the ops server failed to answer (metrics collection or a file read failed); logged at error level.',
  },
  VIGIL_ERR_NOT_FOUND: {
    reject: false,
    summary: 'HTTP 404: no such path, customer or item (the message never echoes the id).',
  },
  VIGIL_ERR_STREAM_BAD_FRAME: {
    reject: false,
    summary:
      'Stream error frame: a client frame that is not JSON (or msgpack), or does not match the protocol; the path says where. Repeated past server.maxBadFrames, the connection closes with 4002.',
  },
  VIGIL_ERR_STREAM_FORBIDDEN_TYPE: {
    reject: false,
    summary: 'Stream error frame: a subscription asked for an alert type the token may not see.',
  },
  VIGIL_ERR_STREAM_RATE_LIMITED: {
    reject: false,
    summary:
      'Stream error frame: the connection sent more than server.clientFramesPerSecond frames (bursts of twice that); the frame was ignored and counts as malformed.',
  },
  VIGIL_ERR_STREAM_UNKNOWN_SUBSCRIPTION: {
    reject: false,
    summary:
      'Stream error frame: unsubscribe named no open subscription, or subscribe would exceed server.maxSubscriptions.',
  },

  VIGIL_ERR_PAYLOAD_EMPTY: { reject: true, summary: 'The message had no bytes.' },
  VIGIL_ERR_PAYLOAD_TOO_LARGE: { reject: true, summary: 'The message exceeded limits.maxPayloadBytes.' },
  VIGIL_ERR_DECODE_JSON: { reject: true, summary: 'The payload looked like JSON but did not parse.' },
  VIGIL_ERR_DECODE_MSGPACK: {
    reject: true,
    summary:
      'The payload looked like msgpack but did not decode (truncated or malformed), or a string in it is not UTF-8 (the path says which).',
  },
  VIGIL_ERR_UNKNOWN_FORMAT: { reject: true, summary: 'The first byte is neither a JSON object nor a msgpack map.' },
  VIGIL_ERR_SCHEMA: {
    reject: true,
    summary: 'The event does not match the canonical schema; the zod issue path says where.',
  },
  VIGIL_ERR_UNKNOWN_EVENT_TYPE: { reject: true, summary: 'The event `type` is not one Vigil knows.' },
  VIGIL_ERR_SEGMENT_UNKNOWN_EVENT: {
    reject: true,
    summary:
      'A Segment/RudderStack call whose `type` or `event` name Vigil does not map (it maps page calls and Product Viewed/Added/Removed, Checkout Started, Order Completed); the path is `type` or `event`.',
  },
  VIGIL_ERR_TS_RANGE: { reject: true, summary: 'The event time is outside the sane range (1990-01-01 .. 2100-01-01).' },
  VIGIL_ERR_TS_FUTURE: {
    reject: true,
    summary: 'The event time is further ahead of the wall clock than limits.maxFutureSkewMs.',
  },
  VIGIL_ERR_SUPPRESSED: {
    reject: true,
    summary:
      'The event is about a customer who was erased (the suppression list); it is not applied, and its dead letter carries the reason without the bytes or the source subject.',
  },
  VIGIL_ERR_STATE_FULL: {
    reject: true,
    summary: 'Keyed state holds limits.maxCustomers customers; a new customer could not be admitted.',
  },
  VIGIL_ERR_POISON: {
    reject: true,
    summary:
      'Processing the message threw (it was isolated from its batch and skipped), or JetStream delivered it more than nats.maxDeliveries times without an ack (a message that crashes the process). Effects it had on state before the throw are not undone.',
  },
} as const satisfies Record<string, { reject: boolean; summary: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** Codes that may explain why an input message was rejected. */
export type RejectReason = {
  [K in ErrorCode]: (typeof errorCodes)[K]['reject'] extends true ? K : never;
}[ErrorCode];

export const rejectReasons = (Object.keys(errorCodes) as ErrorCode[]).filter(
  (c) => errorCodes[c].reject,
) as RejectReason[];

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];
  constructor(code: ErrorCode, message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilError';
    this.code = code;
    this.details = details;
  }
}

export function isVigilError(e: unknown): e is VigilError {
  return e instanceof VigilError;
}
