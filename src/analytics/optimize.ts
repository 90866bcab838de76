/**
 * A small Nelder–Mead minimiser for the models' maximum-likelihood fits. The likelihoods
 * have three or four parameters and cheap evaluations, so a derivative-free simplex is
 * enough and keeps the fits free of dependencies. Callers optimise positive parameters
 * on the log scale, so the search space here is unconstrained.
 */

export interface NelderMeadOptions {
  /** Edge length of the initial simplex, in the (log-)parameter units. */
  readonly initialStep?: number;
  /** Converged when the simplex is this small (max coordinate distance from the best vertex)… */
  readonly pointTolerance?: number;
  /** …and the objective spread over the simplex is this small, relative to 1 + |best|. */
  readonly valueTolerance?: number;
  /** Iteration limit for each run (a run is one simplex from start to convergence). */
  readonly maxIterations?: number;
  /**
   * Extra runs from the best point with a fresh full-size simplex. A simplex can collapse
   * onto a line and stop short of the minimum; restarting is the standard remedy.
   */
  readonly restarts?: number;
}

export interface Minimum {
  readonly point: number[];
  readonly value: number;
  /** Iterations summed over all runs. */
  readonly iterations: number;
  /** Whether the last run met both tolerances before its iteration limit. */
  readonly converged: boolean;
}

/**
 * An objective that is a sum over customers, added up a chunk at a time: a live refit
 * spreads one evaluation over events. Terms are added in order, so however the sum is
 * chunked it is the same double as in one go.
 */
export interface ObjectiveSum {
  /** Adds the next `n` terms. */
  add(n: number): void;
  /** Terms added so far. */
  readonly count: number;
  /** The objective's value, once all terms are in. */
  readonly value: number;
}

/**
 * A log-likelihood over `size` customers, summed in order a chunk at a time; its `value` is
 * the objective the fits minimise, −Σ ln L. Subclasses add the terms of a range.
 */
export abstract class LogLikelihoodSum implements ObjectiveSum {
  total = 0;
  count = 0;

  constructor(private readonly size: number) {}

  get value(): number {
    return -this.total;
  }

  add(n: number): void {
    const end = Math.min(this.size, this.count + n);
    this.total = this.addTerms(this.count, end, this.total);
    this.count = end;
  }

  /** Σ ln L over all the customers (the rest of them, if some were added already). */
  logLikelihood(): number {
    this.add(Infinity);
    return this.total;
  }

  /** `total` plus the terms of customers [from, to), added in order. */
  protected abstract addTerms(from: number, to: number, total: number): number;
}

/** A fit as Nelder–Mead sees it: where to start, what to minimise, and the parameters a point stands for. */
export interface FitProblem<P> {
  readonly start: readonly number[];
  /** Terms in the objective's sum (customers). */
  readonly terms: number;
  /** The objective at a point, as a sum to add up in chunks. */
  readonly sum: (point: readonly number[]) => ObjectiveSum;
  /** The objective at a point, all its terms added in one go. */
  readonly objective: (point: readonly number[]) => number;
  readonly params: (point: readonly number[]) => P;
}

export function fitProblem<P>(
  start: readonly number[],
  terms: number,
  sum: (point: readonly number[]) => ObjectiveSum,
  params: (point: readonly number[]) => P,
): FitProblem<P> {
  const objective = (point: readonly number[]): number => {
    const s = sum(point);
    s.add(terms);
    return s.value;
  };
  return { start, terms, sum, objective, params };
}

const DEFAULTS = {
  initialStep: 0.5,
  pointTolerance: 1e-9,
  valueTolerance: 1e-13,
  maxIterations: 5_000,
  restarts: 3,
} as const;

// The standard coefficients (Nelder & Mead 1965; Lagarias et al. 1998).
const REFLECT = 1;
const EXPAND = 2;
const CONTRACT = 0.5;
const SHRINK = 0.5;

/**
 * The search as a resumable machine: it yields each point it needs evaluated and is resumed
 * with the objective's value there (`next(value)`), returning the minimum when done. A live
 * refit steps it one evaluation at a time between events; `minimizeNelderMead` drives the
 * same machine in one go, so both reach bit-identical results. A non-finite value counts as
 * +Infinity, so the simplex backs away from regions where the likelihood is not defined.
 */
