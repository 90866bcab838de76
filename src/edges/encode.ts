import { Encoder } from '@msgpack/msgpack';

const encoder = new Encoder({ ignoreUndefined: true });
const textEncoder = new TextEncoder();

export type PayloadFormat = 'msgpack' | 'json';

/** Encodes one value as a message payload in the given format. */
export function encodePayload(value: unknown, format: PayloadFormat): Uint8Array {
  return format === 'msgpack' ? encoder.encode(value) : textEncoder.encode(JSON.stringify(value));
}
