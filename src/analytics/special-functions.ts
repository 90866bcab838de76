/**
 * The special functions the customer-value models need: log-gamma and the Gauss
 * hypergeometric function 2F1. Dependency-free on purpose: the models are pure
 * functions of a customer's sufficient statistics, and these are their only non-trivial
 * numerics.
 */
import { VigilError } from '../core/errors.js';

/**
 * Godfrey's Lanczos coefficients for g = 7, n = 9 (the set Numerical Recipes and most
 * libraries without a C math library use): Γ is then accurate to ~1e-15 relative for
 * positive arguments, so ln Γ is accurate to ~1e-13 relative (absolute near its zeros
 * at 1 and 2).
 */
const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
] as const;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln |Γ(x)|. Infinity at the poles (0, -1, -2, ...). Negative arguments go through the
 * reflection formula, so the sign of Γ is not part of the result: see `gammaSign`.
 */
export function lgamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  if (x <= 0 && Number.isInteger(x)) return Infinity;
  if (x < 0.5) {
    // Reflection Γ(x)Γ(1-x) = π / sin(πx): the Lanczos sum is only accurate for x ≥ 1/2.
    return Math.log(Math.PI / Math.abs(sinPi(x))) - lgamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS_COEFFICIENTS[0];
  for (let i = 1; i < LANCZOS_COEFFICIENTS.length; i++) {
    sum += (LANCZOS_COEFFICIENTS[i] as number) / (z + i);
  }
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_TWO_PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The sign of Γ(x): +1 for x > 0, alternating between the poles below 0; NaN at a pole. */
export function gammaSign(x: number): number {
  if (x > 0) return 1;
  if (Number.isInteger(x) || Number.isNaN(x)) return NaN;
  return Math.floor(x) % 2 === 0 ? 1 : -1;
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0. */
export function lbeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/** ln(eᵘ + eᵛ) without overflow; −∞ is the empty sum. */
export function logAddExp(u: number, v: number): number {
  if (u === -Infinity) return v;
  if (v === -Infinity) return u;
  const high = Math.max(u, v);
  return high + Math.log1p(Math.exp(-Math.abs(u - v)));
}

/** ln(eˣ − 1) for x > 0, without overflow for large x. */
export function logExpm1(x: number): number {
  return x > 30 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/** ln(1 − e⁻ˣ) for x > 0, accurate at both ends (Mächler 2012). */
export function log1mExp(x: number): number {
  return x > Math.LN2 ? Math.log1p(-Math.exp(-x)) : Math.log(-Math.expm1(-x));
}

/** sin(πx) with exact zeros at the integers (Math.sin(Math.PI * n) is not 0). */
function sinPi(x: number): number {
  const r = x - 2 * Math.floor(x / 2); // r in [0, 2)
  if (r === 0 || r === 1) return 0;
  return Math.sin(Math.PI * r);
}

/**
 * Γ(n1)·Γ(n2)·… / (Γ(d1)·Γ(d2)·…), through logs so large arguments do not overflow.
 * A pole in the denominator makes the ratio 0 (1/Γ is entire); callers make sure no
 * numerator argument sits on a pole.
 */
function gammaRatio(numerator: readonly number[], denominator: readonly number[]): number {
  let logMagnitude = 0;
  let sign = 1;
  for (const d of denominator) {
    if (d <= 0 && Number.isInteger(d)) return 0;
    logMagnitude -= lgamma(d);
    sign *= gammaSign(d);
  }
  for (const n of numerator) {
    logMagnitude += lgamma(n);
    sign *= gammaSign(n);
  }
  return sign * Math.exp(logMagnitude);
}

export interface SeriesOptions {
  /** Stop when the bound on the remaining tail is below this, relative to the sum. */
  readonly tolerance?: number;
  /** Give up (and throw) after this many terms. */
  readonly maxTerms?: number;
}

const DEFAULT_TOLERANCE = 1e-15;
const DEFAULT_MAX_TERMS = 100_000;
/**
 * Above this z the direct series is tried only briefly before switching to the 1 − z
 * transformation: its terms shrink like zⁿ · n^(a+b−c−1), so near z = 1 it needs at
 * least ln(tol)/ln(z) terms, and as z → 1 it stops converging at all unless c − a − b > 0
 * (and then only like a power of n).
 */
const DIRECT_SERIES_LIMIT = 0.9;
const NEAR_ONE_BUDGET = 2_000;
/** c − a − b closer than this to an integer is a removable singularity of 15.3.6. */
const INTEGER_GAP = 1e-4;
const INTEGER_STEP = 5e-4;

/**
 * The Gauss hypergeometric function ₂F₁(a, b; c; z) for real arguments and z < 1.
 *
 * Where each representation converges, and which one is used:
 * - 0 ≤ z ≤ 0.9: the defining series Σ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ, which converges for
 *   |z| < 1 (geometrically, with ratio → z). It is summed until a bound on the tail,
 *   valid once the term ratio has settled below 1, is below `tolerance` of the sum.
 * - 0.9 < z < 1: the direct series first, with a small budget (it is fast whenever c is
 *   large against a + b, e.g. BG/NBD with many repeat purchases); otherwise the
 *   1 − z transformation (Abramowitz & Stegun 15.3.6), two series in 1 − z < 0.1.
 *   15.3.6 has a removable singularity when c − a − b is an integer; there the value is
 *   the Richardson-extrapolated mean of evaluations at c ± δ, c ± 2δ (error ~δ⁴).
 * - z < 0: Pfaff's transformation ₂F₁(a,b;c;z) = (1−z)^(−a) ₂F₁(a, c−b; c; z/(z−1)),
 *   which maps z to (0, 1).
 * z ≥ 1 is outside the domain (the series diverges; the function has a branch cut).
 */
export function hyp2f1(a: number, b: number, c: number, z: number, options: SeriesOptions = {}): number {
  return 1 + hyp2f1MinusOne(a, b, c, z, options);
}

/**
 * ₂F₁(a, b; c; z) − 1, computed without forming the 1 first, so that small z (where the
 * function is 1 + O(z)) loses no relative precision. Same domain as `hyp2f1`.
 */
export function hyp2f1MinusOne(a: number, b: number, c: number, z: number, options: SeriesOptions = {}): number {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const maxTerms = options.maxTerms ?? DEFAULT_MAX_TERMS;
  if (!(Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(z)) || z >= 1) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `hyp2f1 needs finite a, b, c and z < 1 (got a=${a}, b=${b}, c=${c}, z=${z})`,
    );
  }
  if (c <= 0 && Number.isInteger(c)) {
    throw new VigilError('VIGIL_ERR_USAGE', `hyp2f1 is undefined for c = ${c} (a non-positive integer)`);
  }
  if (z < 0) {
    const w = z / (z - 1);
    const scale = Math.pow(1 - z, -a);
    return scale * (1 + hyp2f1MinusOne(a, c - b, c, w, options)) - 1;
  }
  if (z <= DIRECT_SERIES_LIMIT) {
    const sum = seriesMinusOne(a, b, c, z, tolerance, maxTerms);
    if (sum === undefined) {
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        `hyp2f1(${a}, ${b}; ${c}; ${z}): series did not converge in ${maxTerms} terms`,
      );
    }
    return sum;
  }
  const direct = seriesMinusOne(a, b, c, z, tolerance, Math.min(NEAR_ONE_BUDGET, maxTerms));
  if (direct !== undefined) return direct;
  return nearOne(a, b, c, z, tolerance, maxTerms) - 1;
}

