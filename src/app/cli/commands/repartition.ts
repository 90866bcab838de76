import { Command } from 'commander';
import { DEFAULT_REPARTITION_CONSUMER, repartition } from '../repartition.js';
import { action, type CliContext } from '../command-context.js';

export function repartitionCommand(ctx: CliContext): Command {
  return new Command('repartition')
    .description(
      'put an unpartitioned JetStream feed (e.g. Segment on one subject) on partition subjects <to>.<p>.<type>, de-duplicated by Nats-Msg-Id; runs until SIGTERM or Ctrl-C',
    )
    .requiredOption('--from <subject>', "the feed's subject (one subject or a wildcard)")
    .requiredOption(
      '--to <prefix>',
      'the output subject prefix: messages go to <prefix>.<partition>.<last token of their subject>',
    )
    .option('--stream <name>', 'the stream holding the feed (default: the one whose subjects take --from)')
    .option(
      '--consumer <name>',
      `the durable consumer on the feed (default ${DEFAULT_REPARTITION_CONSUMER}); a restart resumes it`,
    )
    .option('--create-stream <name>', 'create this stream over <prefix>.> first if it does not exist')
    .option('--partitions <n>', "P: the engine's number of partitions (default: engine.partitions, 32)")
    .option('--nats-url <url>', 'the NATS server (default: nats.url in the config)')
    .option('--config <file>', 'a JSON config file over config/default.json')
    .option('--quiet', 'no progress line')
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<{
          from: string;
          to: string;
          stream?: string;
          consumer?: string;
          createStream?: string;
          partitions?: string;
          natsUrl?: string;
          config?: string;
          quiet?: boolean;
        }>();
        const interrupt = new AbortController();
        const stop = () => interrupt.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        const r = await repartition({
          from: o.from,
          to: o.to,
          stream: o.stream,
          consumer: o.consumer,
          createStream: o.createStream,
          partitions: o.partitions,
          natsUrl: o.natsUrl,
          configFile: o.config,
          progress: !o.quiet,
          signal: interrupt.signal,
          log: (l) => ctx.err.write(l + '\n'),
        }).finally(() => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        });
        ctx.err.write(
          `repartitioned ${r.stream} (consumer ${r.consumer}) in ${r.seconds.toFixed(2)} s: ` +
            `${JSON.stringify({ read: r.read, republished: r.republished, duplicates: r.duplicates, partitions: r.partitions })}\n`,
        );
        return 0;
      }),
    );
}
