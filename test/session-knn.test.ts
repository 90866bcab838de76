/**
 * V-SKNN and STAN against hand computations from session-rec's code (vsknn.py, stan.py) and
 * against a brute-force transcription of it; the prequential baselines against their batch
 * fits on the same clicks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Popularity, SequentialRules } from '../src/analytics/recs/baselines.js';
import { PrequentialPopularity, PrequentialSequentialRules } from '../src/analytics/recs/baselines-prequential.js';
import type { ClickSession } from '../src/analytics/recs/session-clicks.js';
import { Stan, Vsknn } from '../src/analytics/recs/session-knn.js';

const MIN = 60_000;
const sessionsOf = (lists: number[][], start = 0): ClickSession[] =>
  lists.map((items, s) => ({ id: String(s), items, times: items.map((_, i) => start + s * 60 * MIN + i * MIN) }));

describe('V-SKNN (session-rec vsknn.py)', () => {
  it('scores a hand-computed example: quadratic position weights, quadratic step decay, reminders kept', () => {
    // prefix [1, 2]: weights 1 → (1/2)² = 0.25, 2 → 1; two distinct items.
    // S0 {1,2,3}: sim (0.25 + 1)/2 = 0.625, most recent shared click is the last (step 1).
    // S1 {2,4}: sim 0.5, step 1. S2 {5}: no shared item, not a neighbour.
    // Scores: 2 = 1.125, 1 = 3 = 0.625, 4 = 0.5.
    const model = new Vsknn().fit(sessionsOf([[1, 2, 3], [2, 4], [5]]));
    expect(model.recommend([1, 2], 20, 0, -1)).toEqual([2, 1, 3, 4]);
    // prefix [2, 1]: S0 shares the last click (step 1), S1 only the one before (step 2, decay 1/4).
    // weights 2 → 0.25, 1 → 1: S0 1.25/2 = 0.625, S1 0.25/2 = 0.125 × 1/4 = 0.03125.
    // Scores: 2 = 0.65625, 1 = 3 = 0.625, 4 = 0.03125.
    expect(model.recommend([2, 1], 20, 0, -1)).toEqual([2, 1, 3, 4]);
  });

  it('equals a brute-force transcription of vsknn.py for any sessions (property)', () => {
    fc.assert(
      fc.property(
        sessionLists,
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        (lists, prefix, k, sample) => {
          const train = sessionsOf(lists);
          const model = new Vsknn({ k, sampleSize: sample }).fit(train);
          expect(model.recommend(prefix, 20, 0, -1)).toEqual(bruteVsknn(train, prefix, k, sample));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('STAN (session-rec stan.py)', () => {
  it('scores a hand-computed example of the stan-mrr weights (only the last click counts)', () => {
    // λspw 1e-5: weight of 1 is e^(−1/1e−5) = 0, of 2 is 1. No time decay (λsnh huge), λinh 2.
    // S0 [1,2,3]: sim 1/√3, shared item last at position 2 → 1 and 3 weigh e^(−1/2), 2 weighs 1.
    // S1 [2,4]: sim 1/√2, shared at 1 → 2 weighs 1, 4 e^(−1/2).
    const model = new Stan({ lambdaSpw: 1e-5, lambdaSnh: 1e12, lambdaInh: 2 }).fit(
      sessionsOf([
        [1, 2, 3],
        [2, 4],
      ]),
    );
    const a = 1 / Math.sqrt(3);
    const b = 1 / Math.sqrt(2);
    const scores = { 2: a + b, 4: b * Math.exp(-0.5), 1: a * Math.exp(-0.5), 3: a * Math.exp(-0.5) };
    expect(scores[4]).toBeGreaterThan(scores[1]);
    expect(model.recommend([1, 2], 20, 0, -1)).toEqual([2, 4, 1, 3]);
  });

  it('equals a brute-force transcription of stan.py for any sessions and weights (property)', () => {
    fc.assert(
      fc.property(
        sessionLists,
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(1e-5, 0.5, 2),
        fc.constantFrom(0.01, 10),
        fc.constantFrom(0.5, 2),
        (lists, prefix, k, sample, spw, snh, inh) => {
          const train = sessionsOf(lists);
          const now = train.length * 60 * MIN;
          const model = new Stan({ k, sampleSize: sample, lambdaSpw: spw, lambdaSnh: snh, lambdaInh: inh }).fit(train);
          expect(model.recommend(prefix, 20, now, -1)).toEqual(
            bruteStan(train, prefix, now, { k, sample, spw, snh, inh }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('prequential baselines', () => {
  it('after learning test sessions, V-SKNN and STAN answer other sessions as if fitted on them, and never use a session as its own neighbour', () => {
    fc.assert(
      fc.property(
        sessionLists,
        sessionLists,
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 }),
        (trainLists, testLists, prefix) => {
          const train = sessionsOf(trainLists);
          const test = sessionsOf(testLists, train.length * 60 * MIN);
          for (const make of [
            () => new Vsknn({ k: 3, sampleSize: 5 }),
            () => new Stan({ k: 3, sampleSize: 5, lambdaSpw: 0.5, lambdaSnh: 10, lambdaInh: 1 }),
          ]) {
            const learning = make().fit(train).prequential();
            test.forEach((s, n) =>
              s.items.forEach((item, i) => learning.learn!(s.items.slice(0, i), item, s.times[i]!, n)),
            );
            const now = (train.length + test.length) * 60 * MIN;
            expect(learning.recommend(prefix, 20, now, -1)).toEqual(
              make()
                .fit([...train, ...test])
                .recommend(prefix, 20, now, -1),
            );
            // As test session 0 itself, it is left out of its own neighbours.
            if (test.length > 0)
              expect(learning.recommend(prefix, 20, now, 0)).toEqual(
                make()
                  .fit([...train, ...test.slice(1)])
                  .recommend(prefix, 20, now, -1),
              );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('popularity and sequential rules learning click by click equal their batch fit on all clicks seen', () => {
    fc.assert(
      fc.property(sessionLists, sessionLists, fc.integer({ min: 1, max: 8 }), (trainLists, testLists, last) => {
        const train = sessionsOf(trainLists);
        const test = sessionsOf(testLists, 1e9);
        const pop = new PrequentialPopularity().fit(train);
        const rules = new PrequentialSequentialRules({ steps: 3, pruning: 3 }).fit(train);
        expect(rules.recommend([last], 20)).toEqual(
          new SequentialRules({ steps: 3, pruning: 3 }).fit(train).recommend([last], 20),
        );
        test.forEach((s, n) =>
          s.items.forEach((item, i) => {
            pop.learn(s.items.slice(0, i), item);
            rules.learn(s.items.slice(0, i), item);
            void n;
          }),
        );
        expect(pop.recommend([], 20)).toEqual(new Popularity().fit([...train, ...test]).recommend([], 20));
        expect(rules.recommend([last], 20)).toEqual(
          new SequentialRules({ steps: 3, pruning: 3 }).fit([...train, ...test]).recommend([last], 20),
        );
      }),
      { numRuns: 200 },
    );
  });
});

const sessionLists = fc.array(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }), {
  maxLength: 8,
});

interface Neighbour {
  s: number;
  sim: number;
}

/** Relevant sessions as session-rec collects and samples them, ties as documented. */
function bruteCandidates(train: ClickSession[], prefix: number[], sample: number): number[] {
  const relevant = train.map((_, s) => s).filter((s) => prefix.some((item) => train[s]!.items.includes(item)));
  const last = (s: number) => train[s]!.times[train[s]!.times.length - 1]!;
  if (relevant.length <= sample) return relevant;
  return relevant.sort((a, b) => last(b) - last(a) || b - a).slice(0, sample);
}

