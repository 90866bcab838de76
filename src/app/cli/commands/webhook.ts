import { Command } from 'commander';
import { DEFAULT_SECRET_ENV, readBody, webhookVerify } from '../webhook-verify.js';
import { action, type CliContext } from '../command-context.js';

export function webhookCommand(ctx: CliContext): Command {
  const verify = new Command('verify')
    .description("check a webhook delivery's signature (Standard Webhooks); the body on stdin")
    .requiredOption('--id <id>', 'the webhook-id header')
    .requiredOption('--timestamp <t>', 'the webhook-timestamp header (epoch seconds)')
    .requiredOption('--signature <sig>', 'the webhook-signature header')
    .option('--secret <whsec>', 'the secret (whsec_…); default: the environment variable --secret-env names')
    .option('--secret-env <name>', 'the environment variable holding the secret', DEFAULT_SECRET_ENV)
    .option('--tolerance <s>', 'accepted clock skew in seconds')
    .action(
      action(ctx, async (cmd) => {
        const verdict = webhookVerify(cmd.opts(), await readBody(ctx.stdin), ctx.env);
        ctx.out.write(verdict.ok ? 'valid\n' : `invalid: ${verdict.reason}\n`);
        return verdict.ok ? 0 : 1;
      }),
    );
  return new Command('webhook').description('webhook tools').addCommand(verify);
}
