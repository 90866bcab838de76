/**
 * "Nothing queued or in flight" for sinks that deliver in the background: `idle()` for
 * tests and replays that must see delivery finish, `within(ms)` for a shutdown's grace
 * period. The sink calls `check()` after every change that may have made it idle.
 */
export class IdleSignal {
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly isIdle: () => boolean) {}

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when idle or after `ms`, whichever comes first. */
  async within(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  check(): void {
    if (!this.isIdle()) return;
    for (const w of this.waiters.splice(0)) w();
  }
}
