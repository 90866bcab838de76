import { median } from './report.js';
import { runChaos } from './support/chaos.js';

/** `npm run bench -- chaos`: the chaos test's check at a larger scale, as figures (all counts must be 0). */
export async function chaosBench(quick: boolean): Promise<Record<string, string | number>> {
  const started = performance.now();
  const r = await runChaos({
    events: quick ? 30_000 : 200_000,
    customers: quick ? 3000 : 20_000,
    kills: quick ? 4 : 10,
    sigtermEvery: 4,
    killMidCheckpoint: true,
    serverKill: 'none',
    checkpointIntervalMs: 1000,
    seed: 31,
    log: (line) => process.stderr.write(line + '\n'),
  });
  return {
    suite: 'chaos',
    events: quick ? 30_000 : 200_000,
    'engine lives': r.lives,
    kills: r.kills.map((k) => k.signal.replace('SIGKILL mid-checkpoint', 'KILL*').replace('SIG', '')).join(' '),
    customers: r.customers,
    'customers wrong': r.customersWrong,
    'events lost': r.eventsLost,
    'events double-counted': r.eventsDoubleCounted,
    'outcome counters differ': r.outcomesDiffer ? 'yes' : 'no',
    'triggers expected': r.triggersExpected,
    'triggers missing': r.triggersMissing,
    'recovery s, restart → caught up (median)': (median(r.recoveryMs) / 1000).toFixed(1),
    'recovery s (max)': (Math.max(...r.recoveryMs) / 1000).toFixed(1),
    'run s': ((performance.now() - started) / 1000).toFixed(0),
  };
}
