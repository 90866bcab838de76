import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  minimizeNelderMead,
  nelderMeadSearch,
  type Minimum,
  type NelderMeadOptions,
} from '../src/analytics/optimize.js';

/** Objectives with known minima: a shifted, scaled quadratic bowl and a Rosenbrock valley (minimum (1, 1, …)). */
type Objective = (p: readonly number[]) => number;
const bowl =
  (centre: readonly number[], scales: readonly number[]): Objective =>
  (p) =>
    p.reduce((s, x, i) => s + scales[i]! * (x - centre[i]!) ** 2, 0);
const rosenbrock: Objective = (p) => {
  let s = 0;
  for (let i = 0; i + 1 < p.length; i++) s += 100 * (p[i + 1]! - p[i]! ** 2) ** 2 + (1 - p[i]!) ** 2;
  return s;
};
/** Undefined (NaN) beyond a wall: the search must back away from it the same way either driven. */
const walled =
  (f: Objective, wall: number): Objective =>
  (p) =>
    p[0]! > wall ? NaN : f(p);

const coordinate = fc.double({ min: -3, max: 3, noNaN: true });
const problem = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.record({
    start: fc.array(coordinate, { minLength: n, maxLength: n }),
    centre: fc.array(coordinate, { minLength: n, maxLength: n }),
    scales: fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: n, maxLength: n }),
    kind: fc.constantFrom('bowl', 'rosenbrock', 'walled'),
    options: fc.constantFrom<NelderMeadOptions>(
      {},
      { initialStep: 0.1, pointTolerance: 1e-5, valueTolerance: 1e-10, restarts: 1, maxIterations: 500 },
      { maxIterations: 40, restarts: 0 },
    ),
  }),
);
const objectiveOf = (p: { centre: number[]; scales: number[]; kind: string }): Objective =>
  p.kind === 'bowl'
    ? bowl(p.centre, p.scales)
    : p.kind === 'rosenbrock'
      ? rosenbrock
      : walled(bowl(p.centre, p.scales), p.centre[0]! + 0.5);

/** Drives the search one evaluation at a time, counting them, with each point copied before it is evaluated. */
function stepped(
  f: Objective,
  start: readonly number[],
  options: NelderMeadOptions,
): { minimum: Minimum; evaluations: number } {
  const search = nelderMeadSearch(start, options);
  let evaluations = 0;
  for (let step = search.next(); ; evaluations++) {
    if (step.done === true) return { minimum: step.value, evaluations };
    step = search.next(f([...step.value]));
  }
}

describe('Nelder–Mead as a resumable search', () => {
  it('stepped one evaluation at a time it reaches exactly minimizeNelderMead’s point, value and iterations, with as many evaluations (property)', () => {
    fc.assert(
      fc.property(problem, (p) => {
        const f = objectiveOf(p);
        let calls = 0;
        const direct = minimizeNelderMead(
          (x) => {
            calls++;
            return f(x);
          },
          p.start,
          p.options,
        );
        const { minimum, evaluations } = stepped(f, p.start, p.options);
        expect(minimum).toEqual(direct);
        expect(evaluations).toBe(calls);
      }),
      { numRuns: 60 },
    );
  });

  it('two searches stepped in turn do not disturb each other, and a fresh search replaying the first k values goes on identically (property)', () => {
    fc.assert(
      fc.property(problem, problem, fc.nat({ max: 400 }), (p, q, k) => {
        const f = objectiveOf(p);
        const g = objectiveOf(q);
        const a = nelderMeadSearch(p.start, p.options);
        const b = nelderMeadSearch(q.start, q.options);
        let sa = a.next();
        let sb = b.next();
        const valuesA: number[] = [];
        while (sa.done !== true || sb.done !== true) {
          if (sa.done !== true) {
            const v = f(sa.value);
            valuesA.push(v);
            sa = a.next(v);
          }
          if (sb.done !== true) sb = b.next(g(sb.value));
        }
        expect(sa.value).toEqual(minimizeNelderMead(f, p.start, p.options));
        expect(sb.value).toEqual(minimizeNelderMead(g, q.start, q.options));
        // What a restored refit does: replay the values of the evaluations done, then go on.
        const replayed = nelderMeadSearch(p.start, p.options);
        let r = replayed.next();
        const upTo = Math.min(k, valuesA.length);
        for (let i = 0; i < upTo; i++) r = replayed.next(valuesA[i]!);
        while (r.done !== true) r = replayed.next(f(r.value));
        expect(r.value).toEqual(sa.value);
      }),
      { numRuns: 40 },
    );
  });

  it('finds the known minima: the bowl’s centre and Rosenbrock’s (1, 1, 1), from a far start', () => {
    const centre = [0.7, -1.3, 2.1];
    const bowlMin = minimizeNelderMead(bowl(centre, [1, 10, 0.1]), [3, 3, -3]);
    for (let i = 0; i < 3; i++) expect(bowlMin.point[i]).toBeCloseTo(centre[i]!, 6);
    expect(bowlMin.converged).toBe(true);
    const rosen = minimizeNelderMead(rosenbrock, [-1.2, 1, 0.5]);
    for (const x of rosen.point) expect(x).toBeCloseTo(1, 5);
    expect(rosen.value).toBeLessThan(1e-9);
  });
});