export type NelderMeadSearch = Generator<readonly number[], Minimum, number>;

export function* nelderMeadSearch(start: readonly number[], options: NelderMeadOptions = {}): NelderMeadSearch {
  const settings = { ...DEFAULTS, ...options };
  let best = yield* runSimplex(start, settings);
  let iterations = best.iterations;
  for (let i = 0; i < settings.restarts; i++) {
    const again = yield* runSimplex(best.point, settings);
    iterations += again.iterations;
    const improved = best.value - again.value;
    if (again.value <= best.value) best = again;
    if (improved <= settings.valueTolerance * (1 + Math.abs(best.value)) && again.converged) break;
  }
  return { point: best.point, value: best.value, iterations, converged: best.converged };
}

/** Minimises `objective` from `start` (see `nelderMeadSearch`). */
export function minimizeNelderMead(
  objective: (point: readonly number[]) => number,
  start: readonly number[],
  options: NelderMeadOptions = {},
): Minimum {
  const search = nelderMeadSearch(start, options);
  let step = search.next();
  while (step.done !== true) step = search.next(objective(step.value));
  return step.value;
}

interface Vertex {
  point: number[];
  value: number;
}

/** One evaluation: yields the point, takes its value back, non-finite as +Infinity. */
function* evaluate(point: number[]): Generator<readonly number[], Vertex, number> {
  const v = yield point;
  return { point, value: Number.isFinite(v) ? v : Infinity };
}

function* runSimplex(
  start: readonly number[],
  settings: Required<NelderMeadOptions>,
): Generator<readonly number[], Minimum, number> {
  const n = start.length;
  const simplex: Vertex[] = [yield* evaluate([...start])];
  for (let i = 0; i < n; i++) {
    const point = [...start];
    point[i] = (point[i] as number) + settings.initialStep;
    simplex.push(yield* evaluate(point));
  }

  let iteration = 0;
  for (; iteration < settings.maxIterations; iteration++) {
    simplex.sort((u, v) => u.value - v.value);
    const bestVertex = simplex[0] as Vertex;
    const worst = simplex[n] as Vertex;
    const secondWorst = simplex[n - 1] as Vertex;
    if (hasConverged(simplex, settings)) {
      return { point: bestVertex.point, value: bestVertex.value, iterations: iteration, converged: true };
    }

    const centroid = new Array<number>(n).fill(0);
    for (let v = 0; v < n; v++) {
      const p = (simplex[v] as Vertex).point;
      for (let i = 0; i < n; i++) centroid[i] = (centroid[i] as number) + (p[i] as number) / n;
    }
    const along = (t: number) => evaluate(centroid.map((c, i) => c + t * (c - (worst.point[i] as number))));

    const reflected = yield* along(REFLECT);
    if (reflected.value < bestVertex.value) {
      const expanded = yield* along(EXPAND);
      simplex[n] = expanded.value < reflected.value ? expanded : reflected;
    } else if (reflected.value < secondWorst.value) {
      simplex[n] = reflected;
    } else {
      const outside = reflected.value < worst.value;
      const contracted = yield* along(outside ? CONTRACT : -CONTRACT);
      if (contracted.value < (outside ? reflected.value : worst.value)) {
        simplex[n] = contracted;
      } else {
        for (let v = 1; v <= n; v++) {
          const vertex = simplex[v] as Vertex;
          simplex[v] = yield* evaluate(
            vertex.point.map(
              (x, i) => (bestVertex.point[i] as number) + SHRINK * (x - (bestVertex.point[i] as number)),
            ),
          );
        }
      }
    }
  }
  simplex.sort((u, v) => u.value - v.value);
  const bestVertex = simplex[0] as Vertex;
  return { point: bestVertex.point, value: bestVertex.value, iterations: iteration, converged: false };
}

function hasConverged(sorted: readonly Vertex[], settings: Required<NelderMeadOptions>): boolean {
  const best = sorted[0] as Vertex;
  const worst = sorted[sorted.length - 1] as Vertex;
  if (!(worst.value - best.value <= settings.valueTolerance * (1 + Math.abs(best.value)))) return false;
  for (const vertex of sorted) {
    for (let i = 0; i < best.point.length; i++) {
      if (Math.abs((vertex.point[i] as number) - (best.point[i] as number)) > settings.pointTolerance) return false;
    }
  }
  return true;
}
