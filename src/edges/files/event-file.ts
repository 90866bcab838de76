import { createReadStream, statSync } from 'node:fs';
import { VigilError } from '../../core/errors.js';
import { msgpackValueEnd } from './msgpack-frames.js';
import type { RawMessage } from '../../core/source.js';

/**
 * Reads a file of canonical events, JSON Lines or a msgpack stream (values back to back),
 * told apart by the first byte, and yields one raw message per event for the pipeline to
 * decode and judge like any transport's. `-` reads standard input.
 */
export interface EventFileProgress {
  bytesRead: number;
  /** Size of the file; undefined for stdin. */
  totalBytes: number | undefined;
  messages: number;
  /** Bytes after a msgpack framing error, which could not be cut into messages. */
  unreadableBytes: number;
}

export interface EventFileOptions {
  /** A line or value larger than this is cut to this size + 1 so the pipeline rejects it as too large. */
  readonly maxPayloadBytes: number;
  readonly progress?: EventFileProgress;
}

const NEWLINE = 0x0a;

/** What `replay` and `publish --file` both say when part of a file could not be read (and exit 1). */
export function unreadableWarning(progress: Pick<EventFileProgress, 'unreadableBytes' | 'messages'>): string {
  return `warning: ${progress.unreadableBytes} bytes after a msgpack framing error could not be read (after ${progress.messages} messages)`;
}

export function eventFileSize(path: string): number | undefined {
  if (path === '-') return undefined;
  try {
    return statSync(path).size;
  } catch (e) {
    throw new VigilError('VIGIL_ERR_INPUT_FILE', `cannot read ${path}`, [(e as Error).message]);
  }
}

/** Yields the messages of each chunk read as one run (one await per chunk, not per message). */
export async function* readEventFile(path: string, opts: EventFileOptions): AsyncGenerator<RawMessage[]> {
  const progress = opts.progress ?? { bytesRead: 0, totalBytes: undefined, messages: 0, unreadableBytes: 0 };
  progress.totalBytes = eventFileSize(path);
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  const subject = path === '-' ? 'replay.stdin' : 'replay.file';
  const cap = opts.maxPayloadBytes + 1;
  let format: 'jsonl' | 'msgpack' | 'abandoned' | undefined;
  let pending: Uint8Array = new Uint8Array(0);
  let skippingLongLine = false;
  let run: RawMessage[] = [];
  const message = (bytes: Uint8Array): void => {
    progress.messages++;
    run.push({ bytes, subject, receivedAt: performance.now() });
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      progress.bytesRead += chunk.length;
      let buf: Uint8Array = pending.length === 0 ? chunk : concatBytes(pending, chunk);
      format ??= detectFormat(buf);
      if (format === undefined) {
        pending = buf;
        continue;
      }
      let start = 0;
      if (format === 'abandoned') {
        // After a msgpack value whose end cannot be found there is no next boundary to find.
        progress.unreadableBytes += buf.length;
        start = buf.length;
      } else if (format === 'jsonl') {
        for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
          if (skippingLongLine) skippingLongLine = false;
          else if (!isBlank(buf, start, nl)) message(buf.slice(start, nl));
          start = nl + 1;
        }
        if (!skippingLongLine && buf.length - start > cap) {
          message(buf.slice(start, start + cap)); // rejected as too large; the rest of the line is skipped
          skippingLongLine = true;
        }
        if (skippingLongLine) start = buf.length;
      } else {
        for (;;) {
          let end: number;
          try {
            end = msgpackValueEnd(buf, start);
          } catch {
            // No way to find the next value boundary: hand the rest over as one bad message.
            const taken = Math.min(cap, buf.length - start);
            message(buf.slice(start, start + taken));
            progress.unreadableBytes += buf.length - start - taken;
            format = 'abandoned';
            start = buf.length;
            break;
          }
          if (end === -1) {
            if (buf.length - start > cap) {
              // A value larger than any allowed payload: reject it without buffering the rest.
              message(buf.slice(start, start + cap));
              progress.unreadableBytes += buf.length - start - cap;
              format = 'abandoned';
              start = buf.length;
            }
            break;
          }
          message(buf.slice(start, end));
          start = end;
        }
      }
      buf = buf.subarray(start);
      pending = buf.length > 0 ? buf.slice() : new Uint8Array(0);
      if (run.length > 0) {
        yield run;
        run = [];
      }
    }
    if (pending.length > 0 && format !== 'abandoned' && !skippingLongLine && !isBlank(pending, 0, pending.length)) {
      message(pending.length > cap ? pending.slice(0, cap) : pending); // a final line or a truncated value
    }
    if (run.length > 0) yield run;
  } catch (e) {
    if (e instanceof VigilError) throw e;
    throw new VigilError('VIGIL_ERR_INPUT_FILE', `cannot read ${path}`, [(e as Error).message], { cause: e });
  }
}

function detectFormat(buf: Uint8Array): 'jsonl' | 'msgpack' | undefined {
  for (const b of buf) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b ? 'jsonl' : 'msgpack';
  }
  return undefined;
}

function isBlank(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = buf[i];
    if (b !== 0x20 && b !== 0x0d && b !== 0x09 && b !== 0x0a) return false;
  }
  return true;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
