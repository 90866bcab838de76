import { Command } from 'commander';
import { publish } from '../publish.js';
import { unreadableWarning } from '../../../edges/files/event-file.js';
import { action, type CliContext } from '../command-context.js';

export function publishCommand(ctx: CliContext): Command {
  return new Command('publish')
    .description("send the synthetic shop's events (or a file's messages as they are) to NATS")
    .option('--nats-url <url>', 'the NATS server (default: nats.url in the config)')
    .option('--events <n>', 'how many synthetic events to send')
    .option('--file <file>', "send this file's messages instead of synthetic events")
    .option('--rate <n>', 'events per second (default: as fast as the connection takes them)')
    .option('--format <format>', 'msgpack or json (default msgpack)')
    .option('--mode <mode>', 'core or jetstream')
    .option('--subject <prefix>', 'subject prefix (default shop.events)')
    .option('--create-stream <name>', 'create (or update) this JetStream stream over the subjects first')
    .option('--seed <n>', "the synthetic shop's random seed")
    .option('--customers <n>', 'how many synthetic customers')
    .option('--config <file>', 'a JSON config file over config/default.json')
    .action(
      action(ctx, async (cmd) => {
        const o = cmd.opts<Record<string, string | undefined>>();
        const { sent, file } = await publish({
          natsUrl: o.natsUrl,
          file: o.file,
          events: o.events,
          rate: o.rate,
          format: o.format,
          mode: o.mode,
          subject: o.subject,
          createStream: o.createStream,
          seed: o.seed,
          customers: o.customers,
          configFile: o.config,
        });
        ctx.err.write(`published ${sent} messages\n`);
        if (file !== undefined && file.unreadableBytes > 0) {
          ctx.err.write(unreadableWarning(file) + '\n');
          return 1;
        }
        return 0;
      }),
    );
}
