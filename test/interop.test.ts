import { CloudEvent, HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { marketingAlertTypes } from '../src/alerts/alert.js';
import { SuppressionList } from '../src/alerts/suppression.js';
import { MarketingGate } from '../src/delivery/marketing/audience.js';
import { cloudEventType, encodeCloudEvent, vigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { resolveWebhooks } from '../src/delivery/marketing/webhook-destinations.js';
import { WebhookSink } from '../src/delivery/sinks/webhooks.js';
import { testConfig } from './support/engine-harness.js';
import { HttpReceiver, type Received } from './support/http-receiver.js';
import { runWithSinks, shopMessages } from './support/shop-alerts.js';

/**
 * Vigil's triggers read by the standards' own libraries, as a user's receiver would read them:
 * webhook deliveries verified by `standardwebhooks`, their bodies and the NATS trigger
 * payloads parsed and validated by the `cloudevents` SDK.
 */
const SECRET = 'whsec_' + Buffer.from('interop-test-secret-0123456789ab').toString('base64');
const SOURCE = 'urn:vigil:interop';
const config = testConfig({
  triggers: {
    webhooks: {
      defaults: {
        timeoutMs: 5000,
        maxAttempts: 5,
        maxQueue: 100_000,
        concurrency: 4,
        backoff: { baseMs: 1, maxMs: 5 },
        maxRetryAfterMs: 3_600_000,
      },
      destinations: [{ name: 'crm', url: 'http://127.0.0.1:1/placeholder', secret: SECRET }],
    },
  },
});
let receiver: HttpReceiver;
afterAll(async () => receiver?.stop());

const headersOf = (r: Received) => Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)]));

describe('interoperability with the standards libraries', () => {
  it('standardwebhooks verifies every delivery, and rejects a tampered one; cloudevents parses each body', async () => {
    receiver = await HttpReceiver.start(() => ({ status: 204 }));
    const [dest] = resolveWebhooks(
      {
        ...config.triggers.webhooks,
        destinations: [{ ...config.triggers.webhooks.destinations[0]!, url: receiver.url }],
      },
      {},
    );
    const sink = new WebhookSink([dest!], MarketingGate.of(SuppressionList.empty, null), SOURCE, { log: () => {} });
    const { alerts } = await runWithSinks(config, shopMessages(300, 30), [sink]);
    await sink.idle();
    await sink.close(0);
    const wanted = alerts.filter((a) => marketingAlertTypes.includes(a.type));
    expect(wanted.length).toBeGreaterThan(10);
    expect(receiver.received.length).toBe(wanted.length);

    const wh = new Webhook(SECRET);
    for (const got of receiver.received) {
      const headers = headersOf(got);
      // The library's verify returns the parsed body, and throws when the signature does not hold.
      expect(wh.verify(got.body.toString('utf8'), headers)).toEqual(JSON.parse(got.body.toString('utf8')));
      const tampered = got.body.toString('utf8').replace('"specversion"', '"specversion" ');
      expect(() => wh.verify(tampered, headers)).toThrow();
      expect(() =>
        new Webhook('whsec_' + Buffer.from('another-secret-0123456789abcdef').toString('base64')).verify(
          got.body.toString('utf8'),
          headers,
        ),
      ).toThrow();

      const event = HTTP.toEvent({ headers, body: got.body.toString('utf8') }) as CloudEvent<unknown>;
      expect(event.validate()).toBe(true);
      const ours = vigilCloudEvent.parse(JSON.parse(got.body.toString('utf8')));
      expect({
        id: event.id,
        type: event.type,
        source: event.source,
        subject: event.subject,
        specversion: event.specversion,
      }).toEqual({
        id: ours.id,
        type: ours.type,
        source: SOURCE,
        subject: ours.subject,
        specversion: '1.0',
      });
      expect(event.data).toEqual(ours.data);
    }
  }, 120_000);

  it('cloudevents parses and validates the NATS trigger payload of every alert type', async () => {
    const { alerts } = await runWithSinks(config, shopMessages(300, 60), []);
    const seen = new Set<string>();
    for (const alert of alerts) {
      const json = JSON.parse(Buffer.from(encodeCloudEvent(alert, SOURCE)).toString('utf8')) as Record<string, unknown>;
      const event = new CloudEvent(json);
      expect(event.validate()).toBe(true);
      expect(event.type).toBe(cloudEventType(alert.type));
      expect(event.id).toBe(alert.id);
      seen.add(alert.type);
    }
    expect(seen.size).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
