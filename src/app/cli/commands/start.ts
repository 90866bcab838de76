import { Command } from 'commander';
import { startDemo } from '../start.js';
import { action, type CliContext } from '../command-context.js';
import { workersOption } from '../workers-option.js';

export function startCommand(ctx: CliContext): Command {
  return new Command('start')
    .description(
      'run the engine live: the embedded demo shop, or NATS input with --nats-url; ops server (dashboard, stream, API, metrics) beside it',
    )
    .option('--config <file>', 'a JSON config file over config/default.json')
    .option('--port <n>', "the ops server's port (0: any free port)")
    .option('--nats-url <url>', 'consume shop events from this NATS server instead of the demo')
    .option('--mode <mode>', 'NATS consumption: core or jetstream (default: the config, jetstream)')
    .option('--state-dir <dir>', "without NATS: keep the demo's checkpoints in this directory and resume from them")
    .addOption(workersOption())
    .option('--fresh-state', 'discard the checkpoints (Object Store or --state-dir) and start with empty state')
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{
          config?: string;
          port?: string;
          natsUrl?: string;
          mode?: string;
          stateDir?: string;
          freshState?: boolean;
          workers?: number;
        }>();
        await startDemo({
          configFile: o.config,
          natsUrl: o.natsUrl,
          mode: o.mode,
          port: o.port,
          out: ctx.out,
          stateDir: o.stateDir,
          freshState: o.freshState === true,
          workers: o.workers,
        });
        return 0;
      }),
    );
}
