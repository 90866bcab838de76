import { Argument, Command } from 'commander';
import { IMPORT_FORMATS, importEvents } from '../import.js';
import { action, type CliContext } from '../command-context.js';

export function importCommand(ctx: CliContext): Command {
  return new Command('import')
    .description('convert a public dataset to canonical events (JSON Lines)')
    .addArgument(new Argument('<format>', 'the input format').choices(IMPORT_FORMATS))
    .argument('<in>', 'the input file')
    .requiredOption('--out <file>', 'the JSON Lines file to write')
    .action(
      action(ctx, async (cmd) => {
        const n = await importEvents(cmd.args[0]!, cmd.args[1]!, cmd.opts<{ out: string }>().out);
        ctx.err.write(`wrote ${n} events\n`);
        return 0;
      }),
    );
}
