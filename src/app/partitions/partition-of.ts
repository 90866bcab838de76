import { decodePayload } from '../../ingest/codec/decode.js';

/**
 * Which partition a message belongs to, from its raw bytes: the customer id is found
 * without decoding the event (a msgpack map or a JSON object is scanned for the
 * `customerId` key, other values skipped), hashed, and reduced modulo P.
 *
 * The hash is 32-bit FNV-1a over the id's UTF-8 bytes (offset basis 2166136261, prime
 * 16777619), and the partition is `hash % P`. It is part of the state's format: a
 * checkpoint records P and `PARTITION_HASH`, and a different P or hash would put customers
 * in other partitions, so restoring refuses it.
 *
 * Input whose id the scan cannot find in place (a Segment call: `userId`, else
 * `anonymousId` as `anon:<id>`; a JSON string with escapes) is decoded in full to find it;
 * a message with no id at all goes to partition 0, where the graph rejects it as it would anywhere.
 */
export const PARTITION_HASH = 'fnv1a32-utf8-mod';
export const DEFAULT_PARTITIONS = 32;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const KEY = new TextEncoder().encode('customerId');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** FNV-1a of `bytes[from, to)`, as an unsigned 32-bit integer. */
export function fnv1a(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let h = FNV_OFFSET;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

const encoder = new TextEncoder();

/** The partition of a customer id, as `partitionOfMessage` computes it from the bytes. */
export function partitionOfId(customerId: string, partitions: number): number {
  return fnv1a(encoder.encode(customerId)) % partitions;
}

/** The partition of one raw message (see the module comment). */
export function partitionOfMessage(bytes: Uint8Array, partitions: number, maxPayloadBytes = 1 << 20): number {
  const b = bytes[0];
  const span = b === 0x7b ? jsonIdSpan(bytes) : msgpackIdSpan(bytes);
  if (span >= 0) return fnv1a(bytes, idStart, idEnd) % partitions;
  const id = decodedId(bytes, maxPayloadBytes);
  return id === undefined ? 0 : partitionOfId(id, partitions);
}

// The span found by the scanners, as two numbers (no allocation per message).
let idStart = 0;
let idEnd = 0;

/** Finds `customerId`'s string value in a msgpack map: ≥ 0 with `idStart`/`idEnd` set, -1 when not found in place. */
function msgpackIdSpan(bytes: Uint8Array): number {
  const r = reader;
  if (!msgpackFind(bytes, KEY)) return -1;
  const len = strHeader(r);
  if (len < 0 || r.at + len > bytes.length) return -1;
  idStart = r.at;
  idEnd = r.at + len;
  return 0;
}

/** Moves `reader` to the value of top-level `key` in a msgpack map; false when not found in place. */
function msgpackFind(bytes: Uint8Array, key: Uint8Array): boolean {
  const r = reader;
  r.bytes = bytes;
  r.at = 0;
  const entries = mapHeader(r);
  if (entries < 0) return false;
  for (let i = 0; i < entries; i++) {
    const keyLen = strHeader(r);
    if (keyLen < 0) return false;
    const keyAt = r.at;
    r.at += keyLen;
    if (keyLen === key.length && sameBytes(bytes, keyAt, key)) return true;
    if (!skip(r)) return false;
  }
  return false;
}

const reader: { bytes: Uint8Array; at: number } = { bytes: new Uint8Array(0), at: 0 };
type Reader = typeof reader;

function mapHeader(r: Reader): number {
  const b = r.bytes[r.at++];
  if (b === undefined) return -1;
  if (b >= 0x80 && b <= 0x8f) return b & 0x0f;
  if (b === 0xde) return uint(r, 2);
  if (b === 0xdf) return uint(r, 4);
  return -1;
}

/** The length of a msgpack string at the reader (moved past the header), -1 if not a string. */
function strHeader(r: Reader): number {
  const b = r.bytes[r.at++];
  if (b === undefined) return -1;
  if (b >= 0xa0 && b <= 0xbf) return b & 0x1f;
  if (b === 0xd9) return uint(r, 1);
  if (b === 0xda) return uint(r, 2);
  if (b === 0xdb) return uint(r, 4);
  return -1;
}

function uint(r: Reader, n: number): number {
  if (r.at + n > r.bytes.length) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + r.bytes[r.at++]!;
  return v;
}

/** Moves past one msgpack value; false on anything malformed. */
function skip(r: Reader): boolean {
  const b = r.bytes[r.at++];
  if (b === undefined) return false;
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return true;
  if (b >= 0xa0 && b <= 0xbf) return advance(r, b & 0x1f);
  if (b >= 0x80 && b <= 0x8f) return skipMany(r, 2 * (b & 0x0f));
  if (b >= 0x90 && b <= 0x9f) return skipMany(r, b & 0x0f);
  switch (b) {
    case 0xcc:
    case 0xd0:
      return advance(r, 1);
    case 0xcd:
    case 0xd1:
      return advance(r, 2);
    case 0xca:
    case 0xce:
    case 0xd2:
      return advance(r, 4);
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return advance(r, 8);
    case 0xd9:
    case 0xc4:
      return advance(r, uint(r, 1));
    case 0xda:
    case 0xc5:
      return advance(r, uint(r, 2));
    case 0xdb:
    case 0xc6:
      return advance(r, uint(r, 4));
    case 0xdc:
      return skipMany(r, uint(r, 2));
    case 0xdd:
      return skipMany(r, uint(r, 4));
    case 0xde:
      return skipMany(r, 2 * uint(r, 2));
    case 0xdf:
      return skipMany(r, 2 * uint(r, 4));
    case 0xd4:
      return advance(r, 2);
    case 0xd5:
      return advance(r, 3);
    case 0xd6:
      return advance(r, 5);
    case 0xd7:
      return advance(r, 9);
    case 0xd8:
      return advance(r, 17);
    case 0xc7:
      return advance(r, uint(r, 1) + 1);
    case 0xc8:
      return advance(r, uint(r, 2) + 1);
    case 0xc9:
      return advance(r, uint(r, 4) + 1);
    default:
      return false;
  }
}

function advance(r: Reader, n: number): boolean {
  if (n < 0 || r.at + n > r.bytes.length) return false;
  r.at += n;
  return true;
}

function skipMany(r: Reader, n: number): boolean {
  if (n < 0) return false;
  for (let i = 0; i < n; i++) if (!skip(r)) return false;
  return true;
}

function sameBytes(bytes: Uint8Array, at: number, key: Uint8Array): boolean {
  for (let i = 0; i < key.length; i++) if (bytes[at + i] !== key[i]) return false;
  return true;
}

/**
 * Finds `"customerId"`'s string value in a JSON object by text: the first occurrence of the
 * quoted key followed by a colon. A key inside a nested object would be found too, so the
 * match is taken only when no `{` precedes it other than the first; escapes fall back.
 */
function jsonIdSpan(bytes: Uint8Array): number {
  const n = bytes.length;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === QUOTE) {
      if (
        depth === 1 &&
        i + KEY.length + 1 < n &&
        bytes[i + KEY.length + 1] === QUOTE &&
        sameBytes(bytes, i + 1, KEY)
      ) {
        let j = i + KEY.length + 2;
        while (j < n && isSpace(bytes[j]!)) j++;
        if (bytes[j] !== 0x3a) return -1;
        j++;
        while (j < n && isSpace(bytes[j]!)) j++;
        if (bytes[j] !== QUOTE) return -1;
        const start = j + 1;
        for (let k = start; k < n; k++) {
          if (bytes[k] === BACKSLASH) return -1;
          if (bytes[k] === QUOTE) {
            idStart = start;
            idEnd = k;
            return 0;
          }
        }
        return -1;
      }
      inString = true;
    }
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The id a full decode finds: `customerId`, else a Segment call's `userId`, else `anon:<anonymousId>`. */
function decodedId(bytes: Uint8Array, maxPayloadBytes: number): string | undefined {
  const r = decodePayload(bytes, maxPayloadBytes);
  if (!r.ok || typeof r.value !== 'object' || r.value === null) return undefined;
  const v = r.value as Record<string, unknown>;
  if (typeof v.customerId === 'string') return v.customerId;
  if (typeof v.userId === 'string' && v.userId !== '') return v.userId;
  if (typeof v.anonymousId === 'string' && v.anonymousId !== '') return `anon:${v.anonymousId}`;
  return undefined;
}

const TS_KEY = new TextEncoder().encode('ts');
const view = new DataView(new ArrayBuffer(8));

/**
 * A message's event time from its raw bytes, for placing sync points in the input
 * (`GlobalSync`): the top-level `ts` number of a msgpack map or JSON object, found without
 * decoding the event; otherwise (a Segment call) a full decode and its `timestamp`, else
 * `originalTimestamp`. NaN when there is none. A pure function of the bytes: where it is
 * approximate (a Segment call's clock-skew correction is not applied), it is so the same
 * way at every run.
 */
export function eventTimeOfMessage(bytes: Uint8Array, maxPayloadBytes = 1 << 20): number {
  const ts = bytes[0] === 0x7b ? jsonNumberOf(bytes, TS_KEY) : msgpackFind(bytes, TS_KEY) ? msgpackNumber() : NaN;
  if (!Number.isNaN(ts)) return ts;
  const r = decodePayload(bytes, maxPayloadBytes);
  if (!r.ok || typeof r.value !== 'object' || r.value === null) return NaN;
  const v = r.value as Record<string, unknown>;
  if (typeof v.ts === 'number') return v.ts;
  const text = typeof v.timestamp === 'string' ? v.timestamp : v.originalTimestamp;
  return typeof text === 'string' ? Date.parse(text) : NaN;
}

/** The msgpack number at the reader; NaN for anything else. */
function msgpackNumber(): number {
  const r = reader;
  const b = r.bytes[r.at++];
  if (b === undefined) return NaN;
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  const need = (n: number) => r.at + n <= r.bytes.length;
  const load = (n: number) => {
    for (let i = 0; i < n; i++) view.setUint8(i, r.bytes[r.at + i]!);
  };
  switch (b) {
    case 0xcb:
      if (!need(8)) return NaN;
      load(8);
      return view.getFloat64(0);
    case 0xca:
      if (!need(4)) return NaN;
      load(4);
      return view.getFloat32(0);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      const n = 1 << (b - 0xcc);
      return need(n) ? uint(r, n) : NaN;
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const n = 1 << (b - 0xd0);
      if (!need(n)) return NaN;
      load(n);
      return n === 1
        ? view.getInt8(0)
        : n === 2
          ? view.getInt16(0)
          : n === 4
            ? view.getInt32(0)
            : Number(view.getBigInt64(0));
    }
    default:
      return NaN;
  }
}

/** The number value of top-level `key` in a JSON object, by text; NaN when it is not a plain number there. */
function jsonNumberOf(bytes: Uint8Array, key: Uint8Array): number {
  const n = bytes.length;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === QUOTE) {
      if (
        depth === 1 &&
        i + key.length + 1 < n &&
        bytes[i + key.length + 1] === QUOTE &&
        sameBytes(bytes, i + 1, key)
      ) {
        let j = i + key.length + 2;
        while (j < n && isSpace(bytes[j]!)) j++;
        if (bytes[j] !== 0x3a) return NaN;
        j++;
        while (j < n && isSpace(bytes[j]!)) j++;
        let end = j;
        while (end < n && isNumberChar(bytes[end]!)) end++;
        if (end === j) return NaN;
        const value = Number(String.fromCharCode(...bytes.subarray(j, end)));
        return Number.isFinite(value) ? value : NaN;
      }
      inString = true;
    }
  }
  return NaN;
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}
