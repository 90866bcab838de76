import type { NextItemModel } from './evaluate.js';
import type { ClickSession } from './session-clicks.js';

/**
 * The session-kNN baselines that Ludewig, Mauro, Latifi & Jannach (2021, "Empirical analysis
 * of session-based recommendation algorithms", UMUAI 31) found at or above the neural models
 * on YOOCHOOSE: V-SKNN (`algorithms/knn/vsknn.py`, VMContextKNN) and STAN (Garg et al.,
 * SIGIR 2019; `algorithms/knn/stan.py`), re-implemented from rn5l/session-rec with the
 * parameters of its rsc15 configurations (`conf/save/rsc15/window/`). For evaluation only:
 * they hold every session in memory.
 *
 * Both find the sessions that share an item with the current one (the union over its
 * clicks, as session-rec accumulates `relevant_sessions`), keep the `sampleSize` most recent
 * (by their last click; ties: the later session first), weigh each by a similarity to the
 * current session, keep the `k` most similar (ties: the more recent first), and score every
 * item of those neighbours. Items of the current session are not excluded (`remind`).
 * Differences from session-rec, deliberate: the time a model is asked at is the last click it
 * has seen, not the target's (STAN's decay is per days; the gap is minutes); ties are broken
 * as above and then by the lower item number, where Python's set order decides.
 */

/** The training sessions (and, prequentially, the test sessions as they are learned). */
class SessionIndex {
  /** Clicks of each session in order, repeats kept (STAN reads positions). */
  readonly clicks: number[][] = [];
  readonly distinct: Set<number>[] = [];
  /** Time of each session's last click, ms. */
  readonly lastTime: number[] = [];
  private readonly postings = new Map<number, number[]>();
  private mark = new Uint32Array(1024);
  private stamp = 0;

  addSessions(sessions: readonly ClickSession[]): void {
    for (const s of sessions) {
      const id = this.newSession();
      for (let i = 0; i < s.items.length; i++) this.addClick(id, s.items[i]!, s.times[i]!);
    }
  }

  newSession(): number {
    this.clicks.push([]);
    this.distinct.push(new Set());
    this.lastTime.push(-Infinity);
    return this.clicks.length - 1;
  }

  addClick(session: number, item: number, ts: number): void {
    this.clicks[session]!.push(item);
    this.lastTime[session] = ts;
    const set = this.distinct[session]!;
    if (set.has(item)) return;
    set.add(item);
    let list = this.postings.get(item);
    if (list === undefined) this.postings.set(item, (list = []));
    list.push(session);
  }

  /** Sessions sharing an item with `prefix`, the `sampleSize` most recent, `exclude` left out. */
  candidates(prefix: readonly number[], sampleSize: number, exclude: number): number[] {
    if (this.mark.length < this.clicks.length) {
      const grown = new Uint32Array(Math.max(this.clicks.length, 2 * this.mark.length));
      grown.set(this.mark);
      this.mark = grown;
    }
    const stamp = ++this.stamp;
    const out: number[] = [];
    for (const item of prefix) {
      const list = this.postings.get(item);
      if (list === undefined) continue;
      for (const s of list) {
        if (this.mark[s] === stamp || s === exclude) continue;
        this.mark[s] = stamp;
        out.push(s);
      }
    }
    if (out.length <= sampleSize) return out;
    out.sort((a, b) => this.lastTime[b]! - this.lastTime[a]! || b - a);
    out.length = sampleSize;
    return out;
  }

  /** The `k` best of the scored sessions: by similarity, then the more recent, then the later. */
  top(neighbours: { session: number; similarity: number }[], k: number): { session: number; similarity: number }[] {
    neighbours.sort(
      (a, b) =>
        b.similarity - a.similarity || this.lastTime[b.session]! - this.lastTime[a.session]! || b.session - a.session,
    );
    if (neighbours.length > k) neighbours.length = k;
    return neighbours;
  }
}

function topItems(scores: Map<number, number>, k: number): number[] {
  return [...scores]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, k)
    .map(([item]) => item);
}

/** Base of both: the index, and prequential learning of test sessions under their own numbers. */
abstract class SessionKnn implements NextItemModel {
  abstract readonly name: string;
  protected readonly index = new SessionIndex();
  private readonly learned = new Map<number, number>();
  learn: NextItemModel['learn'] = undefined;

  fit(sessions: readonly ClickSession[]): this {
    this.index.addSessions(sessions);
    return this;
  }

  /** From now on, learn each test click after it is scored (the session joins the index as it goes). */
  prequential(): this {
    this.learn = (_prefix, item, ts, session) => {
      let id = this.learned.get(session);
      if (id === undefined) this.learned.set(session, (id = this.index.newSession()));
      this.index.addClick(id, item, ts);
    };
    return this;
  }

  recommend(prefix: readonly number[], k: number, now: number, session: number): readonly number[] {
    if (prefix.length === 0) return [];
    return topItems(this.score(prefix, now, this.learned.get(session) ?? -1), k);
  }

  protected abstract score(prefix: readonly number[], now: number, exclude: number): Map<number, number>;
}

export type PositionWeighting = 'same' | 'div' | 'linear' | 'quadratic' | 'log';

export interface VsknnOptions {
  /** Neighbour sessions scored (`k`). */
  readonly k: number;
  /** Most recent candidate sessions kept (`sample_size`). */
  readonly sampleSize: number;
  /** Weight of a click of the current session by its position, in the similarity (`weighting`). */
  readonly weighting: PositionWeighting;
  /** Weight of a neighbour by how far back its most recent shared item is (`weighting_score`). */
  readonly weightingScore: PositionWeighting;
}

