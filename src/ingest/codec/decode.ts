import { Unpackr } from 'msgpackr/unpack';
import type { RejectReason } from '../../core/errors.js';
import { hasReplacementChar, invalidUtf8Path } from './msgpack-utf8.js';

/**
 * Payloads are told apart by their first byte: a JSON object starts with `{` (perhaps
 * after whitespace), a msgpack map with 0x80–0x8f (fixmap), 0xde or 0xdf. Anything else
 * is not an event in either format, so it is rejected without trying both decoders.
 */
export type DecodeResult = { ok: true; value: unknown } | { ok: false; reason: RejectReason; path?: string };

const OPEN_BRACE = 0x7b;
/**
 * msgpackr rather than @msgpack/msgpack on this one hot path: it decodes the synthetic
 * shop's events faster (chosen by `npm run bench -- core`), and it is strict where it matters here: trailing bytes and truncation throw, and a
 * `__proto__` key cannot set a prototype. Records and other msgpackr extensions stay off, so
 * it reads plain msgpack as any producer writes it; 64-bit integers (epoch ms) come back as
 * numbers, not BigInt. Encoding stays with @msgpack/msgpack.
 *
 * `msgpackr/unpack` is the pure-JS decoder: msgpackr's native string extractor (the optional
 * msgpackr-extract addon) is slower on these short strings (`npm run bench -- core`). The
 * addon is pinned to 3.0.4 in package.json `overrides` only because the registry here lacks
 * later versions for some platforms, which broke `npm ci`.
 */
const decoder = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
/**
 * msgpackr caches a DataView on the array it reads (`source.dataView = new DataView(…)`):
 * one allocation per message, and on an input that outlives decoding (a replayed file, the
 * benches' pre-encoded events) a DataView kept for every message, promoted by every
 * scavenge. Payloads are copied into this one buffer instead (a payload is small: copying it
 * costs less than a DataView), which keeps its single DataView; decoded strings are copies, so nothing points
 * into it afterwards. Grown to the largest payload seen (≤ `limits.maxPayloadBytes`).
 */
let scratch = new Uint8Array(4096);

export function sniffFormat(bytes: Uint8Array): 'json' | 'msgpack' | 'unknown' {
  const b = bytes[0]!;
  if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) return 'msgpack';
  if (b === OPEN_BRACE) return 'json';
  if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
    for (let i = 1; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      return c === OPEN_BRACE ? 'json' : 'unknown';
    }
  }
  return 'unknown';
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function decodePayload(bytes: Uint8Array, maxPayloadBytes: number): DecodeResult {
  if (bytes.length === 0) return { ok: false, reason: 'VIGIL_ERR_PAYLOAD_EMPTY' };
  if (bytes.length > maxPayloadBytes) return { ok: false, reason: 'VIGIL_ERR_PAYLOAD_TOO_LARGE' };
  const format = sniffFormat(bytes);
  if (format === 'msgpack') {
    try {
      if (bytes.length > scratch.length) scratch = new Uint8Array(Math.max(bytes.length, 2 * scratch.length));
      scratch.set(bytes);
      const value: unknown = decoder.unpack(scratch, bytes.length);
      // Strings must be UTF-8, as on the JSON path: see msgpack-utf8.ts.
      if (hasReplacementChar(value)) {
        const path = invalidUtf8Path(scratch, bytes.length);
        if (path !== undefined) return { ok: false, reason: 'VIGIL_ERR_DECODE_MSGPACK', path };
      }
      return { ok: true, value };
    } catch {
      return { ok: false, reason: 'VIGIL_ERR_DECODE_MSGPACK' };
    }
  }
  if (format === 'json') {
    try {
      return { ok: true, value: JSON.parse(textDecoder.decode(bytes)) };
    } catch {
      return { ok: false, reason: 'VIGIL_ERR_DECODE_JSON' };
    }
  }
  return { ok: false, reason: 'VIGIL_ERR_UNKNOWN_FORMAT' };
}
