import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, sniffFormat } from '../src/codec/decode.js';
import { encodePayload } from '../src/codec/encode.js';
import { msgpackValueEnd } from '../src/codec/msgpack-frames.js';

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
    expect(decodePayload(new Uint8Array([...bytes, 0x01]), 1024)).toEqual({ ok: false, reason: 'VIGIL_ERR_DECODE_MSGPACK' });
    expect(decodePayload(bytes.slice(0, bytes.length - 1), 1024)).toEqual({ ok: false, reason: 'VIGIL_ERR_DECODE_MSGPACK' });
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
