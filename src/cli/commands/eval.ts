import { Command } from 'commander';
import { evalRecs } from '../eval-recs.js';
import { action, type CliContext } from '../command-context.js';

export function evalCommand(ctx: CliContext): Command {
  const recs = new Command('recs')
    .description('next-item hit rate@20 and MRR@20 of the streaming recommender beside popularity, item-kNN and sequential rules; JSON out')
    .requiredOption('--train <file>', 'training sessions (SessionId ItemId Time)')
    .requiredOption('--test <file>', 'test sessions (SessionId ItemId Time)')
    .option('--quiet', 'no progress bar')
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{ train: string; test: string; quiet?: boolean }>();
        const report = await evalRecs({ train: o.train, test: o.test, progress: !o.quiet });
        ctx.out.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }),
    );
  return new Command('eval').description('offline evaluations').addCommand(recs);
}
