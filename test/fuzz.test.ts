import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fromSegment } from '../src/ingest/adapters/segment.js';
import { decodePayload } from '../src/ingest/codec/decode.js';
import { encodePayload } from '../src/edges/encode.js';
import { loadConfig } from '../src/app/config/load.js';
import { rejectReasons, VigilError } from '../src/core/errors.js';
import { canonicalEvent } from '../src/core/event.js';
import { reasonFromIssues } from '../src/ingest/reject-reason.js';
import { startOpsServer } from '../src/server/ops-server.js';
import { clientFrame, streamErrorCodes } from '../src/server/frames.js';
import { scopeNames } from '../src/server/scopes.js';
import { readEventFile, type EventFileProgress } from '../src/edges/files/event-file.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { Engine } from '../src/app/engine.js';
import { rawMessage, runMessages, testConfig } from './support/engine-harness.js';
import { StreamClient } from './support/stream-client.js';

/**
 * Issue 18: fuzzing of every edge that reads outside input, bounded (a few hundred to a few
 * thousand runs each) so the suite keeps its time. For each: no throw, no hang (each
 * property has the test's timeout), the same reason code for the same input, and, where
 * messages flow, the four outcome counters add up to the input.
 */
const reasons = new Set<string>(rejectReasons);
const shop = new SyntheticShop({ seed: 21, customers: 50, products: 30, startTs: Date.UTC(2026, 0, 1) });
const samples = shop.take(200);
const validPayload = fc
  .tuple(fc.constantFrom(...samples), fc.constantFrom('json' as const, 'msgpack' as const))
  .map(([e, f]) => encodePayload(e, f));

/** A valid payload with bytes overwritten, cut or inserted: the near misses a fuzzer is for. */
const mutated = fc
  .tuple(
    validPayload,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([bytes, edits]) => {
    let b = Array.from(bytes);
    for (const [at, v, op] of edits) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (op === 'set') b[i] = v;
      else if (op === 'cut') b = b.slice(0, i);
      else b.splice(i, 0, v);
    }
    return Uint8Array.from(b);
  });
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  mutated,
  validPayload,
  fc.jsonValue().map((v) => encode(v)),
  fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
);

