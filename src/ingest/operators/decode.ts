import { map, type OperatorFunction } from 'rxjs';
import { decodePayload } from '../codec/decode.js';
import { reject, type Batch } from '../../core/batch.js';

export interface DecodeOptions {
  readonly maxPayloadBytes: number;
}

/** Bytes → values. A payload that does not decode is rejected with the codec's reason. */
export function decodeBatch(batch: Batch, opts: DecodeOptions): Batch {
  const { messages, decoded } = batch;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.rejectedBy !== undefined) {
      reject(batch, i, m.rejectedBy);
      continue;
    }
    const r = decodePayload(m.bytes, opts.maxPayloadBytes);
    if (r.ok) decoded[i] = r.value;
    else reject(batch, i, r.reason, r.path);
  }
  return batch;
}

export function decode(opts: DecodeOptions): OperatorFunction<Batch, Batch> {
  return map((batch) => decodeBatch(batch, opts));
}
