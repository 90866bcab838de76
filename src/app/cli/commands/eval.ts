import { Command } from 'commander';
import { evalRecs } from '../eval-recs.js';
import { evalChurn } from '../eval-churn.js';
import { action, type CliContext } from '../command-context.js';
import { evalClustersCommand } from './eval-clusters.js';
import { evalForecastCommand } from './eval-forecast.js';
import { workersOption } from '../workers-option.js';

export function evalCommand(ctx: CliContext): Command {
  const recs = new Command('recs')
    .description(
      'next-item hit rate@20 and MRR@20 of the streaming recommender beside popularity, item-kNN, sequential rules, V-SKNN and STAN; JSON out',
    )
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
  const churn = new Command('churn')
    .description(
      "the engine's churn signal as of calibration end against who bought in the holdout, beside recency, frequency, BG/NBD P(alive) and overdue-by-2-sd baselines; JSON out",
    )
    .argument('<file>', 'a purchase log of canonical events (e.g. from vigil import cdnow)')
    .requiredOption('--calibration-end <date>', 'YYYY-MM-DD: the end of the calibration period')
    .option('--holdout-weeks <n>', 'weeks of holdout after calibration end (default 39)')
    .option('--config <file>', 'a JSON config file over config/default.json')
    .addOption(workersOption())
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{ calibrationEnd: string; holdoutWeeks?: string; config?: string; workers?: number }>();
        const weeks = o.holdoutWeeks === undefined ? undefined : Number(o.holdoutWeeks);
        const report = await evalChurn({
          file: cmd.args[0]!,
          calibrationEnd: o.calibrationEnd,
          holdoutWeeks: weeks,
          configFile: o.config,
          workers: o.workers,
        });
        ctx.out.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }),
    );
  return new Command('eval')
    .description('offline evaluations')
    .addCommand(recs)
    .addCommand(churn)
    .addCommand(evalForecastCommand(ctx))
    .addCommand(evalClustersCommand(ctx));
}
