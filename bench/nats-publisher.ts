import { connect } from '@nats-io/transport-node';
import { publishEvents } from '../src/publish/publisher.js';
import { SyntheticShop } from '../src/synth/shop.js';

/** Child process of the NATS bench: publishes the synthetic shop's events as fast as it can. */
const [url, count, mode] = process.argv.slice(2);
const nc = await connect({ servers: url! });
const n = Number(count);
const shop = new SyntheticShop({ seed: 9, customers: 100_000, products: 5000, startTs: Date.UTC(2025, 0, 1) });
function* events() {
  for (let i = 0; i < n; i++) yield shop.next()!;
}
await publishEvents(nc, events(), {
  subjectPrefix: 'bench.events',
  format: 'msgpack',
  mode: 'core',
  ...(mode === 'jetstream-load' && { createStream: 'BENCH' }),
});
await nc.drain();
