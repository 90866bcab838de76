import * as z from 'zod';
import { alertSchema } from '../alerts/alert.js';
import type { ErrorCode } from '../core/errors.js';
import { alertFilter } from '../alerts/alert-filter.js';
import { scope } from './scopes.js';

/**
 * The live stream's wire protocol (`/v1/stream`), one schema per frame. Client frames arrive
 * from outside the process and are parsed strictly; server frames are what the hub sends
 * (the schemas document them and let tests and clients check what they receive).
 * docs/stream.md is the reference; a change here is a protocol change (bump the version).
 */
export const PROTOCOL_VERSION = 1;
/** Subprotocols: JSON frames by default, msgpack when the client offers this one. */
export const SUBPROTOCOL_JSON = 'vigil.v1.json';
export const SUBPROTOCOL_MSGPACK = 'vigil.v1.msgpack';
/**
 * Browsers cannot set an Authorization header on a WebSocket, so they may present the token
 * as an offered subprotocol `vigil.bearer.<token>`; the server never selects it.
 */
export const BEARER_SUBPROTOCOL_PREFIX = 'vigil.bearer.';

/** Close codes (4000–4999 is the range RFC 6455 leaves to applications). */
export const closeCodes = {
  /** The client's send buffer passed the hard limit: it could not keep up. */
  tooSlow: 4008,
  /** Too many frames that did not parse, or a frame of unknown type. */
  protocolError: 4002,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A frame over the server's maxPayload (ws closes with this code itself). */
  messageTooBig: 1009,
} as const;

/** Stable codes of `error` frames. */
export const streamErrorCodes = [
  'VIGIL_ERR_STREAM_BAD_FRAME',
  'VIGIL_ERR_STREAM_FORBIDDEN_TYPE',
  'VIGIL_ERR_STREAM_UNKNOWN_SUBSCRIPTION',
  'VIGIL_ERR_STREAM_RATE_LIMITED',
] as const satisfies readonly ErrorCode[];
export type StreamErrorCode = (typeof streamErrorCodes)[number];

const subscriptionId = z.string().min(1).max(64);
const seq = z.number().int().min(0);

export const subscribeFrame = z.strictObject({
  type: z.literal('subscribe'),
  /** The client's name for this subscription, echoed on alerts; default "default". */
  id: subscriptionId.optional(),
  filter: alertFilter.optional(),
  /** Resume: every held alert with a greater seq, then live. */
  since: seq.optional(),
  /** Or start with the newest N held alerts. */
  replay: z.number().int().min(0).max(10_000).optional(),
});
export const unsubscribeFrame = z.strictObject({ type: z.literal('unsubscribe'), id: subscriptionId.optional() });
export const pingFrame = z.strictObject({ type: z.literal('ping'), nonce: z.string().max(64).optional() });
export const clientFrame = z.discriminatedUnion('type', [subscribeFrame, unsubscribeFrame, pingFrame]);
export type ClientFrame = z.infer<typeof clientFrame>;
export type SubscribeFrame = z.infer<typeof subscribeFrame>;

export const latencySummary = z.strictObject({
  /** Message in → alert frame handed to the socket, per live delivery, milliseconds, since the server started. */
  p50: z.number().min(0),
  p99: z.number().min(0),
  p999: z.number().min(0),
  count: z.number().int().min(0),
});

export const helloFrame = z.strictObject({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  /** seq of the newest alert so far (0 before the first). */
  seq,
  /** The oldest seq a `since` can still be served from. */
  oldest: seq,
  /** The token's scopes (kpi frames come only with kpi:read). */
  scopes: z.array(scope),
  /** Alert types this token may see. */
  types: z.array(z.string()),
});
export const alertFrame = z.strictObject({
  type: z.literal('alert'),
  seq: z.number().int().min(1),
  sub: subscriptionId,
  alert: alertSchema,
});
export const kpiFrame = z.strictObject({
  type: z.literal('kpi'),
  /** Wall clock of the summary (ms). */
  at: z.number(),
  /** Event time the engine has reached (watermark, ms), or null before the first event. */
  eventTime: z.number().nullable(),
  eventsPerSecond: z.number().min(0),
  /**
   * Revenue of the purchases applied whose event time is within the minute up to the newest
   * event time seen, in `revenueCurrency` (the currency with the most of it; null: none).
   */
  revenuePerMinute: z.number().min(0),
  revenueCurrency: z.string().nullable(),
  /** The same minute's revenue per ISO 4217 currency (XXX: purchases that named none). */
  revenueByCurrency: z.record(z.string(), z.number().min(0)),
  outcomes: z.strictObject({ applied: z.number(), duplicate: z.number(), late: z.number(), rejected: z.number() }),
  /** Events in the last minute by funnel step. */
  funnel: z.strictObject({ views: z.number(), carts: z.number(), checkouts: z.number(), purchases: z.number() }),
  customers: z.number().int().min(0),
  /** Customers per RFM segment (a sample-free count of the live state); `unscored`: those with none yet. */
  segments: z.record(z.string(), z.number().int().min(0)),
  alerts: z.record(z.string(), z.number().int().min(0)),
  /** Message in → alert frame out over the deliveries of the last minute. */
  latencyMs: latencySummary,
});
export const heartbeatFrame = z.strictObject({ type: z.literal('heartbeat'), seq, at: z.number() });
export const gapFrame = z.strictObject({
  type: z.literal('gap'),
  sub: subscriptionId.optional(),
  /** Sequences skipped, inclusive. */
  from: z.number().int().min(1),
  to: z.number().int().min(1),
  reason: z.enum(['aged_out', 'slow_consumer']),
});
export const errorFrame = z.strictObject({
  type: z.literal('error'),
  code: z.enum(streamErrorCodes),
  message: z.string(),
  path: z.string().optional(),
});
export const pongFrame = z.strictObject({ type: z.literal('pong'), nonce: z.string().optional(), seq });
export const subscribedFrame = z.strictObject({ type: z.literal('subscribed'), sub: subscriptionId, seq });
export const serverFrame = z.discriminatedUnion('type', [
  helloFrame,
  alertFrame,
  kpiFrame,
  heartbeatFrame,
  gapFrame,
  errorFrame,
  pongFrame,
  subscribedFrame,
]);
export type ServerFrame = z.infer<typeof serverFrame>;
export type KpiFrame = z.infer<typeof kpiFrame>;
export type AlertFrame = z.infer<typeof alertFrame>;
export type GapFrame = z.infer<typeof gapFrame>;
