import { Argument, Command } from 'commander';
import { FIT_MODELS, fit } from '../fit.js';
import { action, type CliContext } from '../command-context.js';
import { workersOption } from '../workers-option.js';

export function fitCommand(ctx: CliContext): Command {
  return new Command('fit')
    .description('fit a model (BG/NBD or Gamma-Gamma) on the state a replay of FILE leaves; JSON out')
    .addArgument(new Argument('<model>', 'the model').choices(FIT_MODELS))
    .argument('<file>', 'canonical events to replay')
    .option('--unit <unit>', 'time unit of the fit: day or week')
    .option('--calibration-end <date>', 'fit on events before this date (yyyy-mm-dd), hold out the rest')
    .option('--config <file>', 'a JSON config file over config/default.json')
    .option('--quiet', 'no progress bar')
    .addOption(workersOption())
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{
          unit?: string;
          calibrationEnd?: string;
          config?: string;
          quiet?: boolean;
          workers?: number;
        }>();
        const report = await fit({
          model: cmd.args[0]!,
          file: cmd.args[1]!,
          unit: o.unit,
          calibrationEnd: o.calibrationEnd,
          configFile: o.config,
          progress: !o.quiet,
          workers: o.workers,
        });
        ctx.out.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }),
    );
}
