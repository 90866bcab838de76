#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isVigilError, VigilError } from './errors.js';
import { replay } from './cli/replay.js';
import { startDemo } from './cli/start.js';
import { generate } from './cli/generate.js';
import { publish } from './cli/publish.js';
import { erase } from './cli/erase.js';
import { unreadableWarning } from './sources/event-file.js';
import { fit } from './cli/fit.js';
import { importEvents } from './cli/import.js';
import { evalRecs } from './cli/eval-recs.js';
import { evalChurn } from './cli/eval-churn.js';
import { readBody, webhookVerify } from './cli/webhook-verify.js';

const usage = `vigil — real-time customer signals from shop events

Usage:
  vigil start [--config FILE] [--port N]      run the embedded demo shop through the engine, with the
                                              ops server (dashboard, stream, API) on 127.0.0.1:8080
  vigil start --nats-url nats://HOST:4222 [--mode core|jetstream]
                                              consume shop events from NATS (nats.* in the config);
                                              JetStream state is checkpointed (checkpoint.*)
  vigil start [--state-dir DIR] [--fresh-state]
                                              keep the demo's checkpoints in DIR and resume from
                                              them; --fresh-state discards checkpoints, starts empty
  vigil publish --nats-url URL [--events N | --file FILE] [--rate N] [--format msgpack|json]
                [--mode core|jetstream] [--subject shop.events] [--create-stream NAME]
                                              send the synthetic shop's events (or a file's) to NATS
  vigil replay FILE|- [--dump-state OUT.jsonl] [--config FILE] [--quiet] [--triggers]
                                              replay canonical events (JSON Lines or msgpack stream);
                                              --triggers delivers its alerts to the configured
                                              marketing triggers and webhooks (triggers.*)
  vigil erase --customer ID [--nats-url URL] [--config FILE]
                                              erase a customer: state, held alerts, later events
                                              (a request on erasure.subject, or erasure.file)
  vigil generate --out FILE [--events N] [--format jsonl|msgpack] [--seed N] [--customers N]
                                              write the synthetic shop's events to a file
  vigil import cdnow IN --out OUT.jsonl       CDNOW purchase log → canonical purchase events
  vigil fit bgnbd|gammagamma FILE [--unit day|week] [--calibration-end YYYY-MM-DD]
                                              fit a model on the state a replay leaves; JSON out
  vigil eval recs --train FILE --test FILE    next-item hit rate@20 and MRR@20 of the streaming
                                              recommender beside popularity, item-kNN and sequential
                                              rules (SessionId ItemId Time files); JSON out
  vigil eval churn FILE --calibration-end YYYY-MM-DD [--holdout-weeks 39]
                                              the engine's churn signal as of calibration end against
                                              who bought in the holdout, beside recency, frequency,
                                              BG/NBD P(alive) and overdue-by-2-sd baselines; JSON out
  vigil webhook verify --id ID --timestamp T --signature SIG [--secret whsec_…] [--tolerance S] < BODY
                                              check a webhook delivery's signature (Standard Webhooks);
                                              the secret may come from VIGIL_WEBHOOK_SECRET

Configuration: config/default.json, then --config FILE, then VIGIL_* environment variables
(VIGIL_PIPELINE__BATCH_SIZE=1024 sets pipeline.batchSize).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      'nats-url': { type: 'string' },
      mode: { type: 'string' },
      port: { type: 'string' },
      subject: { type: 'string' },
      rate: { type: 'string' },
      'create-stream': { type: 'string' },
      file: { type: 'string' },
      'dump-state': { type: 'string' },
      quiet: { type: 'boolean' },
      out: { type: 'string' },
      events: { type: 'string' },
      format: { type: 'string' },
      seed: { type: 'string' },
      customers: { type: 'string' },
      customer: { type: 'string' },
      unit: { type: 'string' },
      'calibration-end': { type: 'string' },
      'holdout-weeks': { type: 'string' },
      train: { type: 'string' },
      test: { type: 'string' },
      triggers: { type: 'boolean' },
      secret: { type: 'string' },
      id: { type: 'string' },
      timestamp: { type: 'string' },
      signature: { type: 'string' },
      tolerance: { type: 'string' },
      'state-dir': { type: 'string' },
      'fresh-state': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(usage + '\n');
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'start':
      await startDemo({
        configFile: values.config,
        natsUrl: values['nats-url'],
        mode: values.mode,
        port: values.port,
        stateDir: values['state-dir'],
        freshState: values['fresh-state'] === true,
      });
      return 0;
    case 'replay': {
      const file = positionals[0];
      if (file === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'replay needs a FILE (or - for stdin)');
      const r = await replay({ file, configFile: values.config, dumpState: values['dump-state'], progress: !values.quiet, triggers: values.triggers === true });
      process.stderr.write(
        `replayed ${r.counts.input} messages in ${r.seconds.toFixed(2)} s: ${JSON.stringify(r.counts)}; ` +
          `${r.customers} customers; final watermark ${Number.isFinite(r.watermark) ? new Date(r.watermark).toISOString() : 'none'}\n`,
      );
      if (r.triggers !== undefined) process.stderr.write(`triggers: ${JSON.stringify(r.triggers)}\n`);
      if (r.webhooks !== undefined) process.stderr.write(`webhooks: ${JSON.stringify(r.webhooks)}\n`);
      for (const w of r.warnings) process.stderr.write(`\nWARNING: ${w}\n\n`);
      if (r.file.unreadableBytes > 0) {
        process.stderr.write(unreadableWarning(r.file) + '\n');
        return 1;
      }
      return 0;
    }
    case 'publish': {
      const { sent, file } = await publish({
        natsUrl: values['nats-url'],
        file: values.file,
        events: values.events,
        rate: values.rate,
        format: values.format,
        mode: values.mode,
        subject: values.subject,
        createStream: values['create-stream'],
        seed: values.seed,
        customers: values.customers,
        configFile: values.config,
      });
      process.stderr.write(`published ${sent} messages\n`);
      if (file !== undefined && file.unreadableBytes > 0) {
        process.stderr.write(unreadableWarning(file) + '\n');
        return 1;
      }
      return 0;
    }
    case 'erase':
      process.stderr.write((await erase({ customer: values.customer, natsUrl: values['nats-url'], configFile: values.config })) + '\n');
      return 0;
    case 'generate':
      await generate({
        out: values.out,
        events: values.events,
        format: values.format,
        seed: values.seed,
        customers: values.customers,
        configFile: values.config,
      });
      return 0;
    case 'import': {
      const [format, input] = positionals;
      if (format === undefined || input === undefined || values.out === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'import needs FORMAT IN --out OUT');
      const n = await importEvents(format, input, values.out);
      process.stderr.write(`wrote ${n} events\n`);
      return 0;
    }
    case 'fit': {
      const [model, file] = positionals;
      if (model === undefined || file === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'fit needs a model (bgnbd or gammagamma) and a FILE');
      const report = await fit({ model, file, unit: values.unit, calibrationEnd: values['calibration-end'], configFile: values.config, progress: !values.quiet });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    case 'eval': {
      if (positionals[0] === 'churn') {
        const [, file] = positionals;
        const end = values['calibration-end'];
        if (file === undefined || end === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'eval churn needs FILE --calibration-end YYYY-MM-DD');
        const weeks = values['holdout-weeks'] === undefined ? undefined : Number(values['holdout-weeks']);
        const report = await evalChurn({ file, calibrationEnd: end, holdoutWeeks: weeks, configFile: values.config });
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }
      if (positionals[0] !== 'recs' || values.train === undefined || values.test === undefined) {
        throw new VigilError('VIGIL_ERR_USAGE', 'eval needs: recs --train FILE --test FILE');
      }
      const report = await evalRecs({ train: values.train, test: values.test, progress: !values.quiet });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    case 'webhook': {
      if (positionals[0] !== 'verify') throw new VigilError('VIGIL_ERR_USAGE', 'webhook needs: verify --id ID --timestamp T --signature SIG < BODY');
      const verdict = webhookVerify(values, await readBody(process.stdin), process.env);
      process.stdout.write(verdict.ok ? 'valid\n' : `invalid: ${verdict.reason}\n`);
      return verdict.ok ? 0 : 1;
    }
    default:
      throw new VigilError('VIGIL_ERR_USAGE', `unknown command '${command}'`, [usage]);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isVigilError(e)) {
      process.stderr.write(`error ${e.code}: ${e.message}\n${e.details.map((d) => '  - ' + d).join('\n')}\n`);
      process.exitCode = e.code === 'VIGIL_ERR_USAGE' || e.code === 'VIGIL_ERR_CONFIG' ? 2 : 1;
    } else if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error VIGIL_ERR_USAGE: ${e.message}\n\n${usage}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`fatal: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