function bruteTop(train: ClickSession[], neighbours: Neighbour[], k: number): Neighbour[] {
  const last = (s: number) => train[s]!.times[train[s]!.times.length - 1]!;
  return neighbours.sort((a, b) => b.sim - a.sim || last(b.s) - last(a.s) || b.s - a.s).slice(0, k);
}

function rank(scores: Map<number, number>): number[] {
  return [...scores]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([i]) => i)
    .slice(0, 20);
}

function bruteVsknn(train: ClickSession[], prefix: number[], k: number, sample: number): number[] {
  const posMap = new Map<number, number>();
  let count = 1;
  for (const item of prefix) posMap.set(item, (count++ / prefix.length) ** 2);
  const neighbours: Neighbour[] = [];
  for (const s of bruteCandidates(train, prefix, sample)) {
    const items = new Set(train[s]!.items);
    let sum = 0;
    for (const i of new Set(prefix)) if (items.has(i)) sum += posMap.get(i)!;
    if (sum / posMap.size > 0) neighbours.push({ s, sim: sum / posMap.size });
  }
  const scores = new Map<number, number>();
  for (const { s, sim } of bruteTop(train, neighbours, k)) {
    const items = new Set(train[s]!.items);
    let step = 1;
    let decay = 0;
    for (const item of [...prefix].reverse()) {
      if (items.has(item)) {
        decay = 1 / (step * step);
        break;
      }
      step++;
    }
    for (const item of items) scores.set(item, (scores.get(item) ?? 0) + sim * decay);
  }
  return rank(scores);
}

function bruteStan(
  train: ClickSession[],
  prefix: number[],
  now: number,
  o: { k: number; sample: number; spw: number; snh: number; inh: number },
): number[] {
  const posMap = new Map<number, number>();
  let pos = 1;
  for (const item of prefix) posMap.set(item, Math.exp((pos++ - prefix.length) / o.spw));
  const current = new Set(prefix);
  let currentSum = 0;
  for (const i of current) currentSum += posMap.get(i)! ** 2;
  const neighbours: Neighbour[] = [];
  for (const s of bruteCandidates(train, prefix, o.sample)) {
    const items = new Set(train[s]!.items);
    let vp = 0;
    for (const i of current) if (items.has(i)) vp += posMap.get(i)!;
    const sts = train[s]!.times[train[s]!.times.length - 1]!;
    neighbours.push({
      s,
      sim: (vp / (Math.sqrt(currentSum) * Math.sqrt(items.size))) * Math.exp(-(now - sts) / (o.snh * 86_400_000)),
    });
  }
  const scores = new Map<number, number>();
  for (const { s, sim } of bruteTop(train, neighbours, o.k)) {
    const n = train[s]!.items;
    const posLast = new Map<number, number>();
    let star = 0;
    for (let i = 0; i < n.length; i++) {
      if (current.has(n[i]!)) star = i + 1;
      posLast.set(n[i]!, i + 1);
    }
    for (const item of new Set(n))
      scores.set(item, (scores.get(item) ?? 0) + sim * Math.exp(-Math.abs(posLast.get(item)! - star) / o.inh));
  }
  return rank(scores);
}
