import { Command } from 'commander';
import { generate } from '../generate.js';
import { action, type CliContext } from '../command-context.js';

export function generateCommand(ctx: CliContext): Command {
  return new Command('generate')
    .description("write the synthetic shop's events to a file (for replay, publish, tests)")
    .requiredOption('--out <file>', 'the file to write, or - for stdout')
    .option('--events <n>', 'how many events')
    .option('--format <format>', 'jsonl or msgpack (default jsonl)')
    .option('--seed <n>', 'random seed')
    .option('--customers <n>', 'how many customers')
    .option(
      '--seasonal',
      'demand with a known daily and weekly cycle and a trend (the ground truth for vigil eval forecast)',
    )
    .option(
      '--campaigns',
      "the demo's campaigns, with a known effect on the repeat rate (the ground truth for campaign reports)",
    )
    .option('--config <file>', 'a JSON config file over config/default.json')
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<Record<string, string | undefined> & { seasonal?: boolean; campaigns?: boolean }>();
        await generate({
          out: o.out,
          events: o.events,
          format: o.format,
          seed: o.seed,
          customers: o.customers,
          configFile: o.config,
          seasonal: o.seasonal,
          campaigns: o.campaigns,
        });
        return 0;
      }),
    );
}
