import { encode as msgpackEncode } from '@msgpack/msgpack';
import type { SequencedAlert } from './alert-ring.js';
import type { ServerFrame } from './frames.js';

/** How a connection's frames travel: JSON text frames, or msgpack binary frames (subprotocol vigil.v1.msgpack). */
export type Encoding = 'json' | 'msgpack';

export interface WireFrame {
  readonly data: Buffer;
  readonly binary: boolean;
}

export function encodeFrame(frame: ServerFrame, encoding: Encoding): WireFrame {
  return encoding === 'json'
    ? { data: Buffer.from(JSON.stringify(frame)), binary: false }
    : { data: Buffer.from(msgpackEncode(frame)), binary: true };
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
      f = encoding === 'json' ? { data: this.jsonFrame(sub), binary: false } : { data: this.msgpackFrame(sub), binary: true };
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
    return Buffer.concat([MAP4, TYPE_ALERT, SEQ_KEY, msgpackEncode(this.entry.seq), SUB_KEY, msgpackEncode(sub), ALERT_KEY, this.msgpack]);
  }
}

const MAP4 = Buffer.from([0x84]);
const TYPE_ALERT = Buffer.concat([msgpackEncode('type'), msgpackEncode('alert')]);
const SEQ_KEY = msgpackEncode('seq');
const SUB_KEY = msgpackEncode('sub');
const ALERT_KEY = msgpackEncode('alert');
