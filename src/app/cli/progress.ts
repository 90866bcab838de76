/**
 * A progress line on stderr for long work. On a terminal it redraws in place a few times a
 * second; elsewhere (CI, pipes) it prints a plain line every few seconds, so logs stay short.
 */
export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;
  private lastLength = 0;

  constructor(
    private readonly render: () => string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  start(): this {
    this.timer = setInterval(() => this.draw(), this.tty ? 250 : 5000);
    this.timer.unref();
    return this;
  }

  stop(finalLine = true): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (finalLine) this.draw();
    if (this.tty) this.stream.write('\n');
  }

  private draw(): void {
    const line = this.render();
    if (this.tty) {
      this.stream.write('\r' + line.padEnd(this.lastLength));
      this.lastLength = line.length;
    } else {
      this.stream.write(line + '\n');
    }
  }
}

export function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return '[' + '#'.repeat(filled) + '.'.repeat(width - filled) + ']';
}

export function compact(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return String(Math.round(n));
}
