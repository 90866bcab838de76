/**
 * msgpack `str` values must be UTF-8, but msgpackr (like most decoders) turns bytes that are
 * not into U+FFFD instead of refusing them. Left so, two different ids can decode to the same
 * string (`c-\xff` and `c-\xfe` both become `c-\uFFFD`): two customers merged, two events
 * taken for duplicates. The JSON path refuses the same bytes (a fatal TextDecoder).
 *
 * Checking every string's bytes on every message would cost the hot path; U+FFFD in the
 * decoded value is the only sign a bad sequence leaves, so the check is in two steps: a scan
 * of the decoded value for U+FFFD (`hasReplacementChar`), and only then this walk of the
 * bytes, which tells a producer's genuine U+FFFD (valid `EF BF BD`) from a bad sequence and
 * names where it is: the path of keys and indexes (`items.0.sku`), as in a schema rejection.
 */
const strict = new TextDecoder('utf-8', { fatal: true });

export function hasReplacementChar(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\uFFFD');
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasReplacementChar(v)) return true;
    return false;
  }
  // No hasOwnProperty: an inherited key can only add a false alarm, which the byte walk settles.
  for (const k in value) {
    if (k.includes('\uFFFD') || hasReplacementChar((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}

/** Thrown inside the walk; carries the path of the first `str` that is not UTF-8. */
class InvalidUtf8 {
  constructor(readonly path: string) {}
}

/**
 * The path of the first msgpack `str` in `buf[0, end)` whose bytes are not UTF-8, or
 * undefined when every one is. Meant for bytes that already decoded as one msgpack value:
 * on anything else it answers undefined for what it cannot read.
 */
export function invalidUtf8Path(buf: Uint8Array, end: number): string | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, end);
  let pos = 0;
  const u8 = () => buf[pos++]!;
  const u16 = () => ((pos += 2), view.getUint16(pos - 2));
  const u32 = () => ((pos += 4), view.getUint32(pos - 4));
  const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);
  /** Reads a str of `len` bytes; throws InvalidUtf8 at `path` if it is not UTF-8. */
  const str = (len: number, path: string): string => {
    if (pos + len > end) throw new RangeError('truncated');
    const bytes = buf.subarray(pos, (pos += len));
    try {
      return strict.decode(bytes);
    } catch {
      throw new InvalidUtf8(path);
    }
  };
  /** Skips one value; returns its text when it is a str (a map key names the path). */
  const value = (path: string, depth: number): string | undefined => {
    if (depth > 512 || pos >= end) throw new RangeError('too deep or truncated');
    const b = u8();
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return undefined;
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f, path);
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f, path, depth);
    if (b >= 0x90 && b <= 0x9f) return array(b & 0x0f, path, depth);
    switch (b) {
      case 0xd9:
        return str(u8(), path);
      case 0xda:
        return str(u16(), path);
      case 0xdb:
        return str(u32(), path);
      case 0xc4:
        pos += 1 + buf[pos]!;
        return undefined; // bin
      case 0xc5:
        pos += 2 + view.getUint16(pos);
        return undefined;
      case 0xc6:
        pos += 4 + view.getUint32(pos);
        return undefined;
      case 0xc7:
        pos += 2 + buf[pos]!;
        return undefined; // ext: len, type, data
      case 0xc8:
        pos += 3 + view.getUint16(pos);
        return undefined;
      case 0xc9:
        pos += 5 + view.getUint32(pos);
        return undefined;
      case 0xca:
      case 0xce:
      case 0xd2:
        pos += 4;
        return undefined;
      case 0xcb:
      case 0xcf:
      case 0xd3:
        pos += 8;
        return undefined;
      case 0xcc:
      case 0xd0:
        pos += 1;
        return undefined;
      case 0xcd:
      case 0xd1:
        pos += 2;
        return undefined;
      case 0xd4:
        pos += 2;
        return undefined; // fixext: type + data
      case 0xd5:
        pos += 3;
        return undefined;
      case 0xd6:
        pos += 5;
        return undefined;
      case 0xd7:
        pos += 9;
        return undefined;
      case 0xd8:
        pos += 17;
        return undefined;
      case 0xdc:
        return array(u16(), path, depth);
      case 0xdd:
        return array(u32(), path, depth);
      case 0xde:
        return map(u16(), path, depth);
      case 0xdf:
        return map(u32(), path, depth);
      default:
        throw new RangeError('not msgpack');
    }
  };
  const array = (n: number, path: string, depth: number): undefined => {
    for (let i = 0; i < n; i++) value(join(path, i), depth + 1);
    return undefined;
  };
  const map = (n: number, path: string, depth: number): undefined => {
    for (let i = 0; i < n; i++) {
      // A key that is not UTF-8 is reported at its map's path: its text is what is broken.
      const key = value(path, depth + 1);
      value(join(path, key ?? i), depth + 1);
    }
    return undefined;
  };
  try {
    value('', 0);
    return undefined;
  } catch (e) {
    if (e instanceof InvalidUtf8) return e.path;
    return undefined;
  }
}
