import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload } from '../src/ingest/codec/decode.js';
import { encodePayload, type PayloadFormat } from '../src/edges/encode.js';
import { canonicalEvent } from '../src/core/event.js';
import { rawMessage, runMessages, testConfig } from './support/engine-harness.js';

/**
 * Issue 18, failure 4: msgpack strings that are not UTF-8 were decoded with U+FFFD in place
 * of the bad bytes, so distinct ids collapsed into one. They are now rejected as the same
 * bytes in JSON are.
 */
const MARK = '\u007f';
/** Byte sequences that are not UTF-8: a stray byte, overlong, a surrogate, a cut sequence, past U+10FFFF. */
const badSequences = [[0xff], [0xfe], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];

/** `value` encoded, with the marker run in it (one per byte of `bad`) replaced by `bad`. */
function withBadBytes(value: unknown, format: PayloadFormat, bad: readonly number[]): Uint8Array {
  const bytes = encodePayload(value, format);
  const at = Buffer.from(bytes).indexOf(Buffer.from(MARK.repeat(bad.length)));
  if (at < 0) throw new Error('marker not found');
  const out = Uint8Array.from(bytes);
  out.set(bad, at);
  return out;
}

const view = (id: string, customerId: string) => ({
  id,
  type: 'product_view',
  customerId,
  ts: Date.UTC(2026, 0, 1),
  productId: 'p-1',
});

/** What the engine's decode + validate stages conclude about one payload. */
function outcome(bytes: Uint8Array): { ok: true; event: unknown } | { ok: false; reason: string; path?: string } {
  const d = decodePayload(bytes, 65536);
  if (!d.ok) return d;
  const r = canonicalEvent.safeParse(d.value);
  return r.success ? { ok: true, event: r.data } : { ok: false, reason: 'VIGIL_ERR_SCHEMA' };
}

describe('strict msgpack decoding', () => {
  it('rejects a msgpack string that is not UTF-8, naming its path, as JSON rejects the same bytes', () => {
    const value = view('e-1', `c-${MARK}`);
    const mp = decodePayload(withBadBytes(value, 'msgpack', [0xff]), 65536);
    expect(mp).toEqual({ ok: false, reason: 'VIGIL_ERR_DECODE_MSGPACK', path: 'customerId' });
    expect(decodePayload(withBadBytes(value, 'json', [0xff]), 65536)).toMatchObject({
      ok: false,
      reason: 'VIGIL_ERR_DECODE_JSON',
    });
    const nested = {
      ...view('e-2', 'c-1'),
      type: 'purchase',
      items: [{ productId: `p-${MARK}${MARK}`, price: 1, quantity: 1 }],
    };
    expect(decodePayload(withBadBytes(nested, 'msgpack', [0xc0, 0x80]), 65536)).toEqual({
      ok: false,
      reason: 'VIGIL_ERR_DECODE_MSGPACK',
      path: 'items.0.productId',
    });
    // A bad key is reported at its map.
    const badKey = { ...view('e-3', 'c-1'), extra: { [`k${MARK}`]: 1 } };
    expect(decodePayload(withBadBytes(badKey, 'msgpack', [0xfe]), 65536)).toEqual({
      ok: false,
      reason: 'VIGIL_ERR_DECODE_MSGPACK',
      path: 'extra',
    });
    // Long strings take msgpackr's TextDecoder path; they are held to the same rule.
    const long = view('e-4', `c-${'x'.repeat(100)}${MARK}`);
    expect(decodePayload(withBadBytes(long, 'msgpack', [0xff]), 65536)).toMatchObject({
      ok: false,
      path: 'customerId',
    });
  });

  it('accepts a genuine U+FFFD, which is valid UTF-8', () => {
    const value = view('e-\uFFFD', 'c-\uFFFD');
    expect(decodePayload(encode(value), 65536)).toEqual({ ok: true, value });
  });

  it('two events whose ids differ only in bad bytes are both rejected, not one applied and one duplicate', async () => {
    const config = testConfig();
    const a = withBadBytes(view(`e-${MARK}`, `c-${MARK}`), 'msgpack', [0xff]);
    const b = withBadBytes(view(`e-${MARK}`, `c-${MARK}`), 'msgpack', [0xfe]);
    // Both markers are patched: the id's first, then the customer's.
    const patchSecond = (bytes: Uint8Array, byte: number) => {
      const at = Buffer.from(bytes).indexOf(Buffer.from(MARK));
      const out = Uint8Array.from(bytes);
      out[at] = byte;
      return out;
    };
    const { engine } = await runMessages(config, [rawMessage(patchSecond(a, 0xff)), rawMessage(patchSecond(b, 0xfe))]);
    const c = engine.state.counters.toJSON();
    expect(c).toMatchObject({
      input: 2,
      applied: 0,
      duplicate: 0,
      rejected: 2,
      rejectedBy: { VIGIL_ERR_DECODE_MSGPACK: 2 },
    });
    expect(engine.state.store.size).toBe(0);
  });

  it('JSON and msgpack reach the same outcome for the same logical event, with or without bad bytes (property)', () => {
    // Any Unicode text but the marker; lone surrogates are not text (JSON could escape them, UTF-8 cannot carry them).
    const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes(MARK));
    fc.assert(
      fc.property(
        fc.record({ id: text, customerId: text, productId: text, category: text }),
        fc.constantFrom('id', 'customerId', 'productId', 'category'),
        fc.option(fc.constantFrom(...badSequences), { nil: undefined }),
        (fields, corrupt, bad) => {
          const event = {
            ...view(fields.id, fields.customerId),
            productId: fields.productId,
            category: fields.category,
          };
          if (bad === undefined) {
            const [j, m] = (['json', 'msgpack'] as const).map((f) => outcome(encodePayload(event, f)));
            expect(m).toEqual(j);
            return;
          }
          const marked = { ...event, [corrupt]: `${fields[corrupt as keyof typeof fields]}${MARK.repeat(bad.length)}` };
          expect(outcome(withBadBytes(marked, 'json', bad))).toMatchObject({
            ok: false,
            reason: 'VIGIL_ERR_DECODE_JSON',
          });
          expect(outcome(withBadBytes(marked, 'msgpack', bad))).toEqual({
            ok: false,
            reason: 'VIGIL_ERR_DECODE_MSGPACK',
            path: corrupt,
          });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
