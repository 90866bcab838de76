import WebSocket from 'ws';
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL_JSON } from '../../src/server/frames.js';

/**
 * The ws bench's subscribers, in their own process (so their parsing is not charged to the
 * server's thread, though both share the machine's cores): `n` real ws clients subscribe
 * to everything; with `stalled` = 1 the first of them stops reading its socket after the
 * subscription. Frames are told apart by their first bytes rather than parsed: on a 2-core
 * machine the subscribers' parsing would compete with the server it measures (for the same
 * reason they skip ws's UTF-8 check of text frames). Speaks over IPC:
 * sends 'ready', answers 'stop' with what was received, then exits. For runs where a
 * stalled subscriber comes and goes: 'stall-on' subscribes one more client that never reads
 * (connected, subscribed and paused the first time), 'stall-off' unsubscribes it; both are
 * answered with 'ok'. Paused, it keeps what it was sent in its buffers, so once full they
 * stay full: a later subscription of it is dropped from at once, as a long-stalled client's.
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

/** Client `i` (counted), or with i = -1 the extra stalled one (not counted, not kept in `sockets`). */
async function connect(i: number): Promise<WebSocket> {
  const ws = new WebSocket(
    url!.replace(/^http/, 'ws') + '/v1/stream',
    [SUBPROTOCOL_JSON, BEARER_SUBPROTOCOL_PREFIX + token],
    { perMessageDeflate: false, skipUTF8Validation: true },
  );
  if (i >= 0) sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      // Server frames start with their type: {"type":"alert",… (see wire.ts and frames.ts).
      if (data.subarray(0, SUBSCRIBED.length).equals(SUBSCRIBED)) {
        // The stalled ones (and the extra one, i = -1) stop reading here.
        if (i < stalled) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        resolve();
      } else if (i >= 0) {
        if (data.subarray(0, ALERT.length).equals(ALERT)) received[i]!++;
        else if (data.subarray(0, GAP.length).equals(GAP)) gaps[i]!++;
      }
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe' })));
  });
  // The extra one may be closed by the server for being too slow; that ends its part, not the run.
  if (i < 0) ws.on('error', () => undefined);
  return ws;
}

/**
 * The extra stalled subscriber. This process, at the lowest priority and reading 100 busy
 * sockets, may send its upgrade request seconds after its TCP connection opened, past the
 * server's `headersTimeout` (a 408): it tries again a few times rather than end the run.
 */
async function connectExtra(): Promise<WebSocket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(-1);
    } catch (e) {
      if (attempt >= 5) throw e;
    }
  }
}

async function main(): Promise<void> {
  for (let i = 0; i < n; i++) await connect(i);
  process.send!({ type: 'ready' });
  let cpuFrom = process.cpuUsage();
  let wallFrom = performance.now();
  let extra: WebSocket | undefined;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stall-on') {
      if (extra) {
        extra.send(JSON.stringify({ type: 'subscribe' }));
        process.send!({ type: 'ok' });
      } else {
        void connectExtra().then((ws) => {
          extra = ws;
          process.send!({ type: 'ok' });
        });
      }
      return;
    }
    if (m.type === 'stall-off') {
      extra?.send(JSON.stringify({ type: 'unsubscribe' }));
      process.send!({ type: 'ok' });
      return;
    }
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
