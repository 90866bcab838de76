import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts/alert.js';
import { fitBgNbd } from '../src/analytics/bgnbd.js';
import { fitGammaGamma } from '../src/analytics/gamma-gamma.js';
import { poolGaps } from '../src/analytics/purchase-gap.js';
import {
  GATHER_WORK,
  LIVE_REFIT,
  REARM_WORK,
  REFIT_WORK_PER_EVENT,
  RefitJob,
  emptyGaps,
  plausibleShapes,
  type PooledGaps,
  type RefitHost,
  type RefitPhase,
  type RefitPlan,
  type RefitResult,
} from '../src/analytics/refit-job.js';
import { repeatStats, spendStats } from '../src/analytics/repeat-stats.js';
import { Engine } from '../src/app/engine.js';
import type { CustomerStore } from '../src/state/customer-store.js';
import { shopRun } from './support/churn-truth.js';
import { runMessages, testConfig } from './support/engine-harness.js';

/**
 * The refit spread over events: the same fit as a synchronous one on the same sample,
 * applied at the same event whatever the batching or a snapshot in between, and never more
 * than the budget of work in one event.
 */
// Demand series and clusters are off: this file is about the refit, and its one-message batches
// are long enough without the work of processes it does not test.
const config = testConfig({
  analytics: { refit: { minBuyers: 100, sampleSize: 300 } },
  demand: { enabled: false },
  clusters: { enabled: false },
});
const { messages } = shopRun(7, 1200, 90);
const alertsOf = (batches: readonly { alerts: Alert[] }[]) => batches.flatMap((b) => b.alerts);
const newEngine = () => new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });

function modelState(engine: Engine) {
  const a = engine.state.analytics!;
  return {
    bgnbd: a.bgnbd,
    gammaGamma: a.gammaGamma,
    refits: a.refits,
    refitsRejected: a.refitsRejected,
    refitWork: a.refitWork,
    pending: a.refitPending,
  };
}

/** A host that records what the job hands over and which slots it asked to re-arm. */
function recordingHost() {
  const seen = {
    gaps: undefined as PooledGaps | undefined,
    result: undefined as RefitResult | undefined,
    rearmed: [] as number[],
  };
  const host: RefitHost = {
    gathered: (g) => (seen.gaps = g),
    apply: (r) => {
      seen.result = r;
      return true;
    },
    // Every third slot as if it had a pending timer, so both costs of the walk occur.
    rearm: (slot) => seen.rearmed.push(slot) % 3 === 0,
  };
  return { host, seen };
}

/** The rule of the synchronous refit this job replaced, as the oracle: all buyers in slot order, then every `step`-th. */
function evenSample(store: CustomerStore, plan: Pick<RefitPlan, 'asOf' | 'sampleSize' | 'timeUnit'>) {
  const buyers = [];
  const gaps = emptyGaps();
  for (let slot = 0; slot < store.slotsInUse; slot++) {
    if (store.customerAt(slot) === undefined) continue;
    const t = store.transactionStats(slot);
    if (t === null) continue;
    buyers.push(t);
    poolGaps(gaps, store.gapStats(slot));
  }
  const step = Math.max(1, buyers.length / plan.sampleSize);
  const sample = [];
  for (let i = 0; i < buyers.length; i += step) sample.push(buyers[Math.floor(i)]!);
  return {
    buyers: buyers.length,
    gaps,
    repeat: sample.map((t) => repeatStats(t, plan.asOf, plan.timeUnit)),
    spend: sample.map(spendStats).filter((s) => s.x > 0 && s.meanSpend > 0),
  };
}