/**
 * Σ_{n≥1} (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ, or undefined if it has not converged after maxTerms.
 * Convergence check: the term ratio (a+n)(b+n)z / ((c+n)(n+1)) tends to z; once n is past
 * |a|, |b| and |c| (the hump of growing terms is behind us, all factors positive) the
 * remaining terms are bounded by a geometric series with ratio max(next ratio, |z|) < 1,
 * and summing stops when that bound is below `tolerance` of the sum.
 */
function seriesMinusOne(
  a: number,
  b: number,
  c: number,
  z: number,
  tolerance: number,
  maxTerms: number,
): number | undefined {
  // With a, c > 0, (a+m)/(c+m) moves monotonically towards 1, so it never exceeds
  // max(1, a/c): the tail bound then holds as soon as n is past |b| alone (and likewise
  // with a and b swapped). Without this, a = c = 10⁶ (BG/NBD with b in the millions, a
  // population that hardly ever drops out) would wait 10⁶ terms for a series that
  // converges like zⁿ from the start.
  let settledAfter = Math.max(Math.abs(a), Math.abs(b), Math.abs(c));
  let pairFactor = 0; // 0: no pairing, the plain rule above applies
  let other = 0;
  if (c > 0 && a > 0 && Math.abs(b) < settledAfter) {
    settledAfter = Math.abs(b);
    pairFactor = Math.max(1, a / c);
    other = b;
  } else if (c > 0 && b > 0 && Math.abs(a) < settledAfter) {
    settledAfter = Math.abs(a);
    pairFactor = Math.max(1, b / c);
    other = a;
  }
  const absZ = Math.abs(z);
  const oneMinusAbsZ = 1 - absZ;
  let term = 1;
  let sum = 0;
  for (let n = 0; n < maxTerms; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    // One test for both exits, the same answers as `term === 0 → sum` then `!finite → undefined`:
    // with the two returns written apart, V8's optimized loop boxed a number at every term
    // (≈ 3 KB per call on the CLV's series, 36 MB over the core bench input; heap profile).
    // term === 0: a or b is a non-positive integer, a polynomial.
    if (term === 0 || !Number.isFinite(sum)) return term === 0 ? sum : undefined;
    if (n + 1 < settledAfter) continue;
    const enough = tolerance * Math.abs(1 + sum);
    // The bound below with ρ = |z|, its least value (ρ ≥ |z|), computed the same way: when even
    // that exceeds `enough`, the test below fails (for ρ < 1: |term|·ρ rounds no lower and
    // 1 − ρ no higher, so the quotient rounds no lower; for ρ ≥ 1 it fails anyway), and the
    // next ratio's two divisions are skipped on the terms before convergence, most of them.
    if ((Math.abs(term) * absZ) / oneMinusAbsZ > enough) continue;
    const nextRatio = Math.abs((((a + n + 1) * (b + n + 1)) / ((c + n + 1) * (n + 2))) * z);
    // Past |other|, (other+m)/(m+1) is monotone towards 1: bounded by max(1, its next value).
    const pairedBound = pairFactor * Math.max(1, Math.abs((other + n + 1) / (n + 2))) * absZ;
    const rho = Math.max(nextRatio, absZ, pairedBound);
    if (rho < 1 && (Math.abs(term) * rho) / (1 - rho) <= enough) return sum;
  }
  return undefined;
}

