import type { NextItemModel } from './evaluate.js';
import type { ClickSession } from './session-clicks.js';

/**
 * The simple session-based baselines of Ludewig & Jannach (2018), "Evaluation of
 * session-based recommendation algorithms", UMUAI 28, re-implemented from their reference
 * code (rn5l/session-rec, `algorithms/baselines/pop.py`, `algorithms/knn/iknn.py`,
 * `algorithms/baselines/sr.py`) with the same defaults. For evaluation only: they are
 * fitted in one pass over sessions held in memory, not learned from a stream.
 * Ties are broken by the lower item number, the same for every model (see `evaluate.ts`).
 */

/** Most clicked items of the training data, the same list for every session (`pop.py`). */
export class Popularity implements NextItemModel {
  readonly name = 'popularity';
  private ranked: number[] = [];

  fit(sessions: readonly ClickSession[]): this {
    const clicks = new Map<number, number>();
    for (const s of sessions) for (const item of s.items) clicks.set(item, (clicks.get(item) ?? 0) + 1);
    this.ranked = [...clicks.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([item]) => item);
    return this;
  }

  recommend(_prefix: readonly number[], k: number): readonly number[] {
    return this.ranked.slice(0, k);
  }
}

export interface ItemKnnOptions {
  /** Neighbours kept per item (`n_sims`). */
  readonly neighbours: number;
  /** Shrinkage added to both supports (`lmbd`). */
  readonly lambda: number;
  /** 0.5 cosine, 1 confidence (`alpha`). */
  readonly alpha: number;
}

/**
 * Item-kNN (`iknn.py`): items are similar when they occur in the same sessions,
 * sim(i, j) = co(i, j) / ((supp_i + λ)^α (supp_j + λ)^(1−α)), where supp counts an item's
 * clicks and co(i, j) adds, for every session holding j, the clicks on i in it (`iknn.py`
 * does `iarray[items of the session] += 1` once per click on i, and numpy's fancy-index
 * `+=` counts a repeated index once); the session's last click alone decides the list.
 * Defaults are `iknn.py`'s.
 */
export class ItemKnn implements NextItemModel {
  readonly name = 'item-knn';
  readonly options: ItemKnnOptions;
  private readonly neighbours = new Map<number, number[]>();

  constructor(options: Partial<ItemKnnOptions> = {}) {
    this.options = { neighbours: 100, lambda: 20, alpha: 0.5, ...options };
  }

  fit(sessions: readonly ClickSession[]): this {
    const support = new Map<number, number>();
    const coCounts = new Map<number, Map<number, number>>();
    const inSession = new Map<number, number>();
    for (const s of sessions) {
      inSession.clear();
      for (const item of s.items) {
        inSession.set(item, (inSession.get(item) ?? 0) + 1);
        support.set(item, (support.get(item) ?? 0) + 1);
      }
      for (const [i, ci] of inSession) {
        let row = coCounts.get(i);
        if (row === undefined) coCounts.set(i, (row = new Map()));
        for (const j of inSession.keys()) if (j !== i) row.set(j, (row.get(j) ?? 0) + ci);
      }
    }
    const { lambda, alpha, neighbours } = this.options;
    this.neighbours.clear();
    for (const [i, row] of coCounts) {
      const si = (support.get(i)! + lambda) ** alpha;
      const scored = [...row].map(([j, c]) => [j, c / (si * (support.get(j)! + lambda) ** (1 - alpha))] as const);
      scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      this.neighbours.set(
        i,
        scored.slice(0, neighbours).map(([j]) => j),
      );
    }
    return this;
  }

  recommend(prefix: readonly number[], k: number): readonly number[] {
    const last = prefix[prefix.length - 1];
    return last === undefined ? [] : (this.neighbours.get(last) ?? []).slice(0, k);
  }
}

export type RuleWeighting = 'div' | 'quadratic' | 'linear' | 'same' | 'log';

export interface SequentialRulesOptions {
  /** How far back in the session a click makes a rule (`steps`). */
  readonly steps: number;
  readonly weighting: RuleWeighting;
  /** Rules kept per antecedent (`pruning`; 0 keeps all). */
  readonly pruning: number;
}

/**
 * Sequential rules (`sr.py`, after Kamehkhosh, Jannach & Ludewig 2017): a click on b that
 * comes g steps after a click on a (g ≤ steps) adds weight(g) to the rule a → b; rules are
 * pruned to the strongest per antecedent; the session's last click alone decides the list.
 * Defaults are `sr.py`'s (steps 10, weight 1/g, 20 rules per item).
 */
export class SequentialRules implements NextItemModel {
  readonly name: string;
  readonly options: SequentialRulesOptions;
  private readonly rules = new Map<number, number[]>();

  constructor(options: Partial<SequentialRulesOptions> = {}, name = 'sequential-rules') {
    this.options = { steps: 10, weighting: 'div', pruning: 20, ...options };
    this.name = name;
  }

  fit(sessions: readonly ClickSession[]): this {
    const { steps, pruning } = this.options;
    const weight = ruleWeights[this.options.weighting];
    const rules = new Map<number, Map<number, number>>();
    for (const s of sessions) {
      for (let t = 1; t < s.items.length; t++) {
        const item = s.items[t]!;
        for (let g = 1; g <= Math.min(steps, t); g++) {
          const before = s.items[t - g]!;
          let row = rules.get(before);
          if (row === undefined) rules.set(before, (row = new Map()));
          row.set(item, (row.get(item) ?? 0) + weight(g));
        }
      }
    }
    this.rules.clear();
    for (const [a, row] of rules) {
      // sr.py prunes with Counter.most_common: by weight, ties in the order rules were first seen.
      const byWeight = [...row].sort((x, y) => y[1] - x[1]);
      const kept = pruning > 0 ? byWeight.slice(0, pruning) : byWeight;
      kept.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
      this.rules.set(
        a,
        kept.map(([b]) => b),
      );
    }
    return this;
  }

  recommend(prefix: readonly number[], k: number): readonly number[] {
    const last = prefix[prefix.length - 1];
    return last === undefined ? [] : (this.rules.get(last) ?? []).slice(0, k);
  }
}

export const ruleWeights: Record<RuleWeighting, (gap: number) => number> = {
  div: (g) => 1 / g,
  quadratic: (g) => 1 / (g * g),
  linear: (g) => (g <= 100 ? 1 - 0.1 * g : 0),
  same: () => 1,
  log: (g) => 1 / Math.log10(g + 1.7),
};
