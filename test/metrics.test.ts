import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../ts/data/prng.js';
import {
  evaluateRankedLists, evaluateScoreMatrix, MetricAccumulator, rankInList, rankOfTarget, rankScoreMatrix, topKFromScores,
} from '../ts/eval/metrics.js';

// A score row over 5 items (index 0 ignored). Ranking by hand, ties by lower id:
// 4 (0.9), 2 (0.5), 3 (0.5), 5 (0.2), 1 (0.1).
const ROW = Float32Array.from([99, 0.1, 0.5, 0.5, 0.9, 0.2]);
const G2 = 1 / Math.log2(3); // NDCG gain at rank 2 = 0.6309297535714575
const G3 = 0.5; // 1 / log2(4)
const G5 = 1 / Math.log2(6); // 0.38685280723454163

describe('ranking a score row', () => {
  it('breaks ties by the lower item id and never ranks item 0', () => {
    expect(Array.from(topKFromScores(ROW, 3))).toEqual([4, 2, 3]);
    expect(rankOfTarget(ROW, 2)).toBe(2);
    expect(rankOfTarget(ROW, 3)).toBe(3);
    expect(rankOfTarget(ROW, 1)).toBe(5);
  });

  it('k larger than the catalogue returns every item', () => {
    expect(Array.from(topKFromScores(ROW, 10))).toEqual([4, 2, 3, 5, 1]);
  });

  it('history exclusion removes items before the cut; an excluded target cannot be hit', () => {
    expect(Array.from(topKFromScores(ROW, 2, [2]))).toEqual([4, 3]);
    expect(rankOfTarget(ROW, 3, [4])).toBe(2);
    expect(rankOfTarget(ROW, 3, [3])).toBe(Infinity);
  });

  it('NaN scores rank last; an out-of-range target is a miss', () => {
    const row = Float32Array.from([0, NaN, 1, NaN]);
    expect(Array.from(topKFromScores(row, 3))).toEqual([2, 1, 3]);
    expect(rankOfTarget(row, 3)).toBe(3);
    expect(rankOfTarget(row, 2)).toBe(1);
    expect(rankOfTarget(row, 9)).toBe(Infinity);
  });

  it('all-equal scores rank by id', () => {
    expect(Array.from(topKFromScores(new Float32Array(6), 3))).toEqual([1, 2, 3]);
    expect(rankOfTarget(new Float32Array(6), 5)).toBe(5);
  });
});

describe('Recall@K and NDCG@K', () => {
  it('score matrix: hand-computed values with a tie, a miss and a top hit', () => {
    // u0: ROW, target 3 -> rank 3; u1: all zero, target 5 -> rank 5 (ties by id); u2: target 1 -> rank 1.
    const scores = new Float32Array(18);
    scores.set(ROW, 0);
    scores.set([0, 1, 0, 0, 0, 0], 12);
    const r = evaluateScoreMatrix(scores, 5, [3, 5, 1], { ks: [1, 3, 10] });
    expect(r.users).toBe(3);
    expect(r.mode).toBe('full');
    expect(r.recall[1]).toBeCloseTo(1 / 3, 12);
    expect(r.recall[3]).toBeCloseTo(2 / 3, 12);
    expect(r.recall[10]).toBeCloseTo(1, 12);
    expect(r.ndcg[1]).toBeCloseTo(1 / 3, 12);
    expect(r.ndcg[3]).toBeCloseTo((G3 + 1) / 3, 12); // 0.5
    expect(r.ndcg[10]).toBeCloseTo((G3 + G5 + 1) / 3, 12); // 0.6289509357448472
  });

  it('score matrix in exclude-history mode', () => {
    const scores = new Float32Array(12);
    scores.set(ROW, 0);
    scores.set(ROW, 6);
    const hist = [[4], [3, 4]];
    // u0: target 3 without item 4 -> rank 2; u1: target 3 is in the history -> miss.
    const r = evaluateScoreMatrix(scores, 5, [3, 3], { ks: [1, 2], mode: 'exclude-history', history: (i) => hist[i]! });
    expect(r.mode).toBe('exclude-history');
    expect(r.recall).toEqual({ 1: 0, 2: 0.5 });
    expect(r.ndcg[2]).toBeCloseTo(G2 / 2, 12);
    expect(() => evaluateScoreMatrix(scores, 5, [3, 3], { mode: 'exclude-history' })).toThrow(/history/);
  });

  it('ranked lists: duplicates and padding skipped, short lists, empty lists, exclusion', () => {
    const lists = [[4, 2, 3], [5, 5, 0, 1], []];
    const targets = [3, 1, 2];
    const full = evaluateRankedLists(lists, targets, { ks: [1, 2, 5], split: 'test' });
    expect(full.split).toBe('test');
    expect(full.recall[1]).toBe(0);
    expect(full.recall[2]).toBeCloseTo(1 / 3, 12);
    expect(full.recall[5]).toBeCloseTo(2 / 3, 12);
    expect(full.ndcg[2]).toBeCloseTo(G2 / 3, 12);
    expect(full.ndcg[5]).toBeCloseTo((G3 + G2) / 3, 12); // 0.37697658452381917
    const hist = [[4], [5], []];
    const ex = evaluateRankedLists(lists, targets, { ks: [1, 2], mode: 'exclude-history', history: (i) => hist[i]! });
    expect(ex.recall[1]).toBeCloseTo(1 / 3, 12);
    expect(ex.recall[2]).toBeCloseTo(2 / 3, 12);
    expect(ex.ndcg[2]).toBeCloseTo((G2 + 1) / 3, 12); // 0.5436432511904858
    expect(rankInList([1, 2], 3)).toBe(Infinity);
  });

  it('a user with no hit counts in the average; no users gives zeros', () => {
    const acc = new MetricAccumulator([5]);
    acc.addRank(Infinity);
    acc.addRank(1);
    expect(acc.result().recall[5]).toBe(0.5);
    expect(new MetricAccumulator([5]).result()).toMatchObject({ users: 0, recall: { 5: 0 }, ndcg: { 5: 0 } });
    expect(() => new MetricAccumulator([0])).toThrow(/ks/);
  });

  it('score-matrix metrics equal ranked-list metrics of its top-K (many ties)', () => {
    const rng = new SeededRandom(7);
    const users = 50;
    const n = 30;
    const scores = Float32Array.from({ length: users * (n + 1) }, () => rng.int(4));
    const targets = Array.from({ length: users }, () => 1 + rng.int(n));
    const hist = Array.from({ length: users }, () => Array.from({ length: 5 }, () => 1 + rng.int(n)));
    for (const mode of ['full', 'exclude-history'] as const) {
      const opts = { ks: [1, 5, 10], mode, history: (i: number) => hist[i]! };
      const a = evaluateScoreMatrix(scores, n, targets, opts);
      const lists = rankScoreMatrix(scores, n, 10, mode === 'full' ? undefined : (u) => hist[u]!);
      const b = evaluateRankedLists(lists, targets, opts);
      expect(a).toEqual(b);
    }
    expect(() => rankScoreMatrix(new Float32Array(7), 5, 3)).toThrow(/multiple/);
  });
});
