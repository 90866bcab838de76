import { Command, Option } from 'commander';
import { EVAL_GRANULARITIES, evalForecast, evalForecastCdnow } from '../eval-forecast.js';
import { demandMeasures } from '../../../analytics/demand/demand-series.js';
import { action, type CliContext } from '../command-context.js';
import { parseWorkers } from '../workers-option.js';
import { VigilError } from '../../../core/errors.js';

/** `vigil eval forecast`: the demand forecasts by rolling origins beside seasonal naive. */
export function evalForecastCommand(ctx: CliContext): Command {
  return new Command('forecast')
    .description(
      'rolling-origin MASE, sMAPE and 80/95 % interval coverage of the demand forecasts beside seasonal naive; --format cdnow: weekly repeat transactions over the 39-week holdout beside the BG/NBD aggregate; JSON out',
    )
    .argument('<file>', 'canonical events (JSON Lines or msgpack), or with --format cdnow a CDNOW purchase log')
    .option('--horizon <n>', 'buckets ahead at each origin (default: hourly 24, daily 28, weekly 4; cdnow 4 weeks)')
    .addOption(new Option('--granularity <g>', 'bucket size (default daily)').choices([...EVAL_GRANULARITIES]))
    .addOption(new Option('--measure <m>', 'what is counted (default units)').choices([...demandMeasures]))
    .option('--category <c>', 'one category, or _all for every one (default _all)')
    .option('--origin <n>', 'bucket index of the first origin (default: half the series)')
    .addOption(
      new Option('--format <format>', 'cdnow: the input is a CDNOW log (canonical events when absent)').choices([
        'cdnow',
      ]),
    )
    .option('--config <file>', 'a JSON config file over config/default.json')
    .addOption(
      new Option(
        '--workers <n>',
        'with --format cdnow: worker threads replaying the calibration period by customer partition (default: engine.workers)',
      ).argParser((v: string) => parseWorkers(v)),
    )
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{
          horizon?: string;
          granularity?: string;
          measure?: string;
          category?: string;
          origin?: string;
          format?: string;
          config?: string;
          workers?: number;
        }>();
        if (o.workers !== undefined && o.workers > 1 && o.format !== 'cdnow')
          throw new VigilError(
            'VIGIL_ERR_WORKERS_UNSUPPORTED',
            'eval forecast --workers on canonical events: demand series are per partition on workers and not merged yet; use --workers 1',
          );
        const horizon = o.horizon === undefined ? undefined : Number(o.horizon);
        const file = cmd.args[0]!;
        const report =
          o.format === 'cdnow'
            ? await evalForecastCdnow({ file, horizon, configFile: o.config, workers: o.workers })
            : await evalForecast({
                file,
                horizon,
                granularity: o.granularity,
                measure: o.measure,
                category: o.category,
                firstOrigin: o.origin === undefined ? undefined : Number(o.origin),
                configFile: o.config,
              });
        ctx.out.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }),
    );
}
