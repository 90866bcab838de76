import { Command } from 'commander';
import { runReplay } from '../replay.js';
import { workersOption } from '../workers-option.js';
import { unreadableWarning } from '../../../edges/files/event-file.js';
import { action, type CliContext } from '../command-context.js';

export function replayCommand(ctx: CliContext): Command {
  return new Command('replay')
    .description(
      'replay canonical events (JSON Lines or a msgpack stream) through the same graph as live input, as fast as it can',
    )
    .argument('<file>', 'the events file, or - for stdin')
    .option('--dump-state <out>', 'write one JSON line per customer (sorted by id) as of the final watermark')
    .option('--config <file>', 'a JSON config file over config/default.json')
    .option('--quiet', 'no progress bar')
    .option('--triggers', 'also deliver the alerts to the configured marketing triggers and webhooks (triggers.*)')
    .option(
      '--state-dir <dir>',
      'keep checkpoints in this directory and resume from them: a replay stopped (Ctrl-C) or killed goes on where it was',
    )
    .option('--fresh-state', 'discard the checkpoints in --state-dir and replay from the start')
    .addOption(workersOption())
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{
          dumpState?: string;
          config?: string;
          quiet?: boolean;
          triggers?: boolean;
          stateDir?: string;
          freshState?: boolean;
          workers?: number;
        }>();
        const interrupt = new AbortController();
        const stop = () => interrupt.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        const r = await runReplay({
          file: cmd.args[0]!,
          configFile: o.config,
          dumpState: o.dumpState,
          progress: !o.quiet,
          triggers: o.triggers === true,
          stateDir: o.stateDir,
          freshState: o.freshState === true,
          signal: interrupt.signal,
          workers: o.workers,
        }).finally(() => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        });
        if (r.stopped) {
          ctx.err.write(
            r.checkpoint === undefined
              ? `replay stopped after ${r.counts.input} messages; without --state-dir it starts over next time\n`
              : `replay stopped after ${r.counts.input} messages, checkpoint ${r.checkpoint} written; the same command resumes from it\n`,
          );
          return 130;
        }
        ctx.err.write(
          `replayed ${r.counts.input} messages in ${r.seconds.toFixed(2)} s: ${JSON.stringify(r.counts)}; ` +
            `${r.customers} customers; final watermark ${Number.isFinite(r.watermark) ? new Date(r.watermark).toISOString() : 'none'}` +
            `${r.workers > 1 ? `; on ${r.workers} workers, ${r.partitions} partitions` : ''}\n`,
        );
        if (r.triggers !== undefined) ctx.err.write(`triggers: ${JSON.stringify(r.triggers)}\n`);
        if (r.webhooks !== undefined) ctx.err.write(`webhooks: ${JSON.stringify(r.webhooks)}\n`);
        if (o.triggers === true && r.triggers === undefined && r.webhooks === undefined) {
          ctx.err.write(
            'triggers: none configured, nothing delivered (set triggers.nats.enabled or triggers.webhooks.destinations; docs/triggers.md)\n',
          );
        }
        for (const w of r.warnings) ctx.err.write(`\nWARNING: ${w}\n\n`);
        if (r.file.unreadableBytes > 0) {
          ctx.err.write(unreadableWarning(r.file) + '\n');
          return 1;
        }
        return 0;
      }),
    );
}
