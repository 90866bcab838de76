import { Command } from 'commander';
import { replay } from '../replay.js';
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
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{ dumpState?: string; config?: string; quiet?: boolean; triggers?: boolean }>();
        const r = await replay({
          file: cmd.args[0]!,
          configFile: o.config,
          dumpState: o.dumpState,
          progress: !o.quiet,
          triggers: o.triggers === true,
        });
        ctx.err.write(
          `replayed ${r.counts.input} messages in ${r.seconds.toFixed(2)} s: ${JSON.stringify(r.counts)}; ` +
            `${r.customers} customers; final watermark ${Number.isFinite(r.watermark) ? new Date(r.watermark).toISOString() : 'none'}\n`,
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
