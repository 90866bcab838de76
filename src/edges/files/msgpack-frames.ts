/**
 * Finds where one msgpack value ends without decoding it, so a msgpack stream (values
 * written back to back) can be cut into per-message payloads that the decode stage then
 * treats like any other message. Returns the end offset, or -1 if the buffer ends first.
 * Throws on a byte that starts no msgpack value (0xc1).
 */
export function msgpackValueEnd(buf: Uint8Array, start: number): number {
  let pos = start;
  let pending = 1; // values still to skip
  const need = (n: number) => pos + n <= buf.length;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (pending > 0) {
    if (!need(1)) return -1;
    const b = buf[pos++]!;
    pending--;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue; // fixint, nil, bool
    if (b >= 0x80 && b <= 0x8f) {
      pending += 2 * (b & 0x0f);
      continue;
    } // fixmap
    if (b >= 0x90 && b <= 0x9f) {
      pending += b & 0x0f;
      continue;
    } // fixarray
    if (b >= 0xa0 && b <= 0xbf) {
      pos += b & 0x1f;
      continue;
    } // fixstr
    let len: number;
    switch (b) {
      case 0xc4:
      case 0xd9:
        if (!need(1)) return -1;
        len = buf[pos]!;
        pos += 1 + len;
        break; // bin8, str8
      case 0xc5:
      case 0xda:
        if (!need(2)) return -1;
        len = view.getUint16(pos);
        pos += 2 + len;
        break;
      case 0xc6:
      case 0xdb:
        if (!need(4)) return -1;
        len = view.getUint32(pos);
        pos += 4 + len;
        break;
      case 0xc7:
        if (!need(1)) return -1;
        pos += 2 + buf[pos]!;
        break; // ext8: len, type, data
      case 0xc8:
        if (!need(2)) return -1;
        pos += 3 + view.getUint16(pos);
        break;
      case 0xc9:
        if (!need(4)) return -1;
        pos += 5 + view.getUint32(pos);
        break;
      case 0xca:
        pos += 4;
        break; // float32
      case 0xcb:
        pos += 8;
        break; // float64
      case 0xcc:
      case 0xd0:
        pos += 1;
        break;
      case 0xcd:
      case 0xd1:
        pos += 2;
        break;
      case 0xce:
      case 0xd2:
        pos += 4;
        break;
      case 0xcf:
      case 0xd3:
        pos += 8;
        break;
      case 0xd4:
        pos += 2;
        break; // fixext1..16: type + data
      case 0xd5:
        pos += 3;
        break;
      case 0xd6:
        pos += 5;
        break;
      case 0xd7:
        pos += 9;
        break;
      case 0xd8:
        pos += 17;
        break;
      case 0xdc:
        if (!need(2)) return -1;
        pending += view.getUint16(pos);
        pos += 2;
        break; // array16
      case 0xdd:
        if (!need(4)) return -1;
        pending += view.getUint32(pos);
        pos += 4;
        break;
      case 0xde:
        if (!need(2)) return -1;
        pending += 2 * view.getUint16(pos);
        pos += 2;
        break; // map16
      case 0xdf:
        if (!need(4)) return -1;
        pending += 2 * view.getUint32(pos);
        pos += 4;
        break;
      default:
        throw new Error(`byte 0x${b.toString(16)} at offset ${pos - 1} starts no msgpack value`);
    }
  }
  return pos <= buf.length ? pos : -1;
}
