/**
 * Ranking metrics of the evaluation protocol: Recall@K (hit rate: the one target is in the top K)
 * and NDCG@K (`1 / log2(rank + 1)` for a hit at 1-based rank <= K, else 0), averaged over all
 * evaluated users (one sample per user for validation and test).
 *
 * Two ranking modes, always labelled in reports:
 * - `full`: ranking over the full catalogue (the default; what generative models produce);
 * - `exclude-history`: the user's own history items (every item before the target, not only the
 *   truncated model input) are removed before cutting the top K. A target that repeats a history
 *   item can then never be hit (counted as a miss, as in RecBole's full-sort evaluation).
 *
 * Ties in a score row are broken deterministically by the lower item id. Item id 0 (padding) is
 * never ranked.
 */

/** The two ranking modes. */
export type RankingMode = 'full' | 'exclude-history';

/** Both modes, in report order. */
export const RANKING_MODES: readonly RankingMode[] = ['full', 'exclude-history'];

/** Default cut-offs. */
export const DEFAULT_KS: readonly number[] = [5, 10, 20];

/** Averaged metrics of one (split, mode). Keys of `recall` / `ndcg` are the cut-offs K. */
export interface MetricResult {
  mode: RankingMode;
  /** Which split the samples came from, when known ('valid' | 'test'). */
  split?: string;
  /** Number of evaluated users (samples). */
  users: number;
  ks: number[];
  recall: Record<number, number>;
  ndcg: Record<number, number>;
}

/** Accumulates per-sample ranks into {@link MetricResult}. */
export class MetricAccumulator {
  private readonly hits: number[];
  private readonly gains: number[];
  private count = 0;
  readonly ks: number[];

  constructor(ks: readonly number[] = DEFAULT_KS, readonly mode: RankingMode = 'full', readonly split?: string) {
    if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) {
      throw new Error(`ks: expected positive integers, got [${ks.join(', ')}]`);
    }
    this.ks = [...ks].sort((a, b) => a - b);
    this.hits = this.ks.map(() => 0);
    this.gains = this.ks.map(() => 0);
  }

  /** Adds one sample whose target sits at 1-based `rank` (Infinity / 0 / NaN: not ranked). */
  addRank(rank: number): void {
    this.count++;
    if (!(rank >= 1) || !Number.isFinite(rank)) return;
    const gain = 1 / Math.log2(rank + 1);
    this.ks.forEach((k, j) => {
      if (rank <= k) {
        this.hits[j]! += 1;
        this.gains[j]! += gain;
      }
    });
  }

  /** Number of samples added. */
  get users(): number {
    return this.count;
  }

  /** Averages (0 for every metric when nothing was added). */
  result(): MetricResult {
    const recall: Record<number, number> = {};
    const ndcg: Record<number, number> = {};
    this.ks.forEach((k, j) => {
      recall[k] = this.count ? this.hits[j]! / this.count : 0;
      ndcg[k] = this.count ? this.gains[j]! / this.count : 0;
    });
    return { mode: this.mode, ...(this.split ? { split: this.split } : {}), users: this.count, ks: [...this.ks], recall, ndcg };
  }
}

/** `a` ranks before `b` (scores sa, sb): higher score first, then lower id. NaN ranks last. */
function before(sa: number, a: number, sb: number, b: number): boolean {
  if (sa !== sa) sa = Number.NEGATIVE_INFINITY;
  if (sb !== sb) sb = Number.NEGATIVE_INFINITY;
  return sa > sb || (sa === sb && a < b);
}

/**
 * 1-based rank of `target` in one score row (length numItems + 1, index 0 ignored), counting
 * only items not in `exclude`; Infinity when the target itself is excluded or out of range.
 */
export function rankOfTarget(row: ArrayLike<number>, target: number, exclude?: ArrayLike<number>): number {
  const n = row.length - 1;
  if (!(target >= 1 && target <= n)) return Number.POSITIVE_INFINITY;
  let excluded: Set<number> | null = null;
  if (exclude && exclude.length > 0) {
    excluded = new Set<number>();
    for (let j = 0; j < exclude.length; j++) excluded.add(exclude[j]!);
    if (excluded.has(target)) return Number.POSITIVE_INFINITY;
  }
  const st = row[target]!;
  let rank = 1;
  if (st === st && st !== Number.NEGATIVE_INFINITY) {
    // Fast path (the common case): NaN scores compare false and rank below the target.
    for (let i = 1; i <= n; i++) {
      const s = row[i]!;
      if ((s > st || (s === st && i < target)) && !(excluded && excluded.has(i))) rank++;
    }
    return rank;
  }
  for (let i = 1; i <= n; i++) {
    if (i !== target && before(row[i]!, i, st, target) && !(excluded && excluded.has(i))) rank++;
  }
  return rank;
}

