#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isVigilError, VigilError } from './errors.js';
import { replay } from './cli/replay.js';
import { startDemo } from './cli/start.js';
import { generate } from './cli/generate.js';
import { publish } from './cli/publish.js';
import { fit } from './cli/fit.js';
import { importEvents } from './cli/import.js';
import { evalRecs } from './cli/eval-recs.js';
import { evalForecast, evalForecastCdnow } from './cli/eval-forecast.js';
import { evalClusters } from './cli/eval-clusters.js';
import { readBody, webhookVerify } from './cli/webhook-verify.js';

const usage = `vigil — real-time customer signals from shop events

Usage:
  vigil start [--config FILE] [--port N]      run the embedded demo shop through the engine, with the
                                              ops server (dashboard, stream, API) on 127.0.0.1:8080
  vigil start --nats-url nats://HOST:4222 [--mode core|jetstream]
                                              consume shop events from NATS (nats.* in the config)
  vigil publish --nats-url URL [--events N | --file FILE] [--rate N] [--format msgpack|json]
                [--mode core|jetstream] [--subject shop.events] [--create-stream NAME]
                                              send the synthetic shop's events (or a file's) to NATS
  vigil replay FILE|- [--dump-state OUT.jsonl] [--config FILE] [--quiet] [--triggers]
                                              replay canonical events (JSON Lines or msgpack stream);
                                              --triggers delivers its alerts to the configured
                                              marketing triggers and webhooks (triggers.*)
  vigil generate --out FILE [--events N] [--format jsonl|msgpack] [--seed N] [--customers N] [--seasonal]
                                              write the synthetic shop's events to a file (--seasonal:
                                              demand with a known daily and weekly cycle and a trend)
  vigil import cdnow IN --out OUT.jsonl       CDNOW purchase log → canonical purchase events
  vigil fit bgnbd|gammagamma FILE [--unit day|week] [--calibration-end YYYY-MM-DD]
                                              fit a model on the state a replay leaves; JSON out
  vigil eval recs --train FILE --test FILE    next-item hit rate@20 and MRR@20 of the streaming
                                              recommender beside popularity, item-kNN and sequential
                                              rules (SessionId ItemId Time files); JSON out
  vigil eval forecast FILE [--horizon N] [--granularity hourly|daily|weekly] [--measure units|orders|revenue]
                [--category C] [--origin N]   rolling-origin MASE, sMAPE and 80/95 % interval coverage of the
                                              demand forecasts beside seasonal-naive (category _all: every one);
                                              --format cdnow: a CDNOW log, weekly repeat transactions over the
                                              39-week holdout beside the BG/NBD aggregate; JSON out
  vigil eval clusters FILE [--k N] [--format cdnow]
                                              streaming mini-batch k-means of the customers' behaviour
                                              beside batch k-means: inertia ratio, adjusted Rand; JSON out
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
      unit: { type: 'string' },
      'calibration-end': { type: 'string' },
      train: { type: 'string' },
      test: { type: 'string' },
      triggers: { type: 'boolean' },
      secret: { type: 'string' },
      id: { type: 'string' },
      timestamp: { type: 'string' },
      signature: { type: 'string' },
      tolerance: { type: 'string' },
      horizon: { type: 'string' },
      seasonal: { type: 'boolean' },
      granularity: { type: 'string' },
      measure: { type: 'string' },
      category: { type: 'string' },
      origin: { type: 'string' },
      k: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(usage + '\n');
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'start':
      await startDemo({ configFile: values.config, natsUrl: values['nats-url'], mode: values.mode, port: values.port });
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
      if (r.unreadableBytes > 0) {
        process.stderr.write(`warning: ${r.unreadableBytes} bytes after a msgpack framing error could not be read\n`);
        return 1;
      }
      return 0;
    }
    case 'publish': {
      const sent = await publish({
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
      return 0;
    }
    case 'generate':
      await generate({
        out: values.out,
        events: values.events,
        format: values.format,
        seed: values.seed,
        customers: values.customers,
        configFile: values.config,
        seasonal: values.seasonal,
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
      if (positionals[0] === 'forecast') {
        const file = positionals[1];
        if (file === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'eval forecast needs a FILE');
        const horizon = values.horizon === undefined ? undefined : Number(values.horizon);
        const report =
          values.format === 'cdnow'
            ? await evalForecastCdnow({ file, horizon, configFile: values.config })
            : await evalForecast({
                file,
                horizon,
                granularity: values.granularity,
                measure: values.measure,
                category: values.category,
                firstOrigin: values.origin === undefined ? undefined : Number(values.origin),
                configFile: values.config,
              });
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }
      if (positionals[0] === 'clusters') {
        const file = positionals[1];
        if (file === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'eval clusters needs a FILE');
        const report = await evalClusters({ file, k: values.k === undefined ? undefined : Number(values.k), format: values.format, configFile: values.config });
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }
      if (positionals[0] !== 'recs' || values.train === undefined || values.test === undefined) {
        throw new VigilError('VIGIL_ERR_USAGE', 'eval needs: recs --train FILE --test FILE, forecast FILE or clusters FILE');
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
