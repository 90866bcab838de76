import { Command } from 'commander';
import { erase } from '../erase.js';
import { action, type CliContext } from '../command-context.js';

export function eraseCommand(ctx: CliContext): Command {
  return new Command('erase')
    .description(
      'erase a customer: state, held alerts, later events (a request on erasure.subject to the running engine, or erasure.file)',
    )
    .requiredOption('--customer <id>', 'the customer id to erase')
    .option('--nats-url <url>', 'the NATS server the engine listens on (default: nats.url in the config)')
    .option('--config <file>', 'a JSON config file over config/default.json')
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{ customer: string; natsUrl?: string; config?: string }>();
        ctx.err.write((await erase({ customer: o.customer, natsUrl: o.natsUrl, configFile: o.config })) + '\n');
        return 0;
      }),
    );
}
