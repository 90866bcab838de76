/**
 * Measures of a churn signal against known outcomes: the area under the ROC curve of a
 * score, and precision and recall of a set of flagged customers.
 */

/**
 * AUC as the Mann–Whitney statistic: the probability that a random positive scores above a
 * random negative, ties counting one half (average ranks), so a constant score gives 0.5.
 * NaN when either class is empty. Scores must not be NaN.
 */
export function areaUnderRoc(scores: readonly number[], positive: readonly boolean[]): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k]!]) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface FlagScores {
  flagged: number;
  /** Share of the flagged that are positive (NaN when none flagged). */
  precision: number;
  /** Share of the positives flagged. */
  recall: number;
}

export function precisionRecall(flagged: readonly boolean[], positive: readonly boolean[]): FlagScores {
  let f = 0;
  let tp = 0;
  let p = 0;
  for (let i = 0; i < flagged.length; i++) {
    if (flagged[i]) f++;
    if (positive[i]) p++;
    if (flagged[i] && positive[i]) tp++;
  }
  return { flagged: f, precision: f === 0 ? NaN : tp / f, recall: p === 0 ? NaN : tp / p };
}

/**
 * The `count` highest scores flagged (ties at the edge broken by position, first wins), to
 * compare a ranking with a rule that flags that many.
 */
export function flagTop(scores: readonly number[], count: number): boolean[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const flagged = new Array<boolean>(scores.length).fill(false);
  for (let i = 0; i < Math.min(count, order.length); i++) flagged[order[i]!] = true;
  return flagged;
}
