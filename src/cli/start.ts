import { loadConfig } from '../config/load.js';
import { Engine } from '../engine.js';
import { InProcessSource } from '../sources/in-process.js';
import { demoFeed } from '../synth/demo-feed.js';
import { compact } from './progress.js';
import type { StateSignal } from '../state/signals.js';

export interface StartOptions {
  readonly configFile?: string | undefined;
  /** Stop after this many wall-clock ms (tests); otherwise run until SIGINT/SIGTERM. */
  readonly runForMs?: number;
  readonly out?: NodeJS.WritableStream;
}

/**
 * The embedded demo: the synthetic shop's last `demo.historyDays` of activity, replayed at
 * `demo.eventsPerSecond` until it catches up with the wall clock, then live. A summary line
 * each second; Ctrl-C drains in-flight batches and stops cleanly.
 */
export async function startDemo(opts: StartOptions): Promise<void> {
  const out = opts.out ?? process.stdout;
  const config = loadConfig({ file: opts.configFile, env: process.env });
  const engine = new Engine(config);
  const feed = demoFeed(config.demo, Date.now());
  const source = new InProcessSource(feed.messages, {
    name: 'demo',
    batchSize: config.pipeline.batchSize,
    finite: false,
    messagesPerSecond: config.demo.eventsPerSecond,
  });
  const signalCounts = { session_closed: 0, timer: 0, evicted: 0 } satisfies Record<StateSignal['kind'], number>;
  out.write(
    `vigil demo: ${config.demo.customers} customers, ${config.demo.products} products, ` +
      `${config.demo.historyDays} days of history at up to ${config.demo.eventsPerSecond} events/s (Ctrl-C stops)\n`,
  );

  let lastInput = 0;
  let lastTick = performance.now();
  const tick = setInterval(() => {
    const c = engine.state.counters;
    const now = performance.now();
    const rate = ((c.input - lastInput) * 1000) / (now - lastTick);
    lastInput = c.input;
    lastTick = now;
    const wm = engine.state.watermark.watermark;
    out.write(
      `${compact(rate).padStart(6)} ev/s | customers ${compact(engine.state.store.size)} | ` +
        `applied ${compact(c.applied)} dup ${compact(c.duplicate)} late ${compact(c.late)} rejected ${compact(c.rejected)} | ` +
        `sessions closed ${compact(signalCounts.session_closed)} | event time ${Number.isFinite(wm) ? new Date(wm).toISOString().slice(0, 16) : '-'}` +
        `${feed.caughtUp() ? ' (live)' : ' (catching up)'}\n`,
    );
  }, 1000);

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= source.stop());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = opts.runForMs === undefined ? undefined : setTimeout(stop, opts.runForMs);
  try {
    await engine.run(source, {
      sinks: [{ handle: (b) => b.signals.forEach((s) => signalCounts[s.kind]++) }],
    });
  } finally {
    clearInterval(tick);
    if (timer) clearTimeout(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  const c = engine.state.counters;
  out.write(`stopped cleanly: ${JSON.stringify(c.toJSON())}; balanced=${c.balanced}\n`);
}
