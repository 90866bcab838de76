/**
 * A webhook receiver for Vigil's marketing triggers: a plain node:http server that checks
 * each delivery's Standard Webhooks signature against the raw body with the `standardwebhooks`
 * package (what a receiver in any stack would use), answers 401 when it does not verify, and
 * handles each `webhook-id` once (Vigil retries a delivery whose answer it did not get, with
 * the same id).
 *
 *   WEBHOOK_SECRET=whsec_… PORT=8787 npx tsx examples/webhook-receiver.ts
 *
 * and in Vigil's config: "triggers": { "webhooks": { "destinations": [
 *   { "name": "crm", "url": "http://127.0.0.1:8787/hook", "secretEnv": "WEBHOOK_SECRET" } ] } }
 */
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { vigilCloudEvent, type VigilCloudEvent } from 'vigil-engine/client';

const MAX_BODY_BYTES = 1024 * 1024;

export function createWebhookReceiver(secret: string, onTrigger: (event: VigilCloudEvent) => void): Server {
  const seen = new Set<string>();
  const webhook = new Webhook(secret);
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      const id = headers['webhook-id'];
      try {
        webhook.verify(body.toString('utf8'), headers); // throws unless the signature and timestamp hold
      } catch (e) {
        res.writeHead(401).end((e as Error).message);
        return;
      }
      if (!seen.has(id!)) {
        const parsed = vigilCloudEvent.safeParse(JSON.parse(body.toString('utf8')));
        if (!parsed.success) {
          res.writeHead(422).end(); // signed but not a trigger we understand: retrying will not help
          return;
        }
        onTrigger(parsed.data);
        seen.add(id!);
        if (seen.size > 100_000) seen.delete(seen.values().next().value!);
      }
      res.writeHead(204).end();
    });
  });
}

function main(): void {
  const secret = process.env.WEBHOOK_SECRET;
  if (secret === undefined) throw new Error('set WEBHOOK_SECRET to the destination secret (whsec_…)');
  const port = Number(process.env.PORT ?? 8787);
  createWebhookReceiver(secret, (e) => void process.stdout.write(`${e.type} for ${e.subject} at ${e.time}\n`)).listen(
    port,
    '127.0.0.1',
    () => process.stdout.write(`listening on http://127.0.0.1:${port}/hook\n`),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