/** ₂F₁ for z in (0.9, 1) through Abramowitz & Stegun 15.3.6 (series in 1 − z). */
function nearOne(a: number, b: number, c: number, z: number, tolerance: number, maxTerms: number): number {
  const s = c - a - b;
  if (Math.abs(s - Math.round(s)) < INTEGER_GAP) {
    return richardsonSymmetric((cc) => nearOne(a, b, cc, z, tolerance, maxTerms), c, INTEGER_STEP);
  }
  const w = 1 - z;
  const inner = (aa: number, bb: number, cc: number): number => {
    const sum = seriesMinusOne(aa, bb, cc, w, tolerance, maxTerms);
    if (sum === undefined) {
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        `hyp2f1(${a}, ${b}; ${c}; ${z}): 1 − z series did not converge in ${maxTerms} terms`,
      );
    }
    return 1 + sum;
  };
  const first = gammaRatio([c, s], [c - a, c - b]);
  const second = gammaRatio([c, -s], [a, b]);
  const firstPart = first === 0 ? 0 : first * inner(a, b, 1 - s);
  const secondPart = second === 0 ? 0 : second * Math.pow(w, s) * inner(c - a, c - b, 1 + s);
  return firstPart + secondPart;
}

/**
 * The value at `at` of a function that is smooth there but cannot be evaluated at (or
 * very near) that point: symmetric means at ±h and ±2h cancel the odd terms, and the
 * Richardson combination cancels the h² term, leaving an O(h⁴) error.
 */
export function richardsonSymmetric(f: (x: number) => number, at: number, h: number): number {
  const near = (f(at + h) + f(at - h)) / 2;
  const far = (f(at + 2 * h) + f(at - 2 * h)) / 2;
  return (4 * near - far) / 3;
}
