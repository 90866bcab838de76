import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';

export interface Stored {
  subject: string;
  msgId: string | undefined;
  contentType: string | undefined;
  text: string;
  headerText: string;
  event: Record<string, unknown>;
}

/** Every message in the stream, in order, through an ordered consumer. */
export async function readStream(conn: NatsConnection, stream: string): Promise<Stored[]> {
  const jsm = await jetstreamManager(conn);
  const total = (await jsm.streams.info(stream)).state.messages;
  const out: Stored[] = [];
  if (total === 0) return out;
  const consumer = await jetstream(conn).consumers.get(stream);
  const msgs = await consumer.consume();
  for await (const m of msgs) {
    const text = new TextDecoder().decode(m.data);
    const headerText = [...(m.headers?.keys() ?? [])].map((k) => `${k}: ${m.headers!.get(k)}`).join('\n');
    out.push({
      subject: m.subject,
      msgId: m.headers?.get('Nats-Msg-Id'),
      contentType: m.headers?.get('Content-Type'),
      text,
      headerText,
      event: JSON.parse(text),
    });
    if (out.length === total) break;
  }
  await msgs.close();
  return out;
}
