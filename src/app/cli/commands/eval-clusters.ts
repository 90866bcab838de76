import { Command, Option } from 'commander';
import { evalClusters } from '../eval-clusters.js';
import { action, type CliContext } from '../command-context.js';
import { workersOption } from '../workers-option.js';

/** `vigil eval clusters`: streaming mini-batch k-means beside batch k-means on the same vectors. */
export function evalClustersCommand(ctx: CliContext): Command {
  return new Command('clusters')
    .description(
      "streaming mini-batch k-means of the customers' behaviour vectors beside batch k-means: inertia ratio, adjusted Rand index; JSON out",
    )
    .argument('<file>', 'canonical events (JSON Lines or msgpack), or with --format cdnow a CDNOW purchase log')
    .option('--k <n>', 'clusters, 2 to 50 (default 6)')
    .addOption(
      new Option('--format <format>', 'cdnow: the input is a CDNOW log (canonical events when absent)').choices([
        'cdnow',
      ]),
    )
    .option('--seed <n>', 'random seed of both clusterings (default 1)')
    .option('--config <file>', 'a JSON config file over config/default.json')
    .addOption(workersOption())
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{ k?: string; format?: string; seed?: string; config?: string; workers?: number }>();
        const report = await evalClusters({
          file: cmd.args[0]!,
          k: o.k === undefined ? undefined : Number(o.k),
          seed: o.seed === undefined ? undefined : Number(o.seed),
          format: o.format,
          configFile: o.config,
          workers: o.workers,
        });
        ctx.out.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }),
    );
}
