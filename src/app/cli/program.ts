import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isVigilError } from '../../core/errors.js';
import { commandPath, type CliContext, type ParsedCommand } from './command-context.js';
import { eraseCommand } from './commands/erase.js';
import { evalCommand } from './commands/eval.js';
import { fitCommand } from './commands/fit.js';
import { generateCommand } from './commands/generate.js';
import { importCommand } from './commands/import.js';
import { publishCommand } from './commands/publish.js';
import { replayCommand } from './commands/replay.js';
import { repartitionCommand } from './commands/repartition.js';
import { startCommand } from './commands/start.js';
import { webhookCommand } from './commands/webhook.js';

/** The package's version, from the package.json above this file (src/ or dist/src/). */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vigil-engine' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

const epilog = `
Configuration: config/default.json, then --config FILE, then VIGIL_* environment variables
(VIGIL_PIPELINE__BATCH_SIZE=1024 sets pipeline.batchSize). Docs: README.md and docs/.`;

/**
 * The `vigil` command line. Usage errors end as one line with a stable code and a hint
 * naming the command's help (exit 2); --help and --version exit 0.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('vigil')
    .description('real-time customer signals from shop events')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand('help [command]', 'help for a command')
    .addHelpText('after', epilog);
  for (const make of [
    startCommand,
    publishCommand,
    repartitionCommand,
    replayCommand,
    eraseCommand,
    generateCommand,
    importCommand,
    fitCommand,
    evalCommand,
    webhookCommand,
  ]) {
    program.addCommand(make(ctx));
  }
  const configure = (cmd: Command): void => {
    cmd
      .exitOverride()
      .showSuggestionAfterError(true)
      .configureOutput({
        writeOut: (s) => ctx.out.write(s),
        writeErr: (s) => ctx.err.write(s),
        outputError: (s, write) =>
          write(
            `${s
              .replace(/^error: /, 'error VIGIL_ERR_USAGE: ')
              .replace(/\s*\n\s*/g, ' ')
              .trim()}\n`,
          ),
      })
      .showHelpAfterError(`hint: ${commandPath(cmd)} --help`);
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Exit codes: 0 done, 1 failed, 2 usage or configuration error. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (e: unknown) {
    if (e instanceof CommanderError) {
      // --help, help CMD and --version exit 0; `vigil` alone, `vigil eval` without its
      // subcommand (help on stderr) and every parse error are usage errors.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isVigilError(e)) {
      ctx.err.write(`error ${e.code}: ${e.message}\n${e.details.map((d) => '  - ' + d + '\n').join('')}`);
      if (e.code === 'VIGIL_ERR_USAGE' && ctx.current !== undefined) ctx.err.write(`hint: ${ctx.current} --help\n`);
      return e.code === 'VIGIL_ERR_USAGE' || e.code === 'VIGIL_ERR_CONFIG' ? 2 : 1;
    }
    ctx.err.write(`fatal: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

/** Parses a command line without running it (the docs test): what would run, or the usage error. */
export async function dryRun(
  argv: readonly string[],
): Promise<{ code: number; parsed: ParsedCommand[]; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    dryRun: true,
    out: { write: (s: string) => ((out += s), true) } as NodeJS.WritableStream,
    err: { write: (s: string) => ((err += s), true) } as NodeJS.WritableStream,
    stdin: (async function* () {})(),
    env: {},
    parsed: [],
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, parsed: ctx.parsed, out, err };
}
