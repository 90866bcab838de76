import { headers } from '@nats-io/transport-node';
import type { BatchSink } from '../../core/batch-sink.js';
import type { Batch } from '../../core/batch.js';
import type { ConfirmedPublisher, SideOutput } from './confirmed-publisher.js';
import { DEAD_LETTER_HEADERS } from './dead-letters.js';

/**
 * The late side output (Flink's side output for late data): every event that arrived behind
 * the watermark by more than `eventTime.allowedLatenessMs` is published with its original
 * bytes to `<prefix>.<type>` (`vigil.late.purchase`), with headers like a dead letter's, so
 * a downstream job can correct what the engine left out. Confirmed like dead letters: the
 * engine acks the input only after `handle` resolves.
 */
export const LATE_HEADERS = {
  reason: DEAD_LETTER_HEADERS.reason,
  subject: DEAD_LETTER_HEADERS.subject,
  seq: DEAD_LETTER_HEADERS.seq,
  /** The watermark (ms since epoch) the event was behind when it arrived. */
  watermark: 'Vigil-Watermark',
  /** Watermark minus the event's time, in ms (more than the allowed lateness). */
  latenessMs: 'Vigil-Lateness-Ms',
} as const;

/** The `Vigil-Reason` of a late event: an outcome, not an error code. */
export const LATE_REASON = 'late';

export function lateSubject(prefix: string, type: string): string {
  return `${prefix}.${type}`;
}

export class LateEventSink implements BatchSink {
  published = 0;

  constructor(
    private readonly publisher: ConfirmedPublisher,
    private readonly prefix: string,
  ) {}

  async handle(batch: Batch): Promise<void> {
    const { late, lateIndex, messages, watermarkAt } = batch;
    if (late.length === 0) return;
    const out: SideOutput[] = [];
    for (let k = 0; k < late.length; k++) {
      const e = late[k]!;
      const i = lateIndex[k]!;
      const m = messages[i]!;
      const wm = watermarkAt[i]!;
      const h = headers();
      h.set(LATE_HEADERS.reason, LATE_REASON);
      h.set(LATE_HEADERS.watermark, String(wm));
      h.set(LATE_HEADERS.latenessMs, String(wm - e.ts));
      h.set(LATE_HEADERS.subject, m.subject);
      if (m.seq !== undefined) h.set(LATE_HEADERS.seq, String(m.seq));
      out.push({
        subject: lateSubject(this.prefix, e.type),
        bytes: m.bytes,
        headers: h,
        msgId: m.seq === undefined ? undefined : `late:${m.subject}:${m.seq}`,
      });
    }
    await this.publisher.publish(out);
    this.published += out.length;
  }
}
