import type { Command } from 'commander';

/** One parsed command line, as a dry run records it instead of running it. */
export interface ParsedCommand {
  readonly path: string;
  readonly args: readonly string[];
  readonly options: Record<string, unknown>;
}

/**
 * What the commands share: where output goes, the environment, and whether to run at all.
 * A dry run (the docs test) parses and checks every option and argument exactly as a real run
 * would, then records the command instead of starting it.
 */
export interface CliContext {
  readonly dryRun: boolean;
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly env: Record<string, string | undefined>;
  readonly parsed: ParsedCommand[];
  /** The command being run, for the hint under a usage error. */
  current?: string;
  exitCode: number;
}

/** `vigil eval recs` for the command `recs` under `eval`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * A commander action that runs `body` (its result is the exit code), or in a dry run records
 * the parsed command. Commander passes the command itself last.
 */
export function action(ctx: CliContext, body: (cmd: Command) => Promise<number>): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    ctx.current = commandPath(cmd);
    if (ctx.dryRun) {
      ctx.parsed.push({ path: ctx.current, args: cmd.args, options: cmd.opts() });
      return;
    }
    ctx.exitCode = await body(cmd);
  };
}