/** vsknn.py's position weights: i is the 1-based position of a click in a session of `length`. */
const positionWeights: Record<PositionWeighting, (i: number, length: number) => number> = {
  same: () => 1,
  div: (i, length) => i / length,
  linear: (i, length) => (i <= 10 ? 1 - 0.1 * (length - i) : 0),
  quadratic: (i, length) => (i / length) ** 2,
  log: (i, length) => 1 / Math.log10(length - i + 1.7),
};

/** vsknn.py's `*_score` decays: step 1 is the last click. */
const stepWeights: Record<PositionWeighting, (step: number) => number> = {
  same: () => 1,
  div: (step) => 1 / step,
  linear: (step) => (step <= 100 ? 1 - 0.1 * step : 0),
  quadratic: (step) => 1 / (step * step),
  log: (step) => 1 / Math.log10(step + 1.7),
};

/**
 * V-SKNN (vsknn.py): similarity = Σ over the items both sessions hold of the current
 * session's position weight of that item (its last click) / the current session's distinct
 * items; neighbours with similarity > 0; an item scores Σ similarity × the step weight of
 * the neighbour's most recent shared click. rsc15 configuration: k 100, sample 1000,
 * quadratic weighting and quadratic score weighting.
 */
export class Vsknn extends SessionKnn {
  readonly options: VsknnOptions;

  constructor(
    options: Partial<VsknnOptions> = {},
    readonly name = 'v-sknn',
  ) {
    super();
    this.options = { k: 100, sampleSize: 1000, weighting: 'quadratic', weightingScore: 'quadratic', ...options };
  }

  protected score(prefix: readonly number[], _now: number, exclude: number): Map<number, number> {
    const { k, sampleSize } = this.options;
    const weigh = positionWeights[this.options.weighting];
    const decay = stepWeights[this.options.weightingScore];
    const position = new Map<number, number>();
    for (let i = 0; i < prefix.length; i++) position.set(prefix[i]!, weigh(i + 1, prefix.length));
    const neighbours: { session: number; similarity: number }[] = [];
    for (const s of this.index.candidates(prefix, sampleSize, exclude)) {
      const items = this.index.distinct[s]!;
      let sum = 0;
      for (const [item, w] of position) if (items.has(item)) sum += w;
      const similarity = sum / position.size;
      if (similarity > 0) neighbours.push({ session: s, similarity });
    }
    const scores = new Map<number, number>();
    for (const { session, similarity } of this.index.top(neighbours, k)) {
      const items = this.index.distinct[session]!;
      let step = 1;
      for (let j = prefix.length - 1; j >= 0 && !items.has(prefix[j]!); j--) step++;
      const weight = similarity * decay(step);
      for (const item of items) scores.set(item, (scores.get(item) ?? 0) + weight);
    }
    return scores;
  }
}

export interface StanOptions {
  readonly k: number;
  readonly sampleSize: number;
  /** Position decay of the current session's clicks, in clicks (`lambda_spw`). */
  readonly lambdaSpw: number;
  /** Recency decay of neighbour sessions, in days (`lambda_snh`). */
  readonly lambdaSnh: number;
  /** Decay of a neighbour's items by their distance from its shared item, in clicks (`lambda_inh`). */
  readonly lambdaInh: number;
}

const DAY_MS = 86_400_000;

/**
 * STAN (stan.py): the current session's clicks weigh exp((pos − length)/λspw) (last click of
 * an item counts); similarity = Σ weights of shared items / (‖weights‖ · √|neighbour's
 * distinct items|) × exp(−(now − neighbour's last click)/λsnh); an item of a neighbour
 * scores similarity × exp(−|its last position − the last position of a shared item|/λinh).
 * rsc15 configurations: `stan-mrr` k 1000, sample 10000, λspw 1e-5, λsnh 10 days, λinh 2;
 * `stan-hr` k 1000, sample 10000, λspw 0.5, λsnh 20 days, λinh 0.5.
 */
export class Stan extends SessionKnn {
  readonly options: StanOptions;

  constructor(
    options: Partial<StanOptions> = {},
    readonly name = 'stan',
  ) {
    super();
    this.options = { k: 1000, sampleSize: 10000, lambdaSpw: 1e-5, lambdaSnh: 10, lambdaInh: 2, ...options };
  }

  protected score(prefix: readonly number[], now: number, exclude: number): Map<number, number> {
    const { k, sampleSize, lambdaSpw, lambdaSnh, lambdaInh } = this.options;
    const position = new Map<number, number>();
    for (let i = 0; i < prefix.length; i++) position.set(prefix[i]!, Math.exp((i + 1 - prefix.length) / lambdaSpw));
    let norm = 0;
    for (const w of position.values()) norm += w * w;
    norm = Math.sqrt(norm);
    const neighbours: { session: number; similarity: number }[] = [];
    for (const s of this.index.candidates(prefix, sampleSize, exclude)) {
      const items = this.index.distinct[s]!;
      let sum = 0;
      for (const [item, w] of position) if (items.has(item)) sum += w;
      const similarity =
        (sum / (norm * Math.sqrt(items.size))) * Math.exp(-(now - this.index.lastTime[s]!) / (lambdaSnh * DAY_MS));
      neighbours.push({ session: s, similarity });
    }
    const scores = new Map<number, number>();
    const lastAt = new Map<number, number>();
    for (const { session, similarity } of this.index.top(neighbours, k)) {
      const clicks = this.index.clicks[session]!;
      lastAt.clear();
      let shared = 0;
      for (let i = 0; i < clicks.length; i++) {
        if (position.has(clicks[i]!)) shared = i + 1;
        lastAt.set(clicks[i]!, i + 1);
      }
      for (const [item, at] of lastAt)
        scores.set(item, (scores.get(item) ?? 0) + similarity * Math.exp(-Math.abs(at - shared) / lambdaInh));
    }
    return scores;
  }
}
