import type { IncomingHttpHeaders } from 'node:http';
import type { Alert, AlertType } from '../../alerts/alert.js';
import type { LatencyReport } from '../alert-latency.js';
import type { ServerConfig } from '../config.js';
import type { ServerFrame } from '../frames.js';
import type { Scope } from '../scopes.js';
import type { HubCounters } from '../stream-hub.js';

/**
 * The messages between the ops server (main thread) and its fan-out child process
 * (`server.fanout` process), over the IPC channel of `child_process.fork` with the
 * `advanced` serialization. Both ends are this code base: no message comes from outside.
 */

/** A principal as plain data (the child rebuilds its sets). */
export interface PrincipalData {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly types: readonly AlertType[];
  readonly maxConnections: number;
}

export type ToFanout =
  /** First message: the hub's settings, and the seq its ring starts after (see AlertRing). */
  | { readonly type: 'init'; readonly server: ServerConfig; readonly firstSeq: number }
  /**
   * An admitted upgrade, its socket sent along as the message's handle: what the child needs
   * to finish the handshake. `head`: bytes read past the request (ws's `head`).
   */
  | {
      readonly type: 'upgrade';
      readonly id: number;
      readonly method: string;
      readonly url: string;
      readonly headers: IncomingHttpHeaders;
      readonly head: Uint8Array;
      readonly principal: PrincipalData;
    }
  /** One batch's alerts; `enteredAt` on the shared clock (shared-clock.ts). */
  | { readonly type: 'alerts'; readonly alerts: readonly Alert[]; readonly enteredAt: readonly number[] }
  | { readonly type: 'erase'; readonly customerId: string }
  | { readonly type: 'kpi'; readonly frame: ServerFrame }
  | { readonly type: 'flush' }
  /** Asks for a report now; it carries `reply`. */
  | { readonly type: 'report'; readonly reply: number }
  /** Close every connection (1001), send a last report, exit. */
  | { readonly type: 'close' };

/** The child's state as of one moment; counters are the child's totals since it started. */
export interface FanoutReport {
  readonly type: 'report';
  /** The `reply` of the request it answers; 0 for a periodic one. */
  readonly reply: number;
  readonly counters: HubCounters;
  readonly clients: number;
  readonly sequence: number;
  /** Connections per scope their token holds (the kpi frame is built only when someone reads it). */
  readonly readers: Partial<Record<Scope, number>>;
  /** Latency records since the previous report. */
  readonly latency: LatencyReport;
}

export type FromFanout =
  | { readonly type: 'ready' }
  /** The connection of this id has ended (its caps count is released). */
  | { readonly type: 'closed'; readonly id: number }
  | FanoutReport;
