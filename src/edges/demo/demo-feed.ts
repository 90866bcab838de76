import { setTimeout as sleep } from 'node:timers/promises';
import { encodePayload } from '../encode.js';
import type { DemoConfig } from './config.js';
import type { RawMessage } from '../../core/source.js';
import { Random } from './random.js';
import { SyntheticShop } from './shop.js';
import { demoCampaigns } from './shop-campaigns.js';

/**
 * The embedded demo's input: the synthetic shop's events as raw messages, with a little of
 * what real feeds carry so every counter moves: redelivered copies (duplicates), a few
 * truncated payloads (rejected), messages held back and delivered out of order (a few far
 * enough to be late). It replays `historyDays` of history; once it reaches the wall clock it
 * goes on through the shop's future at `liveEventsPerSecond`, each event stamped with the
 * wall-clock time it is sent (the shop's own pace, 0–2 events/s for the default shop, looks
 * dead on a screen), or, with `liveEventsPerSecond` 0, waits for each event's own time. Either
 * way the demo never sends an event from the future.
 */
export interface DemoFeed {
  readonly messages: AsyncIterable<RawMessage[]>;
  /** True once the feed has reached the wall clock. */
  caughtUp(): boolean;
}

const DAY = 86_400_000;
const NOISE = {
  duplicate: 0.003,
  truncated: 0.0005,
  reordered: 0.01,
  /** Held back long enough (in messages) to fall behind the watermark beyond the allowed lateness. */
  veryLate: 0.0002,
  json: 0.2,
};

const RUN = 64;

interface Held {
  releaseAfter: number;
  message: RawMessage;
}

export function demoFeed(demo: DemoConfig, now: number): DemoFeed {
  const startTs = now - demo.historyDays * DAY;
  const shop = new SyntheticShop({
    seed: demo.seed,
    customers: demo.customers,
    products: demo.products,
    startTs,
    campaigns: demoCampaigns(startTs),
  });
  const rng = new Random(demo.seed ^ 0x5eed);
  let live = false;
  const held: Held[] = [];
  const pace = demo.liveEventsPerSecond > 0 ? livePace(demo.liveEventsPerSecond) : undefined;
  // History is there from the start (a paced source stamps each message's due time); a live
  // message enters when it is made.
  const madeAt = () => (live ? performance.now() : 0);

  async function* messages(): AsyncGenerator<RawMessage[]> {
    // The source may close a batch at the end of a run, so runs are long enough to batch well.
    let sent = 0;
    let out: RawMessage[] = [];
    for (;;) {
      let e = shop.next();
      if (e === undefined) break;
      if (e.ts > Date.now()) {
        live = true;
        if (out.length > 0) {
          yield out; // hand over what is ready before waiting
          out = [];
        }
        if (pace !== undefined) {
          await sleep(Math.max(0, pace.next()));
          e = { ...e, ts: Date.now() };
        } else {
          for (let ahead = e.ts - Date.now(); ahead > 0; ahead = e.ts - Date.now()) await sleep(Math.min(ahead, 1000));
        }
      }
      const bytes = encodePayload(e, rng.chance(NOISE.json) ? 'json' : 'msgpack');
      const message: RawMessage = { bytes, subject: 'demo', receivedAt: madeAt() };
      if (rng.chance(NOISE.reordered))
        hold(sent + 1 + rng.int(20), message); // seconds to a minute behind: within bounds
      else if (rng.chance(NOISE.veryLate)) hold(sent + 50_000 + rng.int(50_000), message);
      else {
        sent++;
        out.push(message);
      }
      if (rng.chance(NOISE.duplicate)) hold(sent + 1 + rng.int(200), message);
      if (rng.chance(NOISE.truncated)) {
        sent++;
        out.push({ bytes: bytes.slice(0, Math.max(1, bytes.length >> 1)), subject: 'demo', receivedAt: madeAt() });
      }
      while (held.length > 0 && held[0]!.releaseAfter <= sent) {
        sent++;
        out.push({ ...held.shift()!.message, receivedAt: madeAt() });
      }
      if (out.length >= RUN) {
        yield out;
        out = [];
      }
    }
    for (const h of held.splice(0)) out.push({ ...h.message, receivedAt: madeAt() });
    if (out.length > 0) yield out;
  }

  function hold(releaseAfter: number, message: RawMessage): void {
    let i = held.length;
    while (i > 0 && held[i - 1]!.releaseAfter > releaseAfter) i--;
    held.splice(i, 0, { releaseAfter, message });
  }

  return { messages: messages(), caughtUp: () => live };
}

/** Milliseconds to wait before each next live event, so they leave at `perSecond` on average without drifting. */
function livePace(perSecond: number): { next(): number } {
  let start: number | undefined;
  let sent = 0;
  return {
    next() {
      start ??= performance.now();
      sent++;
      return start + (sent * 1000) / perSecond - performance.now();
    },
  };
}
