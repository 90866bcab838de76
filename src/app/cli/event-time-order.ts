import { decodePayload } from '../../ingest/codec/decode.js';
import type { RawMessage } from '../../core/source.js';

/**
 * A whole file's messages in event-time order, for the batch commands (`fit`, `eval`) whose
 * answer must not depend on how the file happens to be sorted: a CDNOW log grouped by
 * customer fed in file order leaves almost every event behind the watermark, judged late and
 * dropped. The sort is stable, so events of one instant keep the file's order (and the
 * result is the replay of the time-ordered file, bit for bit). Messages without a readable
 * numeric `ts` go first, in file order, to be judged (rejected) as any undecodable input is.
 * The whole file is held in memory: these are offline commands on finite files.
 */
export async function inEventTimeOrder(
  runs: AsyncIterable<readonly RawMessage[]>,
  maxPayloadBytes: number,
): Promise<RawMessage[]> {
  const timed: { ts: number; message: RawMessage }[] = [];
  const untimed: RawMessage[] = [];
  for await (const run of runs) {
    for (const m of run) {
      const ts = eventTimeOf(m, maxPayloadBytes);
      if (ts === undefined) untimed.push(m);
      else timed.push({ ts, message: m });
    }
  }
  timed.sort((a, b) => a.ts - b.ts);
  return untimed.concat(timed.map((t) => t.message));
}

/** The message's `ts` when it decodes to an object with a finite numeric one. */
export function eventTimeOf(m: RawMessage, maxPayloadBytes: number): number | undefined {
  const r = decodePayload(m.bytes, maxPayloadBytes);
  const ts = r.ok && typeof r.value === 'object' && r.value !== null ? (r.value as { ts?: unknown }).ts : undefined;
  return typeof ts === 'number' && Number.isFinite(ts) ? ts : undefined;
}

/** `inEventTimeOrder` handed on in runs, as a file source hands out its chunks. */
export async function* eventTimeOrderedRuns(
  runs: AsyncIterable<readonly RawMessage[]>,
  maxPayloadBytes: number,
  runSize = 4096,
): AsyncGenerator<RawMessage[]> {
  const all = await inEventTimeOrder(runs, maxPayloadBytes);
  for (let i = 0; i < all.length; i += runSize) yield all.slice(i, i + runSize);
}
