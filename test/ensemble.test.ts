/**
 * Ensembles (`ts/run/ensemble.ts`): the union of the members' lists ranked by their summed
 * scores, checked against hand-computed rankings; and `eager eval` with several runs.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensembleModel, ensembleRank, rankUnion, unionLists } from '../ts/run/ensemble.js';
import type { DecodeSettings, RankedBatch, RunModel } from '../ts/run/types.js';
import { runEval } from '../ts/commands/eval.js';
import { runRecommend } from '../ts/commands/recommend.js';
import { Recommender } from '../ts/recommender.js';
import { trainRun } from '../ts/run/train.js';
import { parseTrainConfig } from '../ts/run/config.js';
import { ProgressReporter } from '../ts/train/progress.js';
import { fakeBackend, fakeIndexLoader } from './fixtures/run-fake-model.js';
import { tinyDatasetDir } from './fixtures/run-data.js';

const decode: DecodeSettings = { beamWidth: 5, merge: 'rescore', semanticWeight: 1 };

/** A member with a fixed score per item (the same for every history); recommends its top k by it. */
function member(scores: Record<number, number>, withScoreLists = true): RunModel & { scored: number[][] } {
  const ids = Object.keys(scores).map(Number).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const m = {
    scored: [] as number[][],
    setLearningRate() {},
    async trainStep() { return {}; },
    async save() {},
    async recommend(histories: Uint32Array, T: number, k: number): Promise<RankedBatch> {
      const B = histories.length / T;
      const items = new Uint32Array(B * k);
      for (let b = 0; b < B; b++) ids.slice(0, k).forEach((id, j) => { items[b * k + j] = id; });
      return { k, items, scores: new Float32Array(B * k) };
    },
    async scoreLists(_h: Uint32Array, _T: number, items: Uint32Array, offsets: Uint32Array) {
      m.scored.push(Array.from(offsets));
      return Float32Array.from(items, (i) => scores[i] ?? -100);
    },
  };
  if (!withScoreLists) delete (m as Partial<typeof m>).scoreLists;
  return m;
}

/** `users` one-item histories (`[users, 1]`). */
function histories(users: number): Uint32Array {
  return new Uint32Array(users).fill(1);
}

describe('ensemble ranking', () => {
  it('unions lists in first-occurrence order per row, skipping item 0', () => {
    const a = { k: 3, items: Uint32Array.from([1, 2, 0, 5, 6, 7]) };
    const b = { k: 2, items: Uint32Array.from([2, 3, 7, 8]) };
    const u = unionLists([a, b], 2);
    expect(Array.from(u.offsets)).toEqual([0, 3, 7]);
    expect(Array.from(u.items)).toEqual([1, 2, 3, 5, 6, 7, 8]);
  });

  it('ranks each row by score, ties by item id, cut to k; a short row is padded with item 0', () => {
    const items = Uint32Array.from([4, 9, 2, 7, 3]);
    const r = rankUnion(items, Uint32Array.from([0, 3, 5, 5]), Float64Array.from([-1, -0.5, -1, -2, -3]), 2);
    expect(Array.from(r.items)).toEqual([9, 2, 7, 3, 0, 0]);
    expect(Array.from(r.scores)).toEqual([-0.5, -1, -2, -3, -Infinity, -Infinity]);
  });

  it('ranks the union of the members\' lists by the sum of their scores', async () => {
    // A alone: 1, 2, 3; B alone: 4, 2, 3. Sums: 1 → -4, 2 → -3, 3 → -3.5, 4 → -4.5, 5 → -200.
    const A = member({ 1: -1, 2: -2, 3: -2.5, 4: -4, 5: -100 });
    const B = member({ 1: -3, 2: -1, 3: -1, 4: -0.5, 5: -100 });
    const r = await ensembleModel([{ model: A, decode }, { model: B, decode }]).recommend(histories(2), 1, 3, decode);
    // The union of both top 3s, {1, 2, 3, 4}, by sum (5 is in neither list); the scores are the sums.
    expect(Array.from(r.items)).toEqual([2, 3, 1, 2, 3, 1]);
    expect(Array.from(r.scores)).toEqual([-3, -3.5, -4, -3, -3.5, -4]);
    expect(A.scored).toEqual([[0, 4, 8]]);
    expect(B.scored).toEqual([[0, 4, 8]]);
    // One member: its own ranking.
    const solo = await ensembleRank([{ model: B, decode }], histories(1), 1, 3);
    expect(Array.from(solo.items)).toEqual([4, 2, 3]);
  });

  it('refuses no members and a member that cannot score given items', () => {
    expect(() => ensembleModel([])).toThrow(/ensemble: no members/);
    expect(() => ensembleModel([{ model: member({ 1: 0 }), decode }, { model: member({ 1: 0 }, false), decode }])).toThrow(/member 1 cannot score/);
  });
});

