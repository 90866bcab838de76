import { describe, expect, it } from 'vitest';
import { adaptBatch } from '../src/ingest/operators/adapt.js';
import { newBatch, type Batch } from '../src/core/batch.js';
import { decodeBatch } from '../src/ingest/operators/decode.js';
import { isolatingPure } from '../src/ingest/operators/poison.js';
import { DeliveryLimit } from '../src/edges/nats/delivery-limit.js';
import { validateBatch } from '../src/ingest/operators/validate.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { message, rawMessage } from './support/engine-harness.js';

/** The pure stages as the pipeline runs them, plus a failure on one kind of payload. */
const realStages = (b: Batch) =>
  validateBatch(adaptBatch(decodeBatch(b, { maxPayloadBytes: 65536 })), {
    maxFutureSkewMs: 86_400_000,
    now: () => Date.UTC(2030, 0, 1),
  });
const BOOM = new TextEncoder().encode('{"boom": true}');
const throwsOnBoom = (b: Batch) => {
  const out = realStages(b);
  if (b.messages.some((m) => m.bytes.length === BOOM.length && m.bytes.every((x, i) => x === BOOM[i])))
    throw new Error('stage failed');
  return out;
};

describe('poison isolation in the pure stages', () => {
  const events = new SyntheticShop({ seed: 5, customers: 20, products: 10, startTs: Date.UTC(2026, 0, 1) }).take(6);
  const messages = [
    message(events[0]),
    rawMessage(BOOM),
    message(events[1]),
    rawMessage('{"id": '),
    message(events[2]),
    rawMessage(BOOM),
    message(events[3]),
  ];

  it('a batch whose stage throws is re-run message by message: offenders are VIGIL_ERR_POISON, the others get what they get alone', () => {
    const batch = newBatch(messages);
    const out = isolatingPure(throwsOnBoom)(batch);
    expect(out.messages).toBe(messages); // the source commits the same batch
    // Oracle: each message alone through the real stages, BOOM replaced by its poison verdict.
    messages.forEach((m, i) => {
      const alone = realStages(newBatch([m]));
      const poison = m.bytes === messages[1]!.bytes || m.bytes === messages[5]!.bytes;
      expect(out.outcome[i]).toBe(poison ? 4 : alone.outcome[0]);
      expect(out.events[i]).toEqual(poison ? undefined : alone.events[0]);
    });
    expect(out.rejections.map((r) => [r.index, r.reason]).sort()).toEqual([
      [1, 'VIGIL_ERR_POISON'],
      [3, 'VIGIL_ERR_DECODE_JSON'],
      [5, 'VIGIL_ERR_POISON'],
    ]);
  });

  it("a batch that does not throw is the stage's own result, untouched", () => {
    const clean = newBatch([message(events[4]), message(events[5])]);
    expect(isolatingPure(throwsOnBoom)(clean)).toBe(clean);
    expect(clean.events.map((e) => e?.id)).toEqual([events[4]!.id, events[5]!.id]);
  });
});

describe('DeliveryLimit', () => {
  it('a delivery past the limit is poison, unless an earlier delivery of it is still held here', () => {
    const limit = new DeliveryLimit(2);
    expect([limit.receive(7, 1), limit.receive(7, 2)]).toEqual([false, false]);
    // Delivery 3 while 1 and 2 are still in the process (input held back): not poison.
    expect(limit.receive(7, 3)).toBe(false);
    limit.release(7);
    limit.release(7);
    limit.release(7);
    // Delivery 4 after every earlier one was committed (or the process that held them died): poison.
    expect(limit.receive(7, 4)).toBe(true);
    expect(limit.receive(8, 3)).toBe(true);
  });
});
