import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import { VigilError } from '../../core/errors.js';

/**
 * A checkpoint's bytes: a preamble, then the state's large parts as raw chunks.
 *
 *   "VIGILCK1" · u32 preamble length · msgpack { header, skeleton, parts } · part bytes…
 *
 * The skeleton is the state document with every large buffer and every long array replaced
 * by a reference into `parts`. A buffer part is its raw bytes; an array part is a sequence
 * of runs, each a u32 length and a msgpack array of at most `ARRAY_RUN` elements. So writing a checkpoint is a stream of
 * bounded pieces of work, `chunks()`, that a writer spreads over the engine's batches,
 * instead of one encode of the whole state.
 */
const MAGIC = new TextEncoder().encode('VIGILCK1');
const BUFFER_PART_MIN = 4096;
const ARRAY_PART_MIN = 1024;
const ARRAY_RUN = 1024;
const EMPTY = new Uint8Array(0);

/** `prefix`, the body's length as a big-endian u32, the body. */
function framed(prefix: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + 4 + body.byteLength);
  out.set(prefix, 0);
  new DataView(out.buffer).setUint32(prefix.length, body.byteLength);
  out.set(body, prefix.length + 4);
  return out;
}

type PartRef = { $part: number };
type PartInfo = { kind: 'bytes'; length: number } | { kind: 'array'; length: number; runs: number };

interface Preamble<H> {
  header: H;
  skeleton: unknown;
  parts: PartInfo[];
}

/** The pieces of a checkpoint's bytes, produced lazily. (Their SHA-256 is the store's: it sees every byte anyway.) */
export class CheckpointWriter<H> {
  private readonly sources: (Uint8Array | unknown[])[] = [];
  private readonly skeleton: unknown;
  private produced = 0;

  constructor(
    private readonly header: H,
    doc: unknown,
    private readonly chunkBytes: number,
  ) {
    this.skeleton = this.strip(doc);
  }

  /** Bytes produced so far. */
  get bytes(): number {
    return this.produced;
  }

  *chunks(): Generator<Uint8Array> {
    const parts: PartInfo[] = this.sources.map((s) =>
      s instanceof Uint8Array
        ? { kind: 'bytes', length: s.byteLength }
        : { kind: 'array', length: s.length, runs: Math.ceil(s.length / ARRAY_RUN) },
    );
    const body = msgpackEncode({ header: this.header, skeleton: this.skeleton, parts } satisfies Preamble<H>);
    yield this.emit(framed(MAGIC, body));
    for (const s of this.sources) {
      if (s instanceof Uint8Array) {
        for (let at = 0; at < s.byteLength; at += this.chunkBytes)
          yield this.emit(s.subarray(at, Math.min(s.byteLength, at + this.chunkBytes)));
      } else {
        // Encoded run by run, as they are written: each is a bounded piece of work.
        for (let at = 0; at < s.length; at += ARRAY_RUN)
          yield this.emit(framed(EMPTY, msgpackEncode(s.slice(at, at + ARRAY_RUN))));
      }
    }
  }

  private emit(chunk: Uint8Array): Uint8Array {
    this.produced += chunk.byteLength;
    return chunk;
  }

  private strip(v: unknown): unknown {
    if (v instanceof Uint8Array) {
      if (v.byteLength < BUFFER_PART_MIN) return v;
      this.sources.push(v);
      return { $part: this.sources.length - 1 } satisfies PartRef;
    }
    if (Array.isArray(v)) {
      if (v.length >= ARRAY_PART_MIN) {
        this.sources.push(v);
        return { $part: this.sources.length - 1 } satisfies PartRef;
      }
      return v.map((x) => this.strip(x));
    }
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = this.strip(x);
      return out;
    }
    return v;
  }
}

/** Reads a checkpoint's bytes back: its header and the state document. */
export function readCheckpoint<H>(input: Uint8Array): { header: H; doc: unknown } {
  // A plain view: parts are views of it, and a Node Buffer's slice() would not copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (why: string) => new VigilError('VIGIL_ERR_SNAPSHOT', `not a Vigil checkpoint: ${why}`);
  if (bytes.byteLength < MAGIC.length + 4 || MAGIC.some((b, i) => bytes[i] !== b)) throw fail('no VIGILCK1 preamble');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(MAGIC.length);
  let at = MAGIC.length + 4 + length;
  if (at > bytes.byteLength) throw fail('truncated preamble');
  let preamble: Preamble<H>;
  try {
    preamble = msgpackDecode(bytes.subarray(MAGIC.length + 4, at)) as Preamble<H>;
  } catch (e) {
    throw fail(`preamble does not decode (${(e as Error).message})`);
  }
  const parts: unknown[] = [];
  for (const p of preamble.parts) {
    if (p.kind === 'bytes') {
      if (at + p.length > bytes.byteLength) throw fail('truncated part');
      parts.push(bytes.subarray(at, at + p.length));
      at += p.length;
    } else {
      const items: unknown[] = [];
      for (let run = 0; run < p.runs; run++) {
        if (at + 4 > bytes.byteLength) throw fail('truncated part');
        const length = view.getUint32(at);
        at += 4;
        if (at + length > bytes.byteLength) throw fail('truncated part');
        for (const x of msgpackDecode(bytes.subarray(at, at + length)) as unknown[]) items.push(x);
        at += length;
      }
      if (items.length !== p.length) throw fail('array part of the wrong length');
      parts.push(items);
    }
  }
  if (at !== bytes.byteLength) throw fail('trailing bytes');
  return { header: preamble.header, doc: fill(preamble.skeleton, parts) };
}

function fill(v: unknown, parts: unknown[]): unknown {
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((x) => fill(x, parts));
  if (v !== null && typeof v === 'object') {
    const ref = (v as Partial<PartRef>).$part;
    if (typeof ref === 'number' && Object.keys(v).length === 1) return parts[ref];
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = fill(x, parts);
    return out;
  }
  return v;
}
