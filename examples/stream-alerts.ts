/**
 * Live alerts from Vigil's stream with the package's client: churn risks and abandoned carts
 * above a score, printed as they come; after a dropped connection it reconnects and resumes
 * where it left off.
 *
 *   VIGIL_URL=ws://127.0.0.1:8080/v1/stream VIGIL_TOKEN=… npx tsx examples/stream-alerts.ts
 *
 * (`vigil start` prints the token in its URL, after #token=.)
 */
import { connectStream } from 'vigil-engine/client';

const url = process.env.VIGIL_URL ?? 'ws://127.0.0.1:8080/v1/stream';
const token = process.env.VIGIL_TOKEN;
if (token === undefined) throw new Error('set VIGIL_TOKEN to a stream token');

const stream = connectStream({
  url,
  token,
  filter: { types: ['churn.risk', 'cart.abandoned'], minScore: 0.5 },
  onGap: (g) => process.stderr.write(`missed ${g.from}..${g.to} (${g.reason})\n`),
  onStatus: (s, detail) => process.stderr.write(`stream ${s}${detail ? `: ${detail}` : ''}\n`),
});
process.once('SIGINT', () => void stream.close());
for await (const { seq, alert } of stream) {
  process.stdout.write(
    `${seq} ${alert.type} ${alert.customerId} score ${alert.score.toFixed(2)}: ${alert.reasons.join('; ')}\n`,
  );
}
