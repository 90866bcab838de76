import { connect, type NatsConnection } from '@nats-io/transport-node';

/**
 * Connects with reconnection that never gives up (a restarted server is found again), and
 * reports connection life on `log` (stderr by default): what was lost depends on the mode,
 * so the report says it. No message content or customer data is ever written here.
 */
export async function connectNats(
  url: string,
  mode: 'core' | 'jetstream',
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<NatsConnection> {
  const nc = await connect({
    servers: url,
    name: 'vigil',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  });
  log(
    `nats: connected to ${nc.getServer()} (${mode === 'core' ? 'core: at most once' : 'jetstream: at least once, redeliveries de-duplicated'})`,
  );
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        log(
          mode === 'core'
            ? 'nats: disconnected; core NATS keeps nothing for us, so messages published until we reconnect are lost'
            : 'nats: disconnected; JetStream keeps the stream, nothing is lost, unacknowledged messages will be redelivered',
        );
      } else if (s.type === 'reconnect') {
        log(`nats: reconnected to ${nc.getServer()}`);
      } else if (s.type === 'error') {
        log(`nats: connection error: ${String(s.error?.message ?? s.error)}`);
      }
    }
  })();
  return nc;
}
