import type { NextItemModel } from './evaluate.js';
import { ruleWeights, type SequentialRulesOptions } from './baselines.js';
import type { ClickSession } from './session-clicks.js';

/**
 * The simple baselines in prequential form: fitted on the training sessions, then learning
 * each test click after it is scored, as the streaming model's prequential row does.
 * (Item-kNN has none here: its similarities are normalised over all of an item's sessions,
 * so it is a batch model by construction.)
 */

/** Popularity whose ranking moves with every click learned (a click moves its item up past those it now outnumbers). */
export class PrequentialPopularity implements NextItemModel {
  readonly name = 'popularity-prequential';
  private readonly ranked: number[] = [];
  private readonly at = new Map<number, number>();
  private readonly clicks = new Map<number, number>();

  fit(sessions: readonly ClickSession[]): this {
    for (const s of sessions) for (const item of s.items) this.count(item);
    return this;
  }

  learn = (_prefix: readonly number[], item: number): void => this.count(item);

  recommend(_prefix: readonly number[], k: number): readonly number[] {
    return this.ranked.slice(0, k);
  }

  /** Ranked by clicks, ties by the lower item number (as `Popularity`). */
  private count(item: number): void {
    const n = (this.clicks.get(item) ?? 0) + 1;
    this.clicks.set(item, n);
    let i = this.at.get(item);
    if (i === undefined) {
      i = this.ranked.length;
      this.ranked.push(item);
    }
    while (i > 0) {
      const before = this.ranked[i - 1]!;
      const m = this.clicks.get(before)!;
      if (m > n || (m === n && before < item)) break;
      this.ranked[i] = before;
      this.at.set(before, i);
      i--;
    }
    this.ranked[i] = item;
    this.at.set(item, i);
  }
}

/**
 * Sequential rules learning click by click: each learned click adds the rules `fit` would
 * have added for it (from the clicks before it in its session), and a rule row is pruned
 * again when it is next asked for. Before any learning it answers as `SequentialRules`.
 */
export class PrequentialSequentialRules implements NextItemModel {
  readonly name: string;
  readonly options: SequentialRulesOptions;
  private readonly weight: (gap: number) => number;
  /** Every rule's weight, rows in the order antecedents were first seen, columns likewise. */
  private readonly raw = new Map<number, Map<number, number>>();
  private readonly pruned = new Map<number, number[]>();

  constructor(options: Partial<SequentialRulesOptions> = {}, name = 'sequential-rules-prequential') {
    this.options = { steps: 10, weighting: 'div', pruning: 20, ...options };
    this.weight = ruleWeights[this.options.weighting];
    this.name = name;
  }

  fit(sessions: readonly ClickSession[]): this {
    for (const s of sessions) for (let t = 1; t < s.items.length; t++) this.addRules(s.items, t, s.items[t]!);
    return this;
  }

  learn = (prefix: readonly number[], item: number): void => this.addRules(prefix, prefix.length, item);

  recommend(prefix: readonly number[], k: number): readonly number[] {
    const last = prefix[prefix.length - 1];
    if (last === undefined) return [];
    let rules = this.pruned.get(last);
    if (rules === undefined) {
      const row = this.raw.get(last);
      if (row === undefined) return [];
      // As sr.py prunes (Counter.most_common: by weight, ties in first-seen order), then ranks.
      const byWeight = [...row].sort((x, y) => y[1] - x[1]);
      const kept = this.options.pruning > 0 ? byWeight.slice(0, this.options.pruning) : byWeight;
      kept.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
      rules = kept.map(([b]) => b);
      this.pruned.set(last, rules);
    }
    return rules.slice(0, k);
  }

  /** The rules for a click on `item` at position t of a session whose earlier clicks are `items[0..t)`. */
  private addRules(items: readonly number[], t: number, item: number): void {
    for (let g = 1; g <= Math.min(this.options.steps, t); g++) {
      const before = items[t - g]!;
      let row = this.raw.get(before);
      if (row === undefined) this.raw.set(before, (row = new Map()));
      row.set(item, (row.get(item) ?? 0) + this.weight(g));
      this.pruned.delete(before);
    }
  }
}
