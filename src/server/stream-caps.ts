import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Principal } from './auth.js';

/**
 * Stream connections held, per token (`maxConnections` of each token) and in all
 * (`server.maxConnections`). A connection counts from the moment its upgrade is admitted
 * until its socket closes, however the handshake ends.
 */
export class StreamCaps {
  private readonly perToken = new Map<string, number>();
  private open = 0;

  constructor(private readonly maxConnections: number) {}

  /** Counts the connection if both caps allow it; false (nothing counted) otherwise. */
  admit(principal: Principal, socket: Duplex | Socket): boolean {
    const held = this.perToken.get(principal.name) ?? 0;
    if (held >= principal.maxConnections || this.open >= this.maxConnections) return false;
    this.perToken.set(principal.name, held + 1);
    this.open++;
    socket.once('close', () => {
      this.open--;
      this.perToken.set(principal.name, (this.perToken.get(principal.name) ?? 1) - 1);
    });
    return true;
  }
}
