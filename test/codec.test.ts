import { encode } from '@msgpack/msgpack';
import { Unpackr } from 'msgpackr/unpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, sniffFormat } from '../src/ingest/codec/decode.js';
import { encodePayload } from '../src/edges/encode.js';
import { msgpackValueEnd } from '../src/edges/files/msgpack-frames.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('codec', () => {
  it('tells JSON from msgpack by the first byte', () => {
    expect(sniffFormat(text('{"a":1}'))).toBe('json');
    expect(sniffFormat(text(' \n\t{"a":1}'))).toBe('json');
    expect(sniffFormat(encode({ a: 1 }))).toBe('msgpack');
    expect(sniffFormat(encode(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))))).toBe('msgpack'); // map16
    expect(sniffFormat(text('[1]'))).toBe('unknown');
    expect(sniffFormat(encode([1, 2]))).toBe('unknown');
  });

  it('round-trips events in both formats, epoch-ms integers staying numbers', () => {
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string(),
          ts: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
          price: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)), // msgpack writes -0 as the integer 0
          tags: fc.array(fc.string(), { maxLength: 3 }),
        }),
        fc.constantFrom('json' as const, 'msgpack' as const),
        (value, format) => {
          const r = decodePayload(encodePayload(value, format), 65536);
          expect(r.ok).toBe(true);
          if (r.ok) expect(r.value).toEqual(format === 'json' ? JSON.parse(JSON.stringify(value)) : value);
        },
      ),
    );
  });

  it('rejects trailing bytes after a msgpack value, and a value split short', () => {
    const bytes = encode({ a: 1 });
    expect(decodePayload(new Uint8Array([...bytes, 0x01]), 1024)).toEqual({
      ok: false,
      reason: 'VIGIL_ERR_DECODE_MSGPACK',
    });
    expect(decodePayload(bytes.slice(0, bytes.length - 1), 1024)).toEqual({
      ok: false,
      reason: 'VIGIL_ERR_DECODE_MSGPACK',
    });
  });

  it('decodes each msgpack payload on its own, whatever a longer one left in the decoder’s buffer', () => {
    // Payloads are copied into one reused buffer before decoding (decode.ts): a payload cut
    // short must still be refused when the bytes past its end are a previous payload's. The
    // oracle is msgpackr itself (same options) reading a fresh copy of the bytes.
    const reference = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
    const decode = (bytes: Uint8Array) => reference.unpack(Uint8Array.from(bytes)) as unknown;
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.nat(), (a, b, cut) => {
        const long = encode({ pad: 'x'.repeat(64), a });
        const short = encode({ b });
        const value = decodePayload(long, 65536);
        expect(value).toEqual({ ok: true, value: decode(long) });
        expect(decodePayload(short, 65536)).toEqual({ ok: true, value: decode(short) });
        // An earlier result does not change when the buffer is reused.
        expect(value).toEqual({ ok: true, value: decode(long) });
        decodePayload(long, 65536);
        const at = 1 + (cut % (short.length - 1 || 1));
        if (at < short.length)
          expect(decodePayload(short.subarray(0, at), 65536)).toEqual({
            ok: false,
            reason: 'VIGIL_ERR_DECODE_MSGPACK',
          });
      }),
    );
  });

  it('finds the end of any msgpack value without decoding it, and -1 when it is cut short', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const first = encode(a);
        const both = new Uint8Array([...first, ...encode(b)]);
        expect(msgpackValueEnd(both, 0)).toBe(first.length);
        expect(msgpackValueEnd(both, first.length)).toBe(both.length);
        if (first.length > 1) expect(msgpackValueEnd(first.subarray(0, first.length - 1), 0)).toBe(-1);
      }),
    );
    expect(() => msgpackValueEnd(new Uint8Array([0xc1]), 0)).toThrow();
  });
});
