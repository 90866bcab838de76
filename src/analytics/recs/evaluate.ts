import type { ClickSession } from './session-clicks.js';

/**
 * Next-item evaluation as session-rec does it (rn5l/session-rec, `evaluation/evaluation.py`
 * `evaluate_sessions` with the `accuracy.HitRate` and `accuracy.MRR` metrics), followed here:
 * - test sessions in session-id order, clicks in time order (see `readClickSessions`);
 * - at every click but the first of a session, the model ranks items given the session so
 *   far, and the click is the target: a hit when it is among the first `cutoff`, and
 *   1/rank towards MRR (0 when not among them);
 * - every such click counts, including targets the model cannot know (an item absent from
 *   training); hit rate and MRR are sums divided by the number of predictions. (session-rec's
 *   `evaluation_last.py` scores only each session's last click; the papers' next-item
 *   figures, and this, score them all.)
 * Where this differs, deliberately:
 * - session-rec ranks every training item, so a model with fewer than `cutoff` non-zero
 *   scores has zero-score items fill its list in the order pandas' sort leaves them; here a
 *   model's list is only what it scored, which can only lower its figures;
 * - ties: session-rec leaves their order to an unstable sort; every model here breaks them
 *   the same documented way (lower item number, i.e. first seen in training, first);
 * - `now` given to the model is the time of the last click it has seen, not the target's.
 */
export interface NextItemModel {
  readonly name: string;
  /**
   * At most k items, best first, for a session whose clicks so far are `prefix` (most recent
   * last); `session` numbers the test session (a prequential model must not take the session
   * it is learning for its own neighbour).
   */
  recommend(prefix: readonly number[], k: number, now: number, session: number): readonly number[];
  /** When present, called for every test click after it was scored (prequential evaluation). */
  learn?: ((prefix: readonly number[], item: number, ts: number, session: number) => void) | undefined;
}

/** Hit rate and MRR over one kind of target. */
export interface TargetScores {
  predictions: number;
  hitRate: number;
  mrr: number;
}

export interface NextItemScores {
  /** Share of predictions whose target was in the list. */
  hitRate: number;
  /** Mean of 1/rank of the target, 0 when it was not in the list. */
  mrr: number;
  predictions: number;
  hits: number;
  cutoff: number;
  /**
   * With `split`: the targets that repeat the click just before them (the item clicked
   * again), and all the others.
   */
  byTarget?: { repeat: TargetScores; other: TargetScores };
}

export interface EvaluateOptions {
  readonly cutoff?: number;
  /**
   * 'session' (session-rec's order, the default) or 'time': all test clicks by event time,
   * sessions interleaved. Scores of a model that does not learn are the same either way;
   * a prequential model must use 'time', or it would learn from sessions that happened
   * after the one it is scoring.
   */
  readonly order?: 'session' | 'time';
  /** Called every so often with the clicks done so far, for progress lines. */
  readonly onProgress?: (clicksDone: number) => void;
  /** Also score repeat and other targets apart (`byTarget`). */
  readonly split?: boolean;
}

export function evaluateNextItem(
  sessions: readonly ClickSession[],
  model: NextItemModel,
  opts: EvaluateOptions = {},
): NextItemScores {
  const cutoff = opts.cutoff ?? 20;
  let predictions = 0;
  let hits = 0;
  let reciprocalRanks = 0;
  let done = 0;
  // [predictions, hits, Σ 1/rank] of repeat targets, then of the others.
  const split = [0, 0, 0, 0, 0, 0];
  const click = (s: number, i: number, prefix: readonly number[]): void => {
    const session = sessions[s]!;
    const target = session.items[i]!;
    if (i > 0) {
      const list = model.recommend(prefix, cutoff, session.times[i - 1]!, s);
      predictions++;
      const rank = rankOf(list, target, cutoff);
      const at = target === session.items[i - 1] ? 0 : 3;
      split[at]!++;
      if (rank > 0) {
        hits++;
        reciprocalRanks += 1 / rank;
        split[at + 1]!++;
        split[at + 2]! += 1 / rank;
      }
    }
    model.learn?.(prefix, target, session.times[i]!, s);
    if (++done % PROGRESS_EVERY === 0) opts.onProgress?.(done);
  };
  if (opts.order === 'time') {
    for (const [s, i] of clicksInTimeOrder(sessions)) click(s, i, sessions[s]!.items.slice(0, i));
  } else {
    const prefix: number[] = [];
    for (let s = 0; s < sessions.length; s++) {
      const session = sessions[s]!;
      prefix.length = 0;
      for (let i = 0; i < session.items.length; i++) {
        click(s, i, prefix);
        prefix.push(session.items[i]!);
      }
    }
  }
  opts.onProgress?.(done);
  const part = (at: number): TargetScores => {
    const n = split[at]!;
    return { predictions: n, hitRate: n === 0 ? 0 : split[at + 1]! / n, mrr: n === 0 ? 0 : split[at + 2]! / n };
  };
  return {
    hitRate: predictions === 0 ? 0 : hits / predictions,
    mrr: predictions === 0 ? 0 : reciprocalRanks / predictions,
    predictions,
    hits,
    cutoff,
    ...(opts.split === true && { byTarget: { repeat: part(0), other: part(3) } }),
  };
}

const PROGRESS_EVERY = 1000;

/** [session, position] of every click, by time; ties in session order, then position. */
function clicksInTimeOrder(sessions: readonly ClickSession[]): [number, number][] {
  const clicks: [number, number][] = [];
  sessions.forEach((s, si) => s.items.forEach((_, i) => clicks.push([si, i])));
  const timeOf = ([s, i]: [number, number]): number => sessions[s]!.times[i]!;
  return clicks.sort((a, b) => timeOf(a) - timeOf(b) || a[0] - b[0] || a[1] - b[1]);
}

/** 1-based rank of `target` among the first `cutoff` items, 0 when absent. */
function rankOf(list: readonly number[], target: number, cutoff: number): number {
  const n = Math.min(list.length, cutoff);
  for (let r = 0; r < n; r++) if (list[r] === target) return r + 1;
  return 0;
}
