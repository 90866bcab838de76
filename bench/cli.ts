import { Command, CommanderError, Option } from 'commander';

/**
 * The bench's command line: help for every suite (asking for it never starts a run), option
 * checks for the known suites, and `--json FILE`. Suites it does not know pass through to
 * the dispatch in index.ts unchanged.
 */
export interface BenchArgs {
  readonly suite: string;
  /** The suite's own flags, as index.ts reads them (`--quick`, `--nats`, ...). */
  readonly args: string[];
  readonly json?: string | undefined;
  readonly compare?: readonly [string, string] | undefined;
}

const quick = (what: string) => new Option('--quick', what);
const json = () =>
  new Option('--json <file>', 'also write the results as JSON (figures, machine, commit, config) to FILE');

function suites(): Command[] {
  return [
    new Command('core')
      .description(
        'the whole graph vs a bare decode+aggregate loop (the ceiling): 100k customers as msgpack and JSON, 1M as msgpack; ' +
          'engine throughput with and without analytics, and the analytics overhead from replays in which the two take turns; ' +
          'then the partitioned engine (analytics on) by number of worker threads',
      )
      .addOption(
        quick('20k customers, 2 pairs, 1 interleaved replay, 2 rounds of the partitioned engine (a few minutes)'),
      )
      .addOption(json()),
    new Command('nats')
      .description(
        'core NATS and JetStream on a local nats-server: a bare receive+decode consumer (the transport ceiling) vs the engine, ' +
          "on one thread and with the graph on 1 and 2 worker threads, each beside the model's bound; 500k events, 3 runs",
      )
      .addOption(quick('100k events, 1 run'))
      .addOption(json()),
    new Command('triggers')
      .description(
        'the engine alone vs with the NATS trigger and webhook sinks (local nats-server and HTTP receiver); 3 runs',
      )
      .addOption(quick('1000 customers, 30 days, 1 run'))
      .addOption(json()),
    new Command('ws')
      .description(
        'the live stream at 20k events/s: 1, 10, 100 subscribers and one stalled (one thread, and the graph on 1 and 2 workers); ' +
          'alerts/s and message-in → frame-out p50/p99/p99.9',
      )
      .addOption(quick('1 s warm-up, 4 s measured, 1 pair'))
      .option('--nats', 'the events come through a local nats-server from a paced publisher')
      .option('--refits', 'keep model refits on')
      .addOption(
        new Option(
          '--fanout <where>',
          'where the WebSocket fan-out runs (server.fanout): inline, process, or both (each 100-subscriber run made with each)',
        )
          .choices(['inline', 'process', 'both'])
          .default('inline'),
      )
      .addOption(json()),
    new Command('checkpoint')
      .description(
        'what durable state costs: the core input (100k and 1M customers) with checkpoints every 10 s to a local nats-server Object Store ' +
          'against none (alternated pairs); checkpoint size, write and restore time, the longest engine stall, throughput on/off',
      )
      .addOption(quick('20k customers, 1 pair'))
      .addOption(json()),
    new Command('memory')
      .description(
        'state memory per customer with analytics at 1M customers: the single-threaded engine, then the partitioned engine with 2 workers ' +
          "(each worker isolate's heap + array buffers after a full GC, summed over workers)",
      )
      .addOption(quick('100k customers'))
      .addOption(json()),
    new Command('chaos')
      .description(
        '200k events through JetStream into vigil start child processes killed 10 times: customers wrong, events lost and double-counted, ' +
          'triggers missing (all must be 0), recovery times',
      )
      .addOption(quick('30k events, 4 kills'))
      .addOption(json()),
    new Command('compare')
      .description('what moved between two --json results, by how much, and whether beyond the run-to-run spread')
      .argument('<old>', 'the earlier results (JSON)')
      .argument('<new>', 'the later results (JSON)'),
  ];
}

const KNOWN = new Set(['core', 'nats', 'triggers', 'ws', 'checkpoint', 'memory', 'chaos', 'compare', 'help']);
const askedForHelp = (argv: readonly string[]) => argv.includes('--help') || argv.includes('-h');

/**
 * Parses `npm run bench -- <suite> [options]`. Returns undefined when it has printed help
 * (exit 0); throws BenchUsageError on a bad option or argument.
 */
export function parseBenchArgs(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): BenchArgs | { exit: number } {
  const [suite = 'core', ...rest] = argv;
  // A suite added to index.ts before it has help here still runs; asking it for help never does.
  if (!KNOWN.has(suite) && !suite.startsWith('-') && !askedForHelp(rest)) return { suite, args: rest };
  const program = new Command('npm run bench --')
    .description(
      'benchmarks; they print figures and assert nothing. Quote ratios from one run: shared machines move absolute figures by ±20%.',
    )
    .helpCommand('help [suite]', 'help for a suite');
  for (const s of suites()) program.addCommand(s);
  let parsed: BenchArgs | undefined;
  for (const cmd of [program, ...program.commands]) {
    cmd
      .exitOverride()
      .showSuggestionAfterError(true)
      .configureOutput({
        writeOut: out,
        writeErr: err,
        outputError: (s, write) =>
          write(
            `${s
              .replace(/^error: /, 'bench: ')
              .replace(/\s*\n\s*/g, ' ')
              .trim()}\n`,
          ),
      })
      .showHelpAfterError(`hint: npm run bench -- ${cmd === program ? '' : cmd.name() + ' '}--help`);
    if (cmd !== program) {
      cmd.action((...a: unknown[]) => {
        const c = a[a.length - 1] as Command;
        const o = c.opts<{ json?: string; quick?: boolean; nats?: boolean; refits?: boolean; fanout?: string }>();
        const flags = [o.quick && '--quick', o.nats && '--nats', o.refits && '--refits'].filter(
          (f): f is string => typeof f === 'string',
        );
        // Only a fan-out other than the default is passed on, so the other suites' args stay as they were.
        if (o.fanout !== undefined && o.fanout !== 'inline') flags.push(`--fanout=${o.fanout}`);
        parsed = {
          suite: c.name(),
          args: flags,
          json: o.json,
          compare: c.name() === 'compare' ? [c.args[0]!, c.args[1]!] : undefined,
        };
      });
    }
  }
  try {
    program.parse([suite, ...rest], { from: 'user' });
  } catch (e: unknown) {
    if (e instanceof CommanderError) return { exit: e.exitCode === 0 ? 0 : 2 };
    throw e;
  }
  return parsed ?? { exit: 2 };
}
