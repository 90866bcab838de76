import WebSocket from 'ws';
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL_JSON } from '../../src/server/frames.js';

/**
 * The ws bench's subscribers, in their own process (so their parsing is not charged to the
 * server's thread, though both share the machine's cores): `n` real ws clients subscribe
 * to everything; with `stalled` = 1 the first of them stops reading its socket after the
 * subscription. Frames are told apart by their first bytes rather than parsed: on a 2-core
 * machine the subscribers' parsing would compete with the server it measures (for the same
 * reason they skip ws's UTF-8 check of text frames). Speaks over IPC:
 * sends 'ready', answers 'stop' with what was received, then exits.
 */
const [url, token, nArg, stalledArg] = process.argv.slice(2);
const n = Number(nArg);
const stalled = Number(stalledArg);
const received = new Array<number>(n).fill(0);
const gaps = new Array<number>(n).fill(0);
const sockets: WebSocket[] = [];
const ALERT = Buffer.from('{"type":"alert"');
const GAP = Buffer.from('{"type":"gap"');
const SUBSCRIBED = Buffer.from('{"type":"subscribed"');

async function connect(i: number): Promise<void> {
  const ws = new WebSocket(url!.replace(/^http/, 'ws') + '/v1/stream', [SUBPROTOCOL_JSON, BEARER_SUBPROTOCOL_PREFIX + token], { perMessageDeflate: false, skipUTF8Validation: true });
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      // Server frames start with their type: {"type":"alert",… (see wire.ts and frames.ts).
      if (data.subarray(0, ALERT.length).equals(ALERT)) received[i]!++;
      else if (data.subarray(0, GAP.length).equals(GAP)) gaps[i]!++;
      else if (data.subarray(0, SUBSCRIBED.length).equals(SUBSCRIBED)) {
        if (i < stalled) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        resolve();
      }
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe' })));
  });
}

async function main(): Promise<void> {
  for (let i = 0; i < n; i++) await connect(i);
  process.send!({ type: 'ready' });
  let cpuFrom = process.cpuUsage();
  let wallFrom = performance.now();
  process.on('message', (m: { type: string }) => {
    if (m.type === 'measure') {
      cpuFrom = process.cpuUsage();
      wallFrom = performance.now();
      return;
    }
    if (m.type !== 'stop') return;
    const cpu = process.cpuUsage(cpuFrom);
    // Share of one core the subscribers used while measured: what they took from the server's machine.
    const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallFrom);
    process.send!({ type: 'result', received, gaps, cpuShare }, () => {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    });
  });
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
  process.exit(1);
});