/**
 * Top-`k` item ids of one score row (length numItems + 1, index 0 ignored), best first, ties by
 * lower id, skipping `exclude`. Returns fewer than k ids when the catalogue is smaller.
 */
export function topKFromScores(row: ArrayLike<number>, k: number, exclude?: ArrayLike<number>): Uint32Array {
  const n = row.length - 1;
  const excluded = new Set<number>();
  if (exclude) for (let j = 0; j < exclude.length; j++) excluded.add(exclude[j]!);
  const ids: number[] = [];
  for (let i = 1; i <= n; i++) {
    if (excluded.has(i)) continue;
    const s = row[i]!;
    if (ids.length === k && !before(s, i, row[ids[k - 1]!]!, ids[k - 1]!)) continue;
    // Insertion into the sorted top list (k is small).
    let p = ids.length < k ? ids.length : k - 1;
    if (ids.length < k) ids.push(i);
    while (p > 0 && before(s, i, row[ids[p - 1]!]!, ids[p - 1]!)) {
      ids[p] = ids[p - 1]!;
      p--;
    }
    ids[p] = i;
  }
  return Uint32Array.from(ids);
}

/**
 * Ranks a whole score matrix `scores` ([users, numItems + 1] row-major) to top-`k` lists
 * (ties by lower id). `exclude(u)` gives the items to drop for row u (exclude-history mode).
 */
export function rankScoreMatrix(
  scores: Float32Array, numItems: number, k: number, exclude?: (row: number) => ArrayLike<number>,
): Uint32Array[] {
  const W = numItems + 1;
  if (scores.length % W !== 0) throw new Error(`scores: length ${scores.length} is not a multiple of numItems + 1 = ${W}`);
  const out: Uint32Array[] = [];
  for (let u = 0; u < scores.length / W; u++) {
    out.push(topKFromScores(scores.subarray(u * W, (u + 1) * W), k, exclude?.(u)));
  }
  return out;
}

/** Options of the evaluation helpers. */
export interface EvaluateOptions {
  ks?: readonly number[];
  mode?: RankingMode;
  split?: string;
  /** Items to exclude for sample i (required by `exclude-history`). */
  history?: (i: number) => ArrayLike<number>;
}

function historyFor(opts: EvaluateOptions, i: number): ArrayLike<number> | undefined {
  if ((opts.mode ?? 'full') === 'full') return undefined;
  if (!opts.history) throw new Error('exclude-history mode needs the users\' histories (option "history")');
  return opts.history(i);
}

/**
 * Metrics of a score matrix ([samples, numItems + 1] row-major) against one target per row.
 * Exact: the target's rank counts the items scored above it (ties: lower id first).
 */
export function evaluateScoreMatrix(
  scores: Float32Array, numItems: number, targets: ArrayLike<number>, opts: EvaluateOptions = {},
): MetricResult {
  const W = numItems + 1;
  if (scores.length !== targets.length * W) {
    throw new Error(`scores: expected ${targets.length} x ${W} = ${targets.length * W} values, got ${scores.length}`);
  }
  const acc = new MetricAccumulator(opts.ks ?? DEFAULT_KS, opts.mode ?? 'full', opts.split);
  for (let i = 0; i < targets.length; i++) {
    acc.addRank(rankOfTarget(scores.subarray(i * W, (i + 1) * W), targets[i]!, historyFor(opts, i)));
  }
  return acc.result();
}

/**
 * 1-based rank of `target` in a ranked list (best first) after dropping `exclude`d items,
 * padding 0 and repeats (first occurrence counts); Infinity when absent or excluded.
 */
export function rankInList(list: ArrayLike<number>, target: number, exclude?: ArrayLike<number>): number {
  const excluded = new Set<number>();
  if (exclude) for (let j = 0; j < exclude.length; j++) excluded.add(exclude[j]!);
  if (excluded.has(target)) return Number.POSITIVE_INFINITY;
  const seen = new Set<number>();
  let rank = 0;
  for (let j = 0; j < list.length; j++) {
    const id = list[j]!;
    if (id === 0 || excluded.has(id) || seen.has(id)) continue;
    seen.add(id);
    rank++;
    if (id === target) return rank;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Metrics of ranked item lists (e.g. from a generative model's beam search), one list per
 * sample. Lists shorter than K simply cannot hit beyond their length. In `exclude-history`
 * mode history items are removed before the cut, so pass lists longer than max K.
 */
export function evaluateRankedLists(
  lists: readonly ArrayLike<number>[], targets: ArrayLike<number>, opts: EvaluateOptions = {},
): MetricResult {
  if (lists.length !== targets.length) throw new Error(`lists: expected ${targets.length} lists (one per target), got ${lists.length}`);
  const acc = new MetricAccumulator(opts.ks ?? DEFAULT_KS, opts.mode ?? 'full', opts.split);
  for (let i = 0; i < targets.length; i++) acc.addRank(rankInList(lists[i]!, targets[i]!, historyFor(opts, i)));
  return acc.result();
}
