import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

/** Servers running, so a run that ends or is interrupted does not leave them behind. */
const running = new Set<ChildProcess>();
let cleanupInstalled = false;

/**
 * Kills every server still running when the process exits, and on SIGINT, SIGTERM or SIGHUP
 * (then re-raised, so the process ends as it would have). A SIGKILLed parent cannot clean up.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = () => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  };
  process.on('exit', killAll);
  if (!isMainThread) return;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue; // someone else decides how this signal ends the process
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

export interface NatsServerOptions {
  /**
   * Bytes the server may buffer for one connection before it cuts it off as a slow consumer
   * (nats-server's `max_pending`, 64 MiB by default). The NATS bench raises it so that a
   * core NATS consumer slower than the publisher receives everything, late, instead of losing
   * its connection.
   */
  readonly maxPendingBytes?: number;
}

/**
 * A real nats-server (Debian's package, 2.9.10 here) on a free loopback port with
 * JetStream in a temp dir, for the integration tests and the NATS bench. `restart()` keeps the port and the store,
 * as an operator restarting the server would.
 */
export class NatsServer {
  private child: ChildProcess | undefined;
  readonly storeDir = mkdtempSync(join(tmpdir(), 'vigil-nats-'));

  private constructor(
    readonly port: number,
    private readonly opts: NatsServerOptions,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The server's process id while it runs (the bench reads its CPU time). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), opts);
    await server.launch();
    return server;
  }

  async restart(downMs = 200): Promise<void> {
    await this.kill();
    await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
  }

  /** Stops the server but keeps port and store, until `up()`: an outage of any length. */
  async down(): Promise<void> {
    await this.kill();
  }

  /** Kills the server with SIGKILL (no shutdown of its own), keeping port and store, until `up()`. */
  async crash(): Promise<void> {
    await this.kill('SIGKILL');
  }

  async up(): Promise<void> {
    if (this.child === undefined) await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir];
    if (this.opts.maxPendingBytes !== undefined) {
      const file = join(this.storeDir, 'server.conf');
      writeFileSync(file, `max_pending: ${this.opts.maxPendingBytes}\n`);
      args.unshift('-c', file);
    }
    const child = spawn('nats-server', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    installCleanup();
    running.add(child);
    child.once('exit', () => running.delete(child));
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 10_000);
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${log}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    child.stderr!.resume();
  }

  private async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill(signal);
    await once(child, 'exit');
  }
}

/** A loopback port that was free a moment ago (nothing listens on it until someone binds it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}