describe('fuzzing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the decoder: never throws, answers the same for the same bytes, rejects only with registered reasons', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const a = decodePayload(bytes, 4096);
        const b = decodePayload(Uint8Array.from(bytes), 4096);
        expect(b).toEqual(a);
        if (!a.ok) expect(reasons.has(a.reason)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('the Segment adapter: never throws; a refusal has a stable reason and path', () => {
    const call = fc.record(
      {
        type: fc.oneof(fc.constantFrom('track', 'page', 'identify', 'screen'), fc.string()),
        event: fc.oneof(
          fc.constantFrom('Product Viewed', 'Product Added', 'Product Removed', 'Checkout Started', 'Order Completed'),
          fc.string(),
        ),
        messageId: fc.oneof(fc.string(), fc.integer()),
        userId: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
        anonymousId: fc.oneof(fc.string(), fc.constant(null)),
        timestamp: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
          fc.integer(),
        ),
        properties: fc.oneof(
          fc.dictionary(
            fc.constantFrom(
              'product_id',
              'sku',
              'price',
              'quantity',
              'currency',
              'order_id',
              'products',
              'category',
              'session_id',
            ),
            fc.jsonValue(),
          ),
          fc.anything(),
        ),
        context: fc.anything(),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(fc.oneof(call, fc.anything()), (value) => {
        const a = fromSegment(value);
        expect(fromSegment(structuredClone(value))).toEqual(a);
        if (!a.ok) expect(reasons.has(a.reason)).toBe(true);
        else {
          const r = canonicalEvent.safeParse(a.event);
          if (!r.success) expect(reasons.has(reasonFromIssues(r.error.issues).reason)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the event schema: never throws on any value; a refusal has a registered reason', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.constantFrom(...samples).chain((e) =>
            fc.record({
              ...Object.fromEntries(
                Object.keys(e).map((k) => [k, fc.oneof(fc.constant((e as Record<string, unknown>)[k]), fc.anything())]),
              ),
            }),
          ),
        ),
        (value) => {
          const r = canonicalEvent.safeParse(value);
          if (!r.success) {
            const a = reasonFromIssues(r.error.issues);
            expect(reasons.has(a.reason)).toBe(true);
            const again = canonicalEvent.safeParse(value);
            expect(again.success ? undefined : reasonFromIssues(again.error.issues)).toEqual(a);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the whole graph on fuzzed messages: every message applied, duplicate, late or rejected, counters add up', async () => {
    const config = testConfig();
    await fc.assert(
      fc.asyncProperty(fc.array(anyBytes, { minLength: 1, maxLength: 60 }), async (payloads) => {
        const messages = payloads.map((p) => rawMessage(p));
        const { engine, batches } = await runMessages(config, messages, { batchSize: 16 });
        const c = engine.state.counters.toJSON();
        expect(c.input).toBe(messages.length);
        expect(c.applied + c.duplicate + c.late + c.rejected).toBe(c.input);
        const rejected = batches.flatMap((b) => b.rejections);
        expect(rejected.length).toBe(c.rejected);
        for (const r of rejected) expect(reasons.has(r.reason)).toBe(true);
        expect(Object.values(c.rejectedBy).reduce((x, y) => x + y, 0)).toBe(c.rejected);
      }),
      { numRuns: 60 },
    );
  });

  it('config loading: any overrides or environment give a config or VIGIL_ERR_CONFIG, nothing else', () => {
    const base = testConfig() as unknown as Record<string, Record<string, unknown>>;
    const paths = Object.entries(base).flatMap(([section, v]) => Object.keys(v).map((k) => [section, k] as const));
    const override = fc.oneof(
      fc.anything(),
      fc.tuple(fc.constantFrom(...paths), fc.anything()).map(([[s, k], v]) => ({ [s]: { [k]: v } })),
      fc.dictionary(fc.string(), fc.anything()),
    );
    const env = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          ...paths.map(([s, k]) => `VIGIL_${s.toUpperCase()}__${k.replace(/[A-Z]/g, (m) => `_${m}`).toUpperCase()}`),
        ),
        fc.string().map((s) => `VIGIL_${s}`),
      ),
      fc.oneof(
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
      { maxKeys: 3 },
    );
    fc.assert(
      fc.property(override, env, (over, vars) => {
        const attempt = () =>
          loadConfig({
            env: vars,
            overrides: (typeof over === 'object' && over !== null && !Array.isArray(over)
              ? over
              : { value: over }) as Record<string, unknown>,
          });
        let first: unknown;
        try {
          attempt();
        } catch (e) {
          first = e;
          expect(e).toBeInstanceOf(VigilError);
          expect((e as VigilError).code).toBe('VIGIL_ERR_CONFIG');
        }
        // Stable: the same sources, the same answer.
        let second: unknown;
        try {
          attempt();
        } catch (e) {
          second = e;
        }
        expect((second as VigilError | undefined)?.details).toEqual((first as VigilError | undefined)?.details);
      }),
      { numRuns: 500 },
    );
  });

  it('replay/publish framing of msgpack files: never throws; message bytes and unreadable bytes add up to the file', async () => {
    const file = join(dir, 'fuzz.msgpack');
    const config = testConfig();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            validPayload.filter((p) => p[0] !== 0x7b),
            mutated,
            fc.uint8Array({ maxLength: 40 }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        async (parts) => {
          const bytes = Buffer.concat(parts);
          writeFileSync(file, bytes);
          const progress: EventFileProgress = { bytesRead: 0, totalBytes: undefined, messages: 0, unreadableBytes: 0 };
          let inMessages = 0;
          let count = 0;
          for await (const run of readEventFile(file, { maxPayloadBytes: 4096, progress })) {
            for (const m of run) {
              inMessages += m.bytes.length;
              count++;
            }
          }
          expect(progress.messages).toBe(count);
          if (bytes.length > 0 && bytes[0] !== 0x7b && !/^\s/.test(String.fromCharCode(bytes[0]!))) {
            // A msgpack file: cut into contiguous messages, the rest counted as unreadable.
            expect(inMessages + progress.unreadableBytes).toBe(bytes.length);
          }
          // And the same bytes judged by the engine: the counters add up.
          const messages: ReturnType<typeof rawMessage>[] = [];
          for await (const run of readEventFile(file, { maxPayloadBytes: 4096 })) messages.push(...run);
          const { engine } = await runMessages(config, messages);
          expect(engine.state.counters.balanced).toBe(true);
          expect(engine.state.counters.input).toBe(count);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the WebSocket control-frame parser: every malformed frame gets an error frame with a stream code; the server stays up', async () => {
    const token = 'f'.repeat(32);
    const config = testConfig({
      server: {
        port: 0,
        logLevel: 'silent',
        clientFramesPerSecond: 1000,
        maxBadFrames: 1000,
        tokens: [{ name: 'fuzz', token, scopes: [...scopeNames], maxConnections: 4 }],
      },
    });
    const server = await startOpsServer({ config, engine: new Engine(config) });
    try {
      const frames = fc.sample(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string(),
          fc
            .record(
              {
                type: fc.constantFrom('subscribe', 'unsubscribe', 'ping', 'other'),
                id: fc.anything(),
                filter: fc.anything(),
                since: fc.anything(),
                replay: fc.anything(),
                nonce: fc.anything(),
              },
              { requiredKeys: ['type'] },
            )
            .map((v) => JSON.stringify(v)),
        ),
        { numRuns: 400, seed: 18 },
      );
      const c = await StreamClient.connect(server.url, { token });
      // The oracle: a frame is malformed when it is not JSON or the protocol schema refuses it.
      const malformed = frames.filter((text) => {
        try {
          return !clientFrame.safeParse(JSON.parse(text)).success;
        } catch {
          return true;
        }
      }).length;
      const before = server.hub.counters.badFrames;
      for (const f of frames) c.ws.send(f);
      await c.sync();
      const errors = c.frames.filter((f) => f.type === 'error');
      for (const e of errors) expect(streamErrorCodes).toContain((e as { code: string }).code);
      const bad = errors.filter((e) => (e as { code: string }).code === 'VIGIL_ERR_STREAM_BAD_FRAME').length;
      expect(bad).toBe(malformed);
      expect(server.hub.counters.badFrames - before).toBe(errors.length);
      expect(c.closed).toBeUndefined();
      await c.close();
    } finally {
      await server.close();
    }
  });
});
