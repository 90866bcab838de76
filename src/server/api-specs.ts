import * as z from 'zod';
import { vigilCloudEvent } from '../delivery/marketing/cloudevent.js';
import {
  campaignBody,
  campaignListBody,
  clusterListBody,
  forecastBody,
  forecastListBody,
} from './aggregate-api-schemas.js';
import { customerBody, errorBody, livezBody, readyzBody, similarBody, tokenBody } from './api-schemas.js';
import { clientFrame, PROTOCOL_VERSION, serverFrame } from './frames.js';

/**
 * OpenAPI 3.1 for the HTTP API and AsyncAPI 3.0 for the live stream and the NATS triggers,
 * generated from the zod schemas (z.toJSONSchema, JSON Schema 2020-12, which both documents
 * embed as is). Served at /v1/openapi.json and /v1/asyncapi.json; docs/openapi.json and
 * docs/asyncapi.json are these, checked by a test (regenerate: npx tsx scripts/api-specs.ts).
 */
const schema = (s: z.ZodType) => {
  // The documents declare the dialect once; each embedded schema drops its own $schema.
  const out = z.toJSONSchema(s, { unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
};
const json = (s: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: schema(s) } },
});
const errorResponse = (description: string) => json(errorBody, description);

/** The API's version is the stream protocol's: the documents change only when the interface does. */
const version = `${PROTOCOL_VERSION}.0.0`;

export function openApiDocument(): Record<string, unknown> {
  const bearer = [{ bearer: [] }];
  const idParam = (name: string, description: string) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Vigil ops server',
      version,
      description: 'HTTP API of the ops server (docs/ops.md). The live stream is in asyncapi.json.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'a token of server.tokens, or the one `vigil start` printed',
        },
      },
    },
    paths: {
      '/livez': { get: { summary: 'the process is up', responses: { '200': json(livezBody, 'alive') } } },
      '/readyz': {
        get: {
          summary: 'the input is connected and state is ready',
          responses: { '200': json(readyzBody, 'ready'), '503': json(readyzBody, 'not ready') },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
      '/v1/token': {
        get: {
          summary: 'what the presented token is (never the token)',
          security: bearer,
          responses: { '200': json(tokenBody, 'the token'), '401': errorResponse('no or unknown token') },
        },
      },
      '/v1/customers/{id}': {
        get: {
          summary: "a customer's state, segment, analytics and recommendations as of the watermark",
          security: bearer,
          parameters: [idParam('id', 'customer id (URL-encoded)')],
          responses: {
            '200': json(customerBody, 'the customer'),
            '401': errorResponse('no or unknown token'),
            '404': errorResponse('no such customer in state'),
            '503': errorResponse('with engine.workers > 1: the worker owning the customer did not answer in time'),
          },
        },
      },
      '/v1/items/{id}/similar': {
        get: {
          summary: 'items viewed or bought together with this one',
          security: bearer,
          parameters: [
            idParam('id', 'product id (URL-encoded)'),
            { name: 'k', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } },
          ],
          responses: {
            '200': json(similarBody, 'similar items'),
            '400': errorResponse('bad k'),
            '401': errorResponse('no or unknown token'),
            '404': errorResponse('no such product in state'),
          },
        },
      },
      '/v1/forecasts': {
        get: {
          summary: 'the categories with a demand series (scope kpi:read)',
          security: bearer,
          responses: {
            '200': json(forecastListBody, 'the categories, _all first'),
            '401': errorResponse('no or unknown token'),
            '403': errorResponse('the token lacks kpi:read'),
            '404': errorResponse('demand.enabled is off'),
          },
        },
      },
      '/v1/forecasts/{category}': {
        get: {
          summary:
            "a category's demand (_all: every category): recent buckets beside their forecasts, and the next 24 h and 28 days with 80/95 % intervals (scope kpi:read)",
          security: bearer,
          parameters: [idParam('category', 'category (URL-encoded); _all, or _other for the rest')],
          responses: {
            '200': json(forecastBody, 'the demand series'),
            '401': errorResponse('no or unknown token'),
            '403': errorResponse('the token lacks kpi:read'),
            '404': errorResponse('no such series'),
          },
        },
      },
      '/v1/campaigns': {
        get: {
          summary: 'the live reports of the campaigns seen most recently and the latest final ones (scope kpi:read)',
          security: bearer,
          responses: {
            '200': json(campaignListBody, 'the reports'),
            '401': errorResponse('no or unknown token'),
            '403': errorResponse('the token lacks kpi:read'),
            '404': errorResponse('analytics.enabled is off'),
          },
        },
      },
      '/v1/clusters': {
        get: {
          summary: 'the published behavioural clusters: ids, labels, sizes (scope kpi:read)',
          security: bearer,
          responses: {
            '200': json(clusterListBody, 'the clusters, by id'),
            '401': errorResponse('no or unknown token'),
            '403': errorResponse('the token lacks kpi:read'),
            '404': errorResponse('clusters.enabled is off'),
          },
        },
      },
      '/v1/campaigns/{id}': {
        get: {
          summary:
            "a campaign's cohort report beside the baseline cohort of its period: live as of the watermark, final once its window closed; intervals at campaigns.level (scope kpi:read)",
          security: bearer,
          parameters: [idParam('id', 'campaign id (URL-encoded)')],
          responses: {
            '200': json(campaignBody, 'the report'),
            '401': errorResponse('no or unknown token'),
            '403': errorResponse('the token lacks kpi:read'),
            '404': errorResponse('no such campaign in state'),
          },
        },
      },
    },
  };
}

export function asyncApiDocument(): Record<string, unknown> {
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Vigil live stream and marketing triggers',
      version,
      description: 'docs/stream.md and docs/triggers.md are the reference.',
    },
    defaultContentType: 'application/json',
    channels: {
      stream: {
        address: '/v1/stream',
        description:
          'WebSocket; subprotocol vigil.v1.json (or vigil.v1.msgpack); token as bearer header or vigil.bearer.<token> subprotocol',
        messages: {
          serverFrame: { $ref: '#/components/messages/serverFrame' },
          clientFrame: { $ref: '#/components/messages/clientFrame' },
        },
      },
      triggers: {
        address: 'vigil.triggers.{type}',
        description:
          'NATS JetStream stream VIGIL_TRIGGERS; one CloudEvent per alert, Nats-Msg-Id = alert id. Webhooks POST the same body.',
        parameters: { type: { description: 'the alert type' } },
        messages: { trigger: { $ref: '#/components/messages/trigger' } },
      },
    },
    operations: {
      receiveStreamFrames: {
        action: 'receive',
        channel: { $ref: '#/channels/stream' },
        messages: [{ $ref: '#/channels/stream/messages/serverFrame' }],
      },
      sendStreamFrames: {
        action: 'send',
        channel: { $ref: '#/channels/stream' },
        messages: [{ $ref: '#/channels/stream/messages/clientFrame' }],
      },
      receiveTriggers: {
        action: 'receive',
        channel: { $ref: '#/channels/triggers' },
        messages: [{ $ref: '#/channels/triggers/messages/trigger' }],
      },
    },
    components: {
      messages: {
        serverFrame: { name: 'serverFrame', title: 'a frame the server sends', payload: schema(serverFrame) },
        clientFrame: { name: 'clientFrame', title: 'a frame the client sends', payload: schema(clientFrame) },
        trigger: {
          name: 'trigger',
          title: 'an alert as a CloudEvent 1.0 (structured JSON)',
          contentType: 'application/cloudevents+json',
          payload: schema(vigilCloudEvent),
        },
      },
    },
  };
}