describe('eager eval with several runs', () => {
  const { dir: dataDir, dataset } = tinyDatasetDir(40, 60, 9);
  const tmp = mkdtempSync(join(tmpdir(), 'eager-ensemble-'));
  const deps = () => ({ backend: fakeBackend(), loadIndex: fakeIndexLoader(dataset.numItems) });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  afterEach(() => vi.restoreAllMocks());

  async function train(name: string, seed: number, maxSteps: number, trainOn?: 'train+valid'): Promise<string> {
    const config = parseTrainConfig({
      schedule: { warmupSteps: 0, decay: 'constant' }, batchSize: 16, maxSteps, evalEvery: maxSteps, seed,
      eval: { decode: { beamWidth: 50 } }, ...(trainOn ? { split: { trainOn } } : {}),
    });
    const out = join(tmp, name);
    await trainRun({ out, dataset: dataDir, index: join(tmp, `idx-${name}`), config }, { ...deps(), progress: new ProgressReporter(process.stderr, 10_000, false) });
    return out;
  }

  function capture(): string[] {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    return out;
  }

  it('a run with itself scores as the run alone; two different runs differ from both; members are listed', async () => {
    const a = await train('a', 1, 4);
    const b = await train('b', 2, 12);
    const out = capture();
    const json = async (...argv: string[]) => {
      expect(await runEval([...argv, '--split', 'valid', '--json'], deps())).toBe(0);
      return JSON.parse(out.at(-1)!);
    };
    const [ja, jb, jaa, jab] = [await json(a), await json(b), await json(a, a), await json(a, b)];
    expect(jaa.byRanking).toEqual(ja.byRanking);
    expect(jab.byRanking).not.toEqual(ja.byRanking);
    expect(jab.byRanking).not.toEqual(jb.byRanking);
    expect(jab.ensemble.map((m: { run: string }) => m.run)).toEqual([a, b]);
    expect(ja.ensemble).toBeUndefined();
    expect(await runEval([a, b, '--split', 'valid'], deps())).toBe(0);
    expect(out.join('\n')).toMatch(/member 2: run .*\/b, best checkpoint/);
    expect(out.join('\n')).toMatch(/eager x2/);
    expect((await json(a, b, '--latency', '5')).latencyMs.requests).toBe(5);
    await expect(runEval(['--split', 'valid'], deps())).rejects.toThrow(/at least one run/);
  });

  it('serves an ensemble: a run with itself recommends as the run alone (scores summed), members listed', async () => {
    const [a, b] = [join(tmp, 'a'), join(tmp, 'b')];
    const one = await Recommender.load(a, deps());
    const twice = await Recommender.loadEnsemble([a, a], deps());
    const mixed = await Recommender.loadEnsemble([a, b], deps());
    try {
      const h = [3, 7, 12];
      const single = await one.recommend(h, { k: 5 });
      const doubled = await twice.recommend(h, { k: 5 });
      expect(doubled.map((r) => r.item)).toEqual(single.map((r) => r.item));
      doubled.forEach((r, i) => expect(r.score).toBeCloseTo(2 * single[i]!.score, 3));
      expect(twice.members.map((m) => m.runDir)).toEqual([a, a]);
      expect(one.members).toEqual([]);
      const recs = await mixed.recommend(h, { k: 5, excludeHistory: true });
      expect(recs).toHaveLength(5);
      expect(recs.some((r) => h.includes(r.item))).toBe(false);
      expect(await Promise.all([1, 2, 3].map(() => mixed.recommend(h, { k: 5 })))).toEqual(Array(3).fill(await mixed.recommend(h, { k: 5 })));
    } finally {
      for (const r of [one, twice, mixed]) r.close();
    }
    await expect(Recommender.loadEnsemble([], deps())).rejects.toMatchObject({ code: 'EAGER_INVALID' });
    await expect(Recommender.loadEnsemble([a, join(tmp, 'nope')], deps())).rejects.toMatchObject({ code: 'EAGER_BAD_RUN' });
  });

  it('eager recommend with several runs answers from the ensemble', async () => {
    const [a, b] = [join(tmp, 'a'), join(tmp, 'b')];
    const out = capture();
    expect(await runRecommend([a, b, '--history', '3,7,12', '--k', '4', '--json'], deps())).toBe(0);
    const ens = await Recommender.loadEnsemble([a, b], deps());
    try {
      expect(JSON.parse(out.at(-1)!).items).toEqual(await ens.recommend([3, 7, 12], { k: 4 }));
    } finally {
      ens.close();
    }
    await expect(runRecommend([a, b, '--history', '3', '--index', 'x'], deps())).rejects.toThrow(/--index: with one run only/);
    await expect(runRecommend(['--history', '3'], deps())).rejects.toThrow(/at least one run/);
  });

  it('refuses a refit member on validation', async () => {
    const a = join(tmp, 'a');
    const r = await train('r', 3, 4, 'train+valid');
    await expect(runEval([a, r, '--split', 'valid'], deps())).rejects.toThrow(/\/r is a refit/);
    vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await runEval([a, r, '--split', 'test', '--json'], deps())).toBe(0);
  });
});
