import type { Principal } from './auth.js';

/**
 * Stream connections held, per token (`maxConnections` of each token) and in all
 * (`server.maxConnections`). A connection counts from the moment its upgrade is admitted
 * until its release is called (when its socket closes, however the handshake ends; with the
 * fan-out in a child process, when the child reports it closed or dies).
 */
export class StreamCaps {
  private readonly perToken = new Map<string, number>();
  private open = 0;

  constructor(private readonly maxConnections: number) {}

  /** Counts the connection if both caps allow it and returns its release (idempotent); undefined (nothing counted) otherwise. */
  admit(principal: Principal): (() => void) | undefined {
    const held = this.perToken.get(principal.name) ?? 0;
    if (held >= principal.maxConnections || this.open >= this.maxConnections) return undefined;
    this.perToken.set(principal.name, held + 1);
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      this.perToken.set(principal.name, (this.perToken.get(principal.name) ?? 1) - 1);
    };
  }
}
