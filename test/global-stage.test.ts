import { describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts/alert.js';
import type { CanonicalEvent } from '../src/core/event.js';
import type { RawMessage } from '../src/core/source.js';
import { PartitionedEngine } from '../src/app/partitions/partitioned-engine.js';
import { PartitionedLiveEngine } from '../src/app/partitions/partitioned-live.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';
import { oracleReports, shopWithCampaigns } from './support/campaign-oracle.js';
import { spikeShop } from './support/demand-shop.js';

/**
 * The stage after the shuffle (src/app/partitions/global-stage.ts): demand series and
 * campaign cohorts run once for all partitions, on the main thread. Same input: the same
 * demand alerts and campaign reports, in the same order, for W = 1, 2 and 4 and any batch
 * size, in process and live; and the same set as the single-threaded engine's, whose
 * watermark leads the stage's (so the stage's alerts come later in the stream, not
 * different). The campaign reports also match the brute-force oracle.
 */
const WALL_CLOCK = Date.UTC(2030, 0, 1);
const config = testConfig();

const isStageAlert = (a: Alert) => a.type.startsWith('demand.') || a.type === 'campaign.report';
const byId = (a: Alert, b: Alert) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

interface StageRun {
  alerts: Alert[];
  demand: string;
  campaigns: string;
}

async function single(messages: readonly RawMessage[]): Promise<StageRun> {
  const { engine, batches } = await runMessages(config, messages);
  return {
    alerts: batches.flatMap((b) => (b.alerts as Alert[]).filter(isStageAlert)),
    demand: JSON.stringify(engine.state.demand!.snapshot()),
    campaigns: JSON.stringify(engine.state.campaigns!.cohorts.finalReports()),
  };
}

async function partitioned(messages: readonly RawMessage[], workers: number, batchMessages: number): Promise<StageRun> {
  const engine = await PartitionedEngine.start(config, {
    workers,
    batchMessages,
    collectAlerts: true,
    wallClock: WALL_CLOCK,
  });
  try {
    await engine.feed(messages);
    await engine.finish();
    const results = await engine.results();
    // Workers conclude none of them: the stage is their only home.
    expect(results.flatMap((r) => r.alertIds).filter((id) => /^(demand\.|campaign\.report)/.test(id))).toEqual([]);
    expect(engine.stageFailures).toBe(0);
    return {
      alerts: [...engine.stageAlerts],
      demand: JSON.stringify(engine.front.demand!.snapshot()),
      campaigns: JSON.stringify(engine.front.campaigns!.cohorts.finalReports()),
    };
  } finally {
    await engine.close();
  }
}

async function live(messages: readonly RawMessage[], workers: number, batchSize: number): Promise<StageRun> {
  const engine = await PartitionedLiveEngine.start(config, { workers, collectAlerts: true, wallClock: WALL_CLOCK });
  const delivered: Alert[] = [];
  try {
    await engine.run(new InProcessSource(messages, { name: 'test', batchSize, finite: true }), {
      sinks: [
        {
          handle: (b) => {
            expect(b.alertEnteredAt.length).toBe(b.alerts.length);
            expect(b.alertsThrough[b.alertsThrough.length - 1] ?? 0).toBeLessThanOrEqual(b.alerts.length);
            delivered.push(...b.alerts.filter(isStageAlert));
          },
        },
      ],
      heartbeatMs: 3_600_000,
    });
    await engine.endEventTime();
    // Those of the batches were delivered with them; the input's end adds the rest.
    expect(engine.stageAlerts.slice(0, delivered.length)).toEqual(delivered);
    return {
      alerts: [...engine.stageAlerts],
      demand: JSON.stringify(engine.front.demand!.snapshot()),
      campaigns: JSON.stringify(engine.front.campaigns!.cohorts.finalReports()),
    };
  } finally {
    await engine.close();
  }
}

/** Runs with W = 1, 2 and 4 and several batch sizes; all equal; returns the first. */
async function acrossWorkers(messages: readonly RawMessage[], liveBatch = 97): Promise<StageRun> {
  const runs = [
    await partitioned(messages, 1, 4096),
    await partitioned(messages, 2, 333),
    await partitioned(messages, 4, 1000),
    await live(messages, 2, liveBatch),
  ];
  for (const r of runs.slice(1)) {
    expect(r.alerts.map((a) => a.id)).toEqual(runs[0]!.alerts.map((a) => a.id));
    expect(r.alerts).toEqual(runs[0]!.alerts);
    expect(r.demand).toBe(runs[0]!.demand);
    expect(r.campaigns).toBe(runs[0]!.campaigns);
  }
  return runs[0]!;
}

describe('the stage after the shuffle', () => {
  it('gives one set of demand alerts and one demand series for any W and batch size, as on one thread', async () => {
    const { events, category } = spikeShop();
    const messages = events.map((e) => message(e));
    const one = await single(messages);
    const run = await acrossWorkers(messages);
    const kinds = new Set(run.alerts.map((a) => a.type));
    expect(kinds).toEqual(new Set(['demand.spike', 'demand.drop']));
    expect(run.alerts.some((a) => (a.data as { category: string }).category === category)).toBe(true);
    // The single-threaded engine's: the same alerts (ids, forecasts, scores), and the same series and models.
    expect([...run.alerts].sort(byId)).toEqual([...one.alerts].sort(byId));
    expect(run.demand).toBe(one.demand);
  }, 600_000);

  it('gives one set of campaign reports for any W and batch size, equal to the brute-force oracle and one thread', async () => {
    const events: CanonicalEvent[] = shopWithCampaigns(7, 1500);
    const messages = events.map((e) => message(e));
    const one = await single(messages);
    // One message per live batch: most batches go to one worker only, and may be answered
    // before the batch routed ahead of them; the stage still sees them in input order.
    const run = await acrossWorkers(messages, 1);
    const reports = run.alerts.filter((a) => a.type === 'campaign.report');
    expect(reports.map((a) => (a.data as { campaign: string }).campaign)).toEqual(['spring', 'summer']);
    const oracle = oracleReports(events);
    for (const a of reports) {
      const d = a.data as { campaign: string; reached: number; firstTimeBuyers: number; returningBuyers: number };
      const want = oracle.get(d.campaign)!;
      expect([a.ts, d.reached, d.firstTimeBuyers, d.returningBuyers]).toEqual([
        want.close,
        want.reached,
        want.firstTimeBuyers,
        want.returningBuyers,
      ]);
    }
    expect(reports).toEqual(one.alerts.filter((a) => a.type === 'campaign.report'));
    expect(run.campaigns).toBe(one.campaigns);
    expect([...run.alerts].sort(byId)).toEqual([...one.alerts].sort(byId));
  }, 600_000);
});
