import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import type { RejectReason } from '../src/core/errors.js';
import { dump, message, rawMessage, runMessages, testConfig } from './support/engine-harness.js';

const TS = Date.UTC(2026, 0, 10);
const good = (i: number) => ({ id: `good${i}`, type: 'page_view', customerId: `c${i % 3}`, ts: TS + i * 1000 });
const wallClock = Date.UTC(2030, 0, 1); // the harness pins the wall clock here

/** Each bad message with the reason it must be rejected for, and the path where one applies. */
const corpus: { name: string; msg: ReturnType<typeof rawMessage>; reason: RejectReason; path?: string }[] = [
  { name: 'empty payload', msg: rawMessage(new Uint8Array(0)), reason: 'VIGIL_ERR_PAYLOAD_EMPTY' },
  { name: 'truncated msgpack', msg: rawMessage(encode(good(1)).slice(0, 20)), reason: 'VIGIL_ERR_DECODE_MSGPACK' },
  { name: 'invalid JSON', msg: rawMessage('{"id": "a", "type": '), reason: 'VIGIL_ERR_DECODE_JSON' },
  { name: 'JSON that is not an object', msg: rawMessage('[1,2,3]'), reason: 'VIGIL_ERR_UNKNOWN_FORMAT' },
  { name: 'plain text', msg: rawMessage('hello'), reason: 'VIGIL_ERR_UNKNOWN_FORMAT' },
  {
    name: 'invalid UTF-8 in JSON',
    msg: rawMessage(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    reason: 'VIGIL_ERR_DECODE_JSON',
  },
  {
    name: 'oversized payload',
    msg: rawMessage('{"id":"' + 'x'.repeat(70_000) + '"}'),
    reason: 'VIGIL_ERR_PAYLOAD_TOO_LARGE',
  },
  { name: 'ts as a string', msg: message({ ...good(2), ts: '2026-01-10' }), reason: 'VIGIL_ERR_SCHEMA', path: 'ts' },
  {
    name: 'customerId as a number',
    msg: message({ ...good(2), customerId: 42 }),
    reason: 'VIGIL_ERR_SCHEMA',
    path: 'customerId',
  },
  { name: 'missing id', msg: message({ ...good(2), id: undefined }), reason: 'VIGIL_ERR_SCHEMA', path: 'id' },
  {
    name: 'huge string',
    msg: message({ ...good(2), customerId: 'c'.repeat(5000) }),
    reason: 'VIGIL_ERR_SCHEMA',
    path: 'customerId',
  },
  {
    name: 'unknown type',
    msg: message({ ...good(2), type: 'teleport' }),
    reason: 'VIGIL_ERR_UNKNOWN_EVENT_TYPE',
    path: 'type',
  },
  {
    name: 'NaN price (msgpack can carry it)',
    msg: message({ ...good(3), type: 'product_view', productId: 'p', price: NaN }),
    reason: 'VIGIL_ERR_SCHEMA',
    path: 'price',
  },
  {
    name: 'infinite price',
    msg: message({ ...good(3), type: 'product_view', productId: 'p', price: Infinity }),
    reason: 'VIGIL_ERR_SCHEMA',
    path: 'price',
  },
  {
    name: 'negative item price',
    msg: message({ ...good(4), type: 'purchase', orderId: 'o', items: [{ productId: 'p', price: -5, quantity: 1 }] }),
    reason: 'VIGIL_ERR_SCHEMA',
    path: 'items.0.price',
  },
  {
    name: 'too many items',
    msg: message({
      ...good(4),
      type: 'purchase',
      orderId: 'o',
      items: Array.from({ length: 101 }, () => ({ productId: 'p', price: 1, quantity: 1 })),
    }),
    reason: 'VIGIL_ERR_SCHEMA',
    path: 'items',
  },
  { name: 'ts in seconds', msg: message({ ...good(5), ts: 1767225600 }), reason: 'VIGIL_ERR_TS_RANGE', path: 'ts' },
  {
    name: 'ts in the year 3000',
    msg: message({ ...good(5), ts: Date.UTC(3000, 0, 1) }),
    reason: 'VIGIL_ERR_TS_RANGE',
    path: 'ts',
  },
  {
    name: 'ts a week ahead of the wall clock',
    msg: message({ ...good(5), ts: wallClock + 7 * 86_400_000 }),
    reason: 'VIGIL_ERR_TS_FUTURE',
    path: 'ts',
  },
  {
    name: 'feedback with neither rating nor complaint',
    msg: message({ ...good(6), type: 'feedback' }),
    reason: 'VIGIL_ERR_SCHEMA',
    path: 'rating',
  },
];

describe('bad input', () => {
  it('is rejected with its reason code and path, and the good messages around it are all applied', async () => {
    const messages = [];
    for (let i = 0; i < corpus.length; i++) {
      messages.push(message(good(100 + 2 * i), i % 2 ? 'json' : 'msgpack'), corpus[i]!.msg, message(good(101 + 2 * i)));
    }
    const { engine, batches } = await runMessages(testConfig(), messages, { batchSize: 7 });
    const c = engine.state.counters;
    expect(c.applied).toBe(2 * corpus.length);
    expect(c.rejected).toBe(corpus.length);
    expect(c.input).toBe(messages.length);

    const rejections = batches.flatMap((b, bi) => b.rejections.map((r) => ({ ...r, index: bi * 7 + r.index })));
    for (let i = 0; i < corpus.length; i++) {
      const r = rejections.find((x) => x.index === 3 * i + 1);
      expect(r, corpus[i]!.name).toBeDefined();
      expect({ name: corpus[i]!.name, reason: r!.reason }).toEqual({
        name: corpus[i]!.name,
        reason: corpus[i]!.reason,
      });
      if (corpus[i]!.path !== undefined) expect(r!.path, corpus[i]!.name).toBe(corpus[i]!.path);
    }
    // Rejections say where, never what: no value from the payload appears in a rejection.
    expect(JSON.stringify(rejections)).not.toContain('teleport');
    expect(dump(engine)).toHaveLength(3);
  });

  it('stops admitting new customers at limits.maxCustomers and says so per message', async () => {
    const messages = Array.from({ length: 6 }, (_, i) =>
      message({ id: `m${i}`, type: 'page_view', customerId: `c${i}`, ts: TS + i }),
    );
    messages.push(message({ id: 'm9', type: 'page_view', customerId: 'c0', ts: TS + 9 }));
    const { engine } = await runMessages(testConfig({ limits: { maxCustomers: 4 } }), messages);
    expect(engine.state.counters.toJSON()).toMatchObject({
      applied: 5,
      rejected: 2,
      rejectedBy: { VIGIL_ERR_STATE_FULL: 2 },
    });
    expect(engine.state.store.size).toBe(4);
  });
});
