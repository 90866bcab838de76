import { encode as msgpackEncode } from '@msgpack/msgpack';
import type { SequencedAlert } from './alert-ring.js';
import type { ServerFrame } from './frames.js';

/** How a connection's frames travel: JSON text frames, or msgpack binary frames (subprotocol vigil.v1.msgpack). */
export type Encoding = 'json' | 'msgpack';

/** A server frame as the bytes of one complete WebSocket message (header and payload). */
export interface WireFrame {
  readonly bytes: Buffer;
}

export function encodeFrame(frame: ServerFrame, encoding: Encoding): WireFrame {
  return encoding === 'json'
    ? { bytes: wsMessage(Buffer.from(JSON.stringify(frame)), false) }
    : { bytes: wsMessage(Buffer.from(msgpackEncode(frame)), true) };
}

/**
 * One unmasked, unfragmented WebSocket message (RFC 6455 §5.2): FIN and the opcode, then
 * the payload length in 7, 7+16 or 7+64 bits. Server frames are never masked, so these
 * bytes are the same for every connection: a frame is built once per tick and written to
 * each socket as it is, where `ws.send` would frame it again, header and all, per socket.
 * With permessage-deflate off, ws writes its own frames straight to the socket too, so the
 * order of everything a connection is sent is the order of the writes.
 */
export function wsMessage(payload: Buffer, binary: boolean): Buffer {
  const n = payload.length;
  const headerLength = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLength + n);
  out[0] = 0x80 | (binary ? 0x2 : 0x1);
  if (n < 126) out[1] = n;
  else if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(out, headerLength);
  return out;
}

/**
 * One alert's frames, encoded once per tick and shared by every connection: the alert body
 * is serialised once per encoding, and a frame per subscription name (nearly always just
 * "default") is assembled around it. Field order matches `alertFrame`: type, seq, sub, alert.
 */
export class AlertFrames {
  private json: string | undefined;
  private msgpack: Uint8Array | undefined;
  private readonly frames = new Map<string, WireFrame>();

  constructor(readonly entry: SequencedAlert) {}

  frame(encoding: Encoding, sub: string): WireFrame {
    const key = encoding === 'json' ? 'j' + sub : 'm' + sub;
    let f = this.frames.get(key);
    if (f === undefined) {
      f = {
        bytes: encoding === 'json' ? wsMessage(this.jsonFrame(sub), false) : wsMessage(this.msgpackFrame(sub), true),
      };
      this.frames.set(key, f);
    }
    return f;
  }

  private jsonFrame(sub: string): Buffer {
    this.json ??= JSON.stringify(this.entry.alert);
    return Buffer.from(`{"type":"alert","seq":${this.entry.seq},"sub":${JSON.stringify(sub)},"alert":${this.json}}`);
  }

  private msgpackFrame(sub: string): Buffer {
    this.msgpack ??= msgpackEncode(this.entry.alert);
    // A 4-entry fixmap, then the keys and values; the alert's own encoding is spliced in whole.
    return Buffer.concat([
      MAP4,
      TYPE_ALERT,
      SEQ_KEY,
      msgpackEncode(this.entry.seq),
      SUB_KEY,
      msgpackEncode(sub),
      ALERT_KEY,
      this.msgpack,
    ]);
  }
}

const MAP4 = Buffer.from([0x84]);
const TYPE_ALERT = Buffer.concat([msgpackEncode('type'), msgpackEncode('alert')]);
const SEQ_KEY = msgpackEncode('seq');
const SUB_KEY = msgpackEncode('sub');
const ALERT_KEY = msgpackEncode('alert');