/** State part-way through the shop, and a plan for a refit of it as the engine would start one. */
async function midStream() {
  const { engine } = await runMessages(config, messages.slice(0, 60_000), { finite: false });
  const store = engine.state.store;
  const a = engine.state.analytics!;
  const asOf = engine.state.watermark.watermark;
  const oracle = evenSample(store, { asOf, sampleSize: 300, timeUnit: 'week' });
  const plan: RefitPlan = {
    asOf,
    buyers: oracle.buyers,
    sampleSize: 300,
    minBuyers: 100,
    timeUnit: 'week',
    bgnbd: a.bgnbd,
    gammaGamma: a.gammaGamma,
  };
  return { store, plan, oracle };
}

describe('the time-sliced refit', () => {
  it('ends with the fits a synchronous fitBgNbd / fitGammaGamma (LIVE_REFIT) gives on the same even sample, whatever the budget per step', async () => {
    const { store, plan, oracle } = await midStream();
    expect(oracle.buyers).toBeGreaterThan(300);

    const bgnbd = fitBgNbd(oracle.repeat, { start: plan.bgnbd, nelderMead: LIVE_REFIT }).params;
    const gammaGamma = fitGammaGamma(oracle.spend, { start: plan.gammaGamma, nelderMead: LIVE_REFIT }).params;
    const expected: RefitResult = plausibleShapes(bgnbd)
      ? { bgnbd, bgnbdRejected: false, gammaGamma }
      : { bgnbd: undefined, bgnbdRejected: true, gammaGamma };

    for (const budget of [1, 97, REFIT_WORK_PER_EVENT, 5000, Infinity]) {
      const { host, seen } = recordingHost();
      const job = new RefitJob(store, host, plan);
      let steps = 0;
      while (!job.done) {
        const work = job.step(budget, plan.asOf);
        // A budget below the dearest slot's cost walks one slot a step.
        expect(work).toBeGreaterThan(0);
        expect(work).toBeLessThanOrEqual(Math.max(budget, GATHER_WORK, REARM_WORK));
        steps++;
      }
      expect(job.sample.repeat).toEqual(oracle.repeat);
      expect(job.sample.spend).toEqual(oracle.spend);
      expect(seen.gaps).toEqual(oracle.gaps);
      expect(seen.result).toEqual(expected);
      expect(seen.rearmed).toEqual(Array.from({ length: store.slotsInUse }, (_, i) => i));
      if (budget === Infinity) expect(steps).toBe(1);
    }
  });

  it('a job restored from its snapshot in any phase ends with the same fits after the same number of steps', async () => {
    const { store, plan } = await midStream();
    const budget = 700;
    const run = (job: RefitJob) => {
      let steps = 0;
      while (!job.done) {
        job.step(budget, plan.asOf);
        steps++;
      }
      return steps;
    };
    const whole = recordingHost();
    const total = run(new RefitJob(store, whole.host, plan));
    const phases = new Set<RefitPhase>();
    let partial = 0;
    // Every 7th step, and each of the last ones (the re-arm walk is short).
    const cuts = Array.from({ length: total - 1 }, (_, i) => i + 1).filter((cut) => cut % 7 === 1 || cut > total - 8);
    for (const cut of cuts) {
      const first = recordingHost();
      const job = new RefitJob(store, first.host, plan);
      for (let i = 0; i < cut; i++) job.step(budget, plan.asOf);
      phases.add(job.currentPhase);
      const snapshot = structuredClone(job.snapshot());
      if (snapshot.terms > 0) partial++;
      const rest = recordingHost();
      const restored = RefitJob.restore(store, rest.host, snapshot);
      expect(restored.snapshot()).toEqual(snapshot);
      expect(cut + run(restored)).toBe(total);
      expect(rest.seen.result ?? first.seen.result).toEqual(whole.seen.result);
      expect([...first.seen.rearmed, ...rest.seen.rearmed]).toEqual(whole.seen.rearmed);
    }
    expect([...phases].sort()).toEqual(['bgnbd', 'gammaGamma', 'gather', 'rearm']);
    // Cut in the middle of an evaluation too (700 is not a multiple of the sample size).
    expect(partial).toBeGreaterThan(10);
  });

  it('replayed in batches of 7 and of 512 the stream gives the same alerts (ids) and the same refits, applied at the same events', async () => {
    const small = await runMessages(config, messages, { batchSize: 7 });
    const large = await runMessages(config, messages, { batchSize: 512 });
    const alerts = alertsOf(small.batches);
    expect(alerts.length).toBeGreaterThan(1000);
    expect(alertsOf(large.batches)).toEqual(alerts);
    const models = modelState(small.engine);
    expect(modelState(large.engine)).toEqual(models);
    expect(models.refits - models.refitsRejected).toBeGreaterThan(2);
    expect(models.bgnbd).not.toEqual(config.analytics.bgnbd);
  });

  it('an engine restored from a snapshot taken mid-refit goes on to the same alerts and parameters as an uninterrupted one', async () => {
    const whole = await runMessages(config, messages, { batchSize: 50 });
    // Where a refit was under way after an event, and in which phase: a run one message a batch shows it.
    const cuts = new Map<RefitPhase, number>();
    let seen = 0;
    const probe = newEngine();
    await runMessages(config, messages, {
      engine: probe,
      batchSize: 1,
      onBatch: (b) => {
        seen += b.messages.length;
        const phase = probe.state.analytics!.refitPhase;
        if (phase !== null && !cuts.has(phase) && seen < messages.length) cuts.set(phase, seen);
      },
    });
    expect([...cuts.keys()].sort()).toEqual(['bgnbd', 'gammaGamma', 'gather', 'rearm']);
    for (const [phase, cut] of cuts) {
      const first = await runMessages(config, messages.slice(0, cut), { batchSize: 50, finite: false });
      expect(first.engine.state.analytics!.refitPhase).toBe(phase);
      const bytes = first.engine.state.snapshot();
      const resumed = newEngine();
      resumed.state.restore(bytes, 0);
      expect(Buffer.from(resumed.state.snapshot()).equals(Buffer.from(bytes))).toBe(true);
      const second = await runMessages(config, messages.slice(cut), { engine: resumed, batchSize: 50 });
      expect([...alertsOf(first.batches), ...alertsOf(second.batches)]).toEqual(alertsOf(whole.batches));
      expect(modelState(resumed)).toEqual(modelState(whole.engine));
    }
  });

  it('refuses a snapshot of the layout before refit jobs (version 2) with VIGIL_ERR_SNAPSHOT', async () => {
    const { engine } = await runMessages(config, messages.slice(0, 5_000), { finite: false });
    const doc = decode(engine.state.snapshot()) as { version: number; analytics: Record<string, unknown> };
    expect(doc.version).toBe(6);
    const older = { ...doc.analytics };
    delete older.refitJob;
    delete older.refitWork;
    const bytes = encode({ ...doc, version: 2, analytics: older });
    expect(() => newEngine().state.restore(bytes, 0)).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_SNAPSHOT' }));
  });

  it('no event does more than the budget of refit work, and a refit is spread over many events', async () => {
    const part = messages.slice(0, 40_000);
    const engine = newEngine();
    const a = engine.state.analytics!;
    const perEvent: number[] = [];
    let before = 0;
    // One message per batch: the work done between two batches is one event's.
    await runMessages(config, part, {
      engine,
      batchSize: 1,
      onBatch: () => {
        perEvent.push(a.refitWork - before);
        before = a.refitWork;
      },
    });
    expect(a.refits).toBeGreaterThan(0);
    const busy = perEvent.filter((w) => w > 0);
    expect(busy.reduce((x, y) => x + y, 0)).toBe(a.refitWork);
    expect(Math.max(...busy)).toBeLessThanOrEqual(REFIT_WORK_PER_EVENT);
    // Each refit walks every slot twice (gather, re-arm) and evaluates the likelihood hundreds of times.
    expect(busy.length).toBeGreaterThanOrEqual(Math.ceil(a.refitWork / REFIT_WORK_PER_EVENT));
    expect(busy.length / a.refits).toBeGreaterThan(20);
  });
});
