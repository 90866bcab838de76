import type { Socket } from 'node:net';

export interface ConnectionGuardLimits {
  /** TCP connections in all (HTTP and upgraded stream ones). */
  readonly maxSockets: number;
  /** TCP connections from one remote address. */
  readonly maxSocketsPerAddress: number;
}

export interface ConnectionGuardCounters {
  /** New connections closed at once: their address already held its share. */
  refusedPerAddress: number;
  /** Connections that had not sent a request, closed to make room for a new one. */
  evictedUnused: number;
  /** New connections closed at once: the server was full of connections in use. */
  refusedFull: number;
}

/**
 * Keeps idle and slow connections from starving everyone else. Node's own
 * `server.maxConnections` refuses every new connection once the cap is reached, so a few
 * hundred sockets that never send a byte lock out health checks, the API and the stream
 * until they time out. Here instead:
 *
 * - one remote address holds at most `maxSocketsPerAddress` connections; past that its new
 *   ones are closed at once (the others' are not affected);
 * - when the server holds `maxSockets`, a new connection pushes out the oldest one that has
 *   not yet sent a complete request (the idle or slowloris kind), so the newcomer is served;
 *   only when every held connection is in use is the newcomer refused.
 *
 * Header and idle timeouts (see ops-server.ts) then reclaim what remains.
 */
export class ConnectionGuard {
  readonly counters: ConnectionGuardCounters = { refusedPerAddress: 0, evictedUnused: 0, refusedFull: 0 };
  private readonly perAddress = new Map<string, number>();
  /** Connections that have not sent a complete request yet, oldest first (a Set keeps insertion order). */
  private readonly unused = new Set<Socket>();
  /** Every held connection and its remote address. */
  private readonly addressOf = new Map<Socket, string>();
  private total = 0;
  /** Sockets living on in another process: their close here does not release them. */
  private readonly handedOver = new Set<Socket>();

  constructor(private readonly limits: ConnectionGuardLimits) {}

  get size(): number {
    return this.total;
  }

  /** A new TCP connection: admits it (and tracks it until it closes) or destroys it. */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.limits.maxSocketsPerAddress) {
      this.counters.refusedPerAddress++;
      socket.destroy();
      return false;
    }
    if (this.total >= this.limits.maxSockets) {
      const oldest = this.unused.values().next();
      if (oldest.done === true) {
        this.counters.refusedFull++;
        socket.destroy();
        return false;
      }
      this.counters.evictedUnused++;
      this.release(oldest.value);
      oldest.value.destroy();
    }
    this.total++;
    this.perAddress.set(address, held + 1);
    this.unused.add(socket);
    this.addressOf.set(socket, address);
    socket.once('close', () => {
      if (!this.handedOver.has(socket)) this.release(socket);
    });
    return true;
  }

  /**
   * The socket is handed to another process (the stream fan-out child), where it lives on
   * after this process's copy closes: it stays counted until the returned release is called.
   */
  handOver(socket: Socket): () => void {
    this.handedOver.add(socket);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handedOver.delete(socket);
      this.release(socket);
    };
  }

  /** The connection has sent a complete request (or an upgrade): no longer the first to go. */
  used(socket: Socket): void {
    this.unused.delete(socket);
  }

  private release(socket: Socket): void {
    // The address is read at admission: a closed socket no longer knows it.
    const address = this.addressOf.get(socket);
    if (address === undefined) return;
    this.addressOf.delete(socket);
    this.unused.delete(socket);
    this.total--;
    const held = (this.perAddress.get(address) ?? 1) - 1;
    if (held <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, held);
  }
}
