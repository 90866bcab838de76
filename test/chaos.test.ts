import { describe, expect, it } from 'vitest';
import { runChaos, type ChaosOptions } from '../bench/support/chaos.js';

/**
 * Durability end to end (docs/nats.md "What survives a crash"): `vigil start` child
 * processes on a real nats-server, killed and restarted; the final checkpoint's state must
 * equal an uninterrupted in-process run's, customer by customer, with every event counted
 * once, and every trigger that run emitted on the trigger stream. Builds on dist/ (the
 * global setup builds it).
 */
const base: ChaosOptions = {
  events: 50_000,
  customers: 3000,
  kills: 10,
  sigtermEvery: 4,
  killMidCheckpoint: true,
  serverKill: 'none',
  checkpointIntervalMs: 300,
  seed: 21,
};

function expectIntact(r: Awaited<ReturnType<typeof runChaos>>, kills: number): void {
  expect(r.kills.length).toBe(kills);
  expect(r.customers).toBeGreaterThan(500);
  expect(r.triggersExpected).toBeGreaterThan(100);
  expect({
    customersWrong: r.customersWrong,
    eventsLost: r.eventsLost,
    eventsDoubleCounted: r.eventsDoubleCounted,
    outcomesDiffer: r.outcomesDiffer,
    triggersMissing: r.triggersMissing,
    triggersUnexpected: r.triggersUnexpected,
  }).toEqual({
    customersWrong: 0,
    eventsLost: 0,
    eventsDoubleCounted: 0,
    outcomesDiffer: false,
    triggersMissing: 0,
    triggersUnexpected: 0,
  });
}

describe('chaos: kills and restarts lose nothing and count nothing twice', () => {
  it('10 engine kills at random stream positions: SIGKILL, every 4th SIGTERM, the 2nd mid-checkpoint', async () => {
    expectIntact(await runChaos(base), 10);
  }, 900_000);

  it('the nats-server SIGTERMed mid-stream, and an engine kill', async () => {
    expectIntact(
      await runChaos({ ...base, events: 20_000, kills: 2, killMidCheckpoint: false, serverKill: 'SIGTERM', seed: 22 }),
      2,
    );
  }, 600_000);

  it('the nats-server SIGKILLed mid-stream, and an engine kill', async () => {
    expectIntact(
      await runChaos({ ...base, events: 20_000, kills: 2, killMidCheckpoint: false, serverKill: 'SIGKILL', seed: 23 }),
      2,
    );
  }, 600_000);
});
