import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Alert } from '../../alerts/alert.js';
import type { Principal } from '../auth.js';
import type { ServerFrame } from '../frames.js';
import type { Scope } from '../scopes.js';
import type { HubCounters } from '../stream-hub.js';

/** What the fan-out in a child process adds to the hub's counters. */
export interface FanoutCounters {
  /** Alerts not posted to the child: its queue was over its bound, or it was down. */
  alertsDropped: number;
  /** Times the child died unexpectedly and was started again. */
  restarts: number;
}

/**
 * The live stream's fan-out as the ops server sees it, wherever it runs: on the main thread
 * (`inline-fanout.ts`, `server.fanout` inline) or in a child process (`process-fanout.ts`).
 * Nothing here waits on the fan-out: publish, erase and broadcast hand over and return.
 */
export interface StreamFanout {
  /**
   * An upgrade the door admitted: finish the handshake and join the hub. `release` (the
   * caps' count) is called once, when the connection ends however it ends. False when the
   * fan-out cannot take it now (a child restarting): the caller refuses it and releases.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal, release: () => void): boolean;
  /** A batch's alerts for the stream; `enteredAt[i]` is performance.now() when alert i's message entered. */
  publish(alerts: readonly Alert[], enteredAt: readonly number[]): void;
  /**
   * Erasure: the customer's held and pending alerts are dropped. Returns how many when it is
   * known at once (inline); a child drops them when its message arrives, and 0 is returned.
   */
  erase(customerId: string): number;
  /** Whether a connection whose token holds `scope` is open (as last known, for a child). */
  hasReader(scope: Scope): boolean;
  /** A disposable frame (kpi) for every connection whose token holds `scope`. */
  broadcast(frame: ServerFrame, scope: Scope): void;
  /** Sends what waits for the next tick now. */
  flush(): void;
  /** The hub's totals (a child's as of its last report, plus those of children that died). */
  totals(): HubCounters;
  /** Open stream connections. */
  readonly clients: number;
  /** seq of the newest alert. */
  readonly sequence: number;
  readonly fanoutCounters: FanoutCounters;
  /** Resolves when the child's report sent after this call has been taken (at once inline). */
  sync(): Promise<void>;
  /** Flushes, closes every connection with 1001 and waits for the handshakes (and the child's exit). */
  close(): Promise<void>;
}
