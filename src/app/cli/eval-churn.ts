import { fitBgNbd, probabilityAlive, probabilityNoPurchase, type RepeatStats } from '../../analytics/bgnbd.js';
import { areaUnderRoc, flagTop, precisionRecall, type FlagScores } from '../../analytics/churn-eval/classification.js';
import { checkFit } from '../../analytics/fit-verdict.js';
import { TIME_UNITS } from '../../analytics/repeat-stats.js';
import { decodePayload } from '../../ingest/codec/decode.js';
import { loadConfig } from '../config/load.js';
import { Engine } from '../engine.js';
import { VigilError } from '../../core/errors.js';
import { readEventFile } from '../../edges/files/event-file.js';
import { InProcessSource } from '../../edges/in-process.js';
import type { RawMessage } from '../../core/source.js';
import { inEventTimeOrder } from './event-time-order.js';
import { calibrationDay } from './fit.js';
import { workersFor } from './workers-option.js';
import { summedCounts } from './replay-on-workers.js';
import { PartitionedEngine } from '../partitions/partitioned-engine.js';
import type { VigilConfig } from '../config/schema.js';
import type { Alert } from '../../alerts/alert.js';
import type { ChurnEvidence } from '../../analytics/churn-score.js';
import type { OutcomeCountsJson } from '../../state/outcome-counters.js';

/**
 * `vigil eval churn FILE --calibration-end D [--holdout-weeks 39]`: the engine's churn signal
 * judged on real outcomes. The file's events up to and including day D (the calibration
 * period) are replayed through the engine in event-time order; every buyer of the period is
 * then scored as of D, and "churned" means no purchase in the holdout, the `holdoutWeeks`
 * weeks after D. Beside the engine: recency, frequency, BG/NBD P(alive) fitted offline on the
 * calibration period, and "overdue by own mean gap + 2 sd". The per-customer facts of the
 * baselines and the truth are read from the file here, independently of the engine's state.
 */
export interface EvalChurnOptions {
  readonly file: string;
  /** yyyy-mm-dd: the last day of the calibration period. */
  readonly calibrationEnd: string;
  readonly holdoutWeeks?: number | undefined;
  readonly configFile?: string | undefined;
  /** Config overrides (tests, parameter sweeps). */
  readonly overrides?: Record<string, unknown>;
  /** Worker threads (`--workers`, else `engine.workers`): the calibration period replayed by customer partition. */
  readonly workers?: string | number | undefined;
}

export interface ChurnScoreRow {
  name: string;
  description: string;
  auc: { repeatBuyers: number; all: number };
  /** Flags of a rule, or for a ranking its top customers, as many as the engine flagged. */
  flags: { repeatBuyers: FlagScores; all: FlagScores };
}

export interface EvalChurnReport {
  file: string;
  calibrationEnd: string;
  holdoutEnd: string;
  customers: { all: number; repeatBuyers: number; churnedAll: number; churnedRepeatBuyers: number };
  engine: {
    /** Customers whose latest churn.risk warning came after their last purchase: flagged as of calibration end. */
    flagged: { all: number; repeatBuyers: number };
    warningsByRule: Record<string, number>;
    counts: Record<string, unknown>;
    /** Share of sessions with intent (a cart or a purchase); 1 on a purchase-only feed, where visits tell nothing purchases do not. */
    intentShare: number;
    modelErrors: number;
  };
  bgnbd: { params: { r: number; alpha: number; a: number; b: number }; logLikelihood: number };
  rows: ChurnScoreRow[];
}

const DAY = 86_400_000;

interface Buyer {
  id: string;
  /** Purchase days of the calibration period (ms, ascending, distinct). */
  days: number[];
  holdoutPurchase: boolean;
}

