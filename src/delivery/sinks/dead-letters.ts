import { headers } from '@nats-io/transport-node';
import type { BatchSink } from '../../core/batch-sink.js';
import type { Batch } from '../../core/batch.js';
import type { ConfirmedPublisher, SideOutput } from './confirmed-publisher.js';

/**
 * Publishes every rejected message, with its original bytes, to `<prefix>.<reason>` (the
 * reason code in lower case without the VIGIL_ERR_ prefix, e.g. `vigil.dlq.schema`), with
 * headers naming the reason code, the zod issue path (never the offending values), the
 * source subject and, from JetStream, the stream sequence. `handle` resolves once the
 * publisher has them stored (or flushed, unconfirmed, see `ConfirmedPublisher`), and the
 * engine commits (acks) the batch only after that: nothing bad is acknowledged without a trace.
 *
 * An event about an erased customer (`VIGIL_ERR_SUPPRESSED`) is the exception: its dead
 * letter has no body and no source subject (a producer may put the id in either), only the
 * reason, the path and the sequence, so the rejection is counted and traceable without
 * copying what the erasure removed.
 */
export const DEAD_LETTER_HEADERS = {
  reason: 'Vigil-Reason',
  path: 'Vigil-Issue-Path',
  subject: 'Vigil-Source-Subject',
  seq: 'Vigil-Stream-Seq',
} as const;

export function deadLetterSubject(prefix: string, reason: string): string {
  return `${prefix}.${reason.replace(/^VIGIL_ERR_/, '').toLowerCase()}`;
}

const EMPTY = new Uint8Array(0);

export class DeadLetterSink implements BatchSink {
  published = 0;

  constructor(
    private readonly publisher: ConfirmedPublisher,
    private readonly prefix: string,
  ) {}

  async handle(batch: Batch): Promise<void> {
    if (batch.rejections.length === 0) return;
    const out: SideOutput[] = [];
    for (const r of batch.rejections) {
      const m = batch.messages[r.index]!;
      const erased = r.reason === 'VIGIL_ERR_SUPPRESSED';
      const h = headers();
      h.set(DEAD_LETTER_HEADERS.reason, r.reason);
      if (r.path !== '') h.set(DEAD_LETTER_HEADERS.path, r.path);
      if (!erased) h.set(DEAD_LETTER_HEADERS.subject, m.subject);
      if (m.seq !== undefined) h.set(DEAD_LETTER_HEADERS.seq, String(m.seq));
      out.push({
        subject: deadLetterSubject(this.prefix, r.reason),
        bytes: erased ? EMPTY : m.bytes,
        headers: h,
        msgId: m.seq === undefined ? undefined : erased ? `dlq:${m.seq}` : `dlq:${m.subject}:${m.seq}`,
      });
    }
    await this.publisher.publish(out);
    this.published += out.length;
  }
}