export async function evalChurn(opts: EvalChurnOptions): Promise<EvalChurnReport> {
  const end = calibrationDay(opts.calibrationEnd);
  const weeks = opts.holdoutWeeks ?? 39;
  if (!(Number.isInteger(weeks) && weeks > 0))
    throw new VigilError('VIGIL_ERR_USAGE', `--holdout-weeks must be a positive integer (got ${weeks})`);
  const holdoutEnd = end + DAY + weeks * 7 * DAY;
  const config = loadConfig({
    file: opts.configFile,
    env: process.env,
    ...(opts.overrides !== undefined && { overrides: opts.overrides }),
  });
  const max = config.limits.maxPayloadBytes;
  const all = await inEventTimeOrder(readEventFile(opts.file, { maxPayloadBytes: max }), max);

  // The truth and the baselines' facts, from the file itself.
  const buyers = new Map<string, Buyer>();
  const calibration: RawMessage[] = [];
  for (const m of all) {
    const r = decodePayload(m.bytes, max);
    const e = r.ok ? (r.value as { type?: unknown; customerId?: unknown; ts?: unknown }) : undefined;
    const ts = typeof e?.ts === 'number' ? e.ts : NaN;
    if (!(ts >= end + DAY)) calibration.push(m); // undecodable input too: the engine judges it
    if (e?.type !== 'purchase' || typeof e.customerId !== 'string' || !(ts < holdoutEnd)) continue;
    const day = Math.floor(ts / DAY) * DAY;
    let b = buyers.get(e.customerId);
    if (ts >= end + DAY) {
      if (b !== undefined) b.holdoutPurchase = true;
      continue;
    }
    if (b === undefined) buyers.set(e.customerId, (b = { id: e.customerId, days: [], holdoutPurchase: false }));
    if (b.days[b.days.length - 1] !== day) b.days.push(day);
  }
  if (buyers.size === 0)
    throw new VigilError('VIGIL_ERR_USAGE', `${opts.file} holds no purchases up to ${opts.calibrationEnd}`);

  const list = [...buyers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const workers = workersFor(config, opts.workers);
  if (!config.analytics.enabled) throw new VigilError('VIGIL_ERR_USAGE', 'eval churn needs analytics.enabled');
  const run =
    workers > 1
      ? await churnOnWorkers(
          config,
          calibration,
          workers,
          end,
          list.map((b) => b.id),
        )
      : await churnOnOneThread(
          config,
          calibration,
          end,
          list.map((b) => b.id),
        );
  const { latestWarning, warningsByRule } = run;

  const unit = TIME_UNITS.week;
  const stats: RepeatStats[] = list.map((b) => ({
    x: b.days.length - 1,
    tx: (b.days[b.days.length - 1]! - b.days[0]!) / unit,
    T: (end - b.days[0]!) / unit,
  }));
  const fit = fitBgNbd(stats);
  checkFit('BG/NBD', fit, stats.length);
  const population = meanAndSd(list.flatMap((b) => gapsOf(b.days)));
  const usual = (b: Buyer): number => {
    // Two gaps at least for a deviation of their own.
    const g = b.days.length >= 3 ? meanAndSd(gapsOf(b.days)) : population;
    return g.mean + 2 * g.sd;
  };

  const churned = list.map((b) => !b.holdoutPurchase);
  const repeat = list.map((b) => b.days.length > 1);
  const evidence = list.map((b) => run.evidence.get(b.id));
  const flaggedByEngine = list.map((b) => {
    const w = latestWarning.get(b.id);
    return w !== undefined && w.ts >= b.days[b.days.length - 1]!;
  });
  const last = (b: Buyer): number => b.days[b.days.length - 1]!;
  const basis = evidence.find((e) => e !== undefined)?.basis ?? 'visits';
  const engineScore = (pick: (e: NonNullable<(typeof evidence)[number]>) => number): number[] =>
    evidence.map((e) => (e === undefined ? 0 : pick(e)));
  const rows: [string, string, number[], boolean[] | undefined][] = [
    [
      'engine',
      `the engine's churn score as of calibration end (basis: ${basis}: ${basis === 'visits' ? 'P(stopped buying) of the visit posterior' : "P(no purchase in the next time unit) of the population's return hazard by frequency and silence, the feed carrying no visits"}); flags = churn.risk warnings standing at calibration end`,
      engineScore((e) => e.score),
      flaggedByEngine,
    ],
    ['engine-visits', "P(stopped buying) of the engine's visit posterior", engineScore((e) => e.pStopped), undefined],
    [
      'engine-return-hazard',
      "P(no purchase in the next time unit) of the engine's return hazard (return-hazard.ts)",
      engineScore((e) => e.pNoReturn),
      undefined,
    ],
    [
      'engine-p-silent',
      "BG/NBD P(no purchase over value.horizonMs) under the engine's live parameters (the purchase-only score before the return hazard)",
      engineScore((e) => e.pSilent),
      undefined,
    ],
    [
      'engine-p-alive',
      "1 − BG/NBD P(alive) under the engine's live parameters (its refits)",
      engineScore((e) => 1 - e.pAlive),
      undefined,
    ],
    ['recency', 'time since the last purchase', list.map((b) => end - last(b)), undefined],
    ['frequency', 'fewer repeat purchase days = more likely churned', stats.map((s) => -s.x), undefined],
    [
      'bgnbd-p-alive',
      '1 − P(alive) of BG/NBD fitted offline on the calibration period (all buyers)',
      stats.map((s) => 1 - probabilityAlive(fit.params, s)),
      undefined,
    ],
    [
      'overdue-2sd',
      "time since the last purchase over the own mean gap + 2 sd (the population's for fewer than two own gaps); flags = beyond it",
      list.map((b) => (end - last(b)) / Math.max(usual(b), DAY)),
      list.map((b) => end - last(b) > usual(b)),
    ],
    [
      'bgnbd-p-silent-holdout',
      'reference, told the holdout length: P(no purchase in the holdout) of the offline BG/NBD fit',
      stats.map((s) => probabilityNoPurchase(fit.params, s, weeks)),
      undefined,
    ],
  ];
  const subset = <T>(xs: readonly T[]): T[] => xs.filter((_, i) => repeat[i]);
  const engineFlags = {
    all: precisionRecall(flaggedByEngine, churned),
    repeatBuyers: precisionRecall(subset(flaggedByEngine), subset(churned)),
  };
  return {
    file: opts.file,
    calibrationEnd: opts.calibrationEnd,
    holdoutEnd: new Date(holdoutEnd - DAY).toISOString().slice(0, 10),
    customers: {
      all: list.length,
      repeatBuyers: subset(list).length,
      churnedAll: churned.filter(Boolean).length,
      churnedRepeatBuyers: subset(churned).filter(Boolean).length,
    },
    engine: {
      flagged: { all: engineFlags.all.flagged, repeatBuyers: engineFlags.repeatBuyers.flagged },
      warningsByRule,
      counts: run.counts as unknown as Record<string, unknown>,
      intentShare: run.intentShare,
      modelErrors: run.modelErrors,
    },
    bgnbd: { params: fit.params, logLikelihood: fit.logLikelihood },
    rows: rows.map(([name, description, score, flags]) => ({
      name,
      description,
      auc: {
        repeatBuyers: round(areaUnderRoc(subset(score), subset(churned))),
        all: round(areaUnderRoc(score, churned)),
      },
      flags: {
        repeatBuyers: roundFlags(
          precisionRecall(
            flags === undefined ? flagTop(subset(score), engineFlags.repeatBuyers.flagged) : subset(flags),
            subset(churned),
          ),
        ),
        all: roundFlags(precisionRecall(flags ?? flagTop(score, engineFlags.all.flagged), churned)),
      },
    })),
  };
}

/** What the evaluation reads of the engine after the calibration period. */
interface EngineChurn {
  /** Per customer, the latest churn.risk warning. */
  latestWarning: Map<string, { ts: number; rule: string }>;
  warningsByRule: Record<string, number>;
  /** Churn evidence as of calibration end, of the buyers that have some. */
  evidence: Map<string, ChurnEvidence>;
  counts: OutcomeCountsJson;
  intentShare: number;
  modelErrors: number;
}

/** Counts a churn.risk warning and keeps it if it is the customer's latest. */
function noteWarning(into: EngineChurn, a: Alert): void {
  if (a.type !== 'churn.risk') return;
  const rule = String((a.data as { rule?: unknown }).rule);
  into.warningsByRule[rule] = (into.warningsByRule[rule] ?? 0) + 1;
  into.latestWarning.set(a.customerId, { ts: a.ts, rule });
}

function emptyChurn(): EngineChurn {
  return {
    latestWarning: new Map(),
    warningsByRule: {},
    evidence: new Map(),
    counts: { input: 0, applied: 0, duplicate: 0, late: 0, rejected: 0, rejectedBy: {} },
    intentShare: NaN,
    modelErrors: 0,
  };
}

async function churnOnOneThread(
  config: VigilConfig,
  calibration: readonly RawMessage[],
  end: number,
  ids: readonly string[],
): Promise<EngineChurn> {
  const out = emptyChurn();
  const engine = new Engine(config);
  await engine.run(
    new InProcessSource(calibration, { name: 'eval-churn', batchSize: config.pipeline.batchSize, finite: true }),
    { sinks: [{ handle: (batch) => batch.alerts.forEach((a) => noteWarning(out, a)) }] },
  );
  const analytics = engine.state.analytics!;
  for (const id of ids) {
    const e = analytics.churnEvidence(id, end);
    if (e !== undefined) out.evidence.set(id, e);
  }
  out.counts = engine.state.counters.toJSON();
  out.intentShare = analytics.intentShare();
  out.modelErrors = analytics.modelErrors;
  return out;
}

/**
 * The calibration period through W workers by customer partition. A customer's warnings
 * come in its partition's order, so its latest is the last of its partition's; the evidence
 * and intent share read each partition's population models (docs/architecture.md).
 */
async function churnOnWorkers(
  config: VigilConfig,
  calibration: readonly RawMessage[],
  workers: number,
  end: number,
  ids: readonly string[],
): Promise<EngineChurn> {
  const out = emptyChurn();
  const engine = await PartitionedEngine.start(config, { workers, keepAlertTypes: ['churn.risk'] });
  try {
    await engine.feed(calibration);
    await engine.finish();
    const results = await engine.results();
    for (const r of results) for (const a of r.alerts ?? []) noteWarning(out, a);
    out.counts = summedCounts(results);
    const churn = await engine.churnEvidence(end, ids);
    out.evidence = churn.evidence;
    out.intentShare = churn.intentShare;
    out.modelErrors = churn.modelErrors;
    return out;
  } finally {
    await engine.close();
  }
}

/** Gaps between consecutive purchase days. */
function gapsOf(days: readonly number[]): number[] {
  return days.slice(1).map((d, i) => d - days[i]!);
}

/** Mean and sample sd; with no gaps the mean is Infinity (never overdue). */
function meanAndSd(gaps: readonly number[]): { mean: number; sd: number } {
  if (gaps.length === 0) return { mean: Infinity, sd: 0 };
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  const variance = gaps.length > 1 ? gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / (gaps.length - 1) : 0;
  return { mean, sd: Math.sqrt(variance) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function roundFlags(f: FlagScores): FlagScores {
  return { flagged: f.flagged, precision: round(f.precision), recall: round(f.recall) };
}
