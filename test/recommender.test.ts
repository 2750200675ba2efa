/**
 * The service API (`Recommender`) and the `eager eval` / `eager recommend` commands on a run
 * trained with the pure-TS stand-in model: results, titles, clamping, error cases, and
 * concurrency (many concurrent calls equal sequential ones).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEval } from '../ts/commands/eval.js';
import { runRecommend } from '../ts/commands/recommend.js';
import { Recommender } from '../ts/recommender.js';
import { trainRun } from '../ts/run/train.js';
import { parseTrainConfig } from '../ts/run/config.js';
import { ProgressReporter } from '../ts/train/progress.js';
import { fakeBackend, fakeIndexLoader } from './fixtures/run-fake-model.js';
import { tinyDatasetDir } from './fixtures/run-data.js';

const { dir: dataDir, dataset } = tinyDatasetDir(40, 60, 9);
const tmp = mkdtempSync(join(tmpdir(), 'eager-recommender-'));
const runDir = join(tmp, 'run');
const deps = () => ({ backend: fakeBackend(), loadIndex: fakeIndexLoader(dataset.numItems) });
let model: Recommender;

beforeAll(async () => {
  const config = parseTrainConfig({
    schedule: { warmupSteps: 0, decay: 'constant' }, batchSize: 16, maxSteps: 12, evalEvery: 6, seed: 1,
    eval: { decode: { beamWidth: 50 } },
  });
  await trainRun({ out: runDir, dataset: dataDir, index: join(tmp, 'idx'), config }, { ...deps(), progress: new ProgressReporter(process.stderr, 10_000, false) });
  model = await Recommender.load(runDir, deps());
});
afterAll(() => {
  model?.close();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

describe('Recommender', () => {
  it('loads the best checkpoint and returns k scored, titled, distinct items', async () => {
    expect(model.numItems).toBe(40);
    expect(model.step).toBeGreaterThan(0);
    const recs = await model.recommend([3, 7, 12], { k: 5 });
    expect(recs).toHaveLength(5);
    expect(new Set(recs.map((r) => r.item)).size).toBe(5);
    for (const r of recs) {
      expect(r.item).toBeGreaterThanOrEqual(1);
      expect(r.item).toBeLessThanOrEqual(40);
      expect(r.title).toBe(dataset.items[r.item]!.title);
      expect(Number.isFinite(r.score)).toBe(true);
    }
    for (let i = 1; i < recs.length; i++) expect(recs[i - 1]!.score).toBeGreaterThanOrEqual(recs[i]!.score);
    // default k is 10; Uint32Array histories work too
    expect(await model.recommend(Uint32Array.of(3, 7, 12))).toHaveLength(10);
  });

  it('clamps k to the catalogue and rejects a bad k', async () => {
    const all = await model.recommend([5], { k: 1000 });
    expect(all).toHaveLength(40);
    expect(new Set(all.map((r) => r.item)).size).toBe(40);
    await expect(model.recommend([5], { k: 0 })).rejects.toMatchObject({ code: 'EAGER_INVALID' });
    await expect(model.recommend([5], { k: 2.5 })).rejects.toThrow(/k: expected a positive integer/);
  });

  it('rejects unknown items by default, skips them on request, and rejects empty histories', async () => {
    const err = await model.recommend([3, 41, 0, -2], { k: 3 }).catch((e) => e);
    expect(err.code).toBe('EAGER_UNKNOWN_ITEM');
    expect(err.message).toMatch(/unknown item id\(s\) 41, 0, -2/);
    expect(err.items).toEqual([41, 0, -2]);
    expect(await model.recommend([3, 41], { k: 3, unknownItems: 'skip' })).toEqual(await model.recommend([3], { k: 3 }));
    await expect(model.recommend([], { k: 3 })).rejects.toMatchObject({ code: 'EAGER_EMPTY_HISTORY' });
    await expect(model.recommend([99], { k: 3, unknownItems: 'skip' })).rejects.toMatchObject({ code: 'EAGER_EMPTY_HISTORY' });
    await expect(model.recommend(['3' as unknown as number])).rejects.toMatchObject({ code: 'EAGER_UNKNOWN_ITEM' });
    const batchErr = await model.recommendBatch([[1], [2, 77]], { k: 2 }).catch((e) => e);
    expect(batchErr.message).toMatch(/^histories\[1\]: unknown item/);
  });

  it('keeps only the most recent maxHistory items and can exclude the history', async () => {
    const long = Array.from({ length: 50 }, (_, i) => (i % 40) + 1);
    expect(await model.recommend(long, { k: 4 })).toEqual(await model.recommend(long.slice(-model.maxHistory), { k: 4 }));
    const recs = await model.recommend([3, 7, 12], { k: 10, excludeHistory: true });
    expect(recs).toHaveLength(10);
    expect(recs.some((r) => [3, 7, 12].includes(r.item))).toBe(false);
  });

  it('answers many concurrent calls exactly as sequential calls', async () => {
    const histories = Array.from({ length: 64 }, (_, u) => Array.from(dataset.sequences[u % dataset.sequences.length]!.subarray(0, 2 + (u % 5))));
    const sequential = [];
    for (const h of histories) sequential.push(await model.recommend(h, { k: 7 }));
    const concurrent = await Promise.all(histories.map((h) => model.recommend(h, { k: 7 })));
    expect(concurrent).toEqual(sequential);
    const batched = await model.recommendBatch(histories, { k: 7 });
    expect(batched).toEqual(sequential);
    const mixed = await Promise.all([model.recommendBatch(histories.slice(0, 32), { k: 7 }), model.recommendBatch(histories.slice(32), { k: 7 })]);
    expect(mixed.flat()).toEqual(sequential);
  });

  it('fails clearly on a directory that is not a run', async () => {
    await expect(Recommender.load(join(tmp, 'nope'), deps())).rejects.toMatchObject({ code: 'EAGER_BAD_RUN' });
    await expect(Recommender.load(tmp, deps())).rejects.toThrow(/not a run directory/);
  });
});

function capture(): string[] {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation(() => {});
  return out;
}

describe('eager eval / eager recommend', () => {
  it('eval --json prints recall@5 .. ndcg@20, both ranking modes labelled, equal to results.json for test', async () => {
    const out = capture();
    expect(await runEval([runDir, '--split', 'test', '--json'], deps())).toBe(0);
    const j = JSON.parse(out.at(-1)!);
    for (const k of ['recall@5', 'recall@10', 'recall@20', 'ndcg@5', 'ndcg@10', 'ndcg@20']) expect(typeof j[k]).toBe('number');
    expect(j.ranking).toBe('full');
    expect(Object.keys(j.byRanking)).toEqual(['full', 'exclude-history']);
    expect(j.split).toBe('test');
    expect(j.users).toBe(60);
    const { loadRun } = await import('../ts/run/layout.js');
    expect(j.byRanking).toEqual({ full: loadRun(runDir).results!.test.full, 'exclude-history': loadRun(runDir).results!.test['exclude-history'] });
    expect(j.usersPerSec).toBeGreaterThan(0);
    expect(j.latencyMs).toBeUndefined();
    expect(await runEval([runDir, '--split', 'valid', '--json', '--latency', '20'], deps())).toBe(0);
    const l = JSON.parse(out.at(-1)!).latencyMs;
    expect(l.requests).toBe(20);
    expect(l.p99).toBeGreaterThanOrEqual(l.p50);
  });

  it('eval prints a labelled table; valid split works', async () => {
    const out = capture();
    expect(await runEval([runDir, '--split', 'valid'], deps())).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/valid\s+full/);
    expect(text).toMatch(/valid\s+exclude-history/);
    await expect(runEval([runDir, '--split', 'train'], deps())).rejects.toThrow(/--split/);
  });

  it('eval --semantic-weight overrides the run\'s rescore weight, and a bad one is refused by name', async () => {
    const out = capture();
    expect(await runEval([runDir, '--split', 'valid', '--json'], deps())).toBe(0);
    expect(JSON.parse(out.at(-1)!).decode).toEqual({ beamWidth: 50, merge: 'rescore', semanticWeight: 1 });
    expect(await runEval([runDir, '--split', 'valid', '--json', '--semantic-weight', '0.5'], deps())).toBe(0);
    expect(JSON.parse(out.at(-1)!).decode.semanticWeight).toBe(0.5);
    expect(await runEval([runDir, '--split', 'valid', '--semantic-weight', '0.5'], deps())).toBe(0);
    expect(out.join('\n')).toMatch(/merge rescore \(semantic weight 0\.5\)/);
    await expect(runEval([runDir, '--split', 'valid', '--semantic-weight', '-1'], deps())).rejects.toThrow(/semantic-weight/);
    // the overrides carry the decode schema's own bounds, and the error names the flag
    await expect(runEval([runDir, '--split', 'valid', '--semantic-weight=-1'], deps())).rejects.toThrow(/--semantic-weight: Too small/);
    await expect(runEval([runDir, '--split', 'valid', '--beam-width', '3000'], deps())).rejects.toThrow(/--beam-width: Too big/);
  });

  it('recommend prints k items, JSON on request, and fails on unknown items', async () => {
    const out = capture();
    expect(await runRecommend([runDir, '--history', '12,7,9', '--k', '3', '--json'], deps())).toBe(0);
    const j = JSON.parse(out.at(-1)!);
    expect(j.items).toEqual(await model.recommend([12, 7, 9], { k: 3 }));
    expect(await runRecommend([runDir, '--history', '12,7,9', '--k', '3'], deps())).toBe(0);
    expect(out.slice(-3).every((l) => /^\s+\d\. /.test(l))).toBe(true);
    await expect(runRecommend([runDir, '--history', '12,700'], deps())).rejects.toMatchObject({ code: 'EAGER_UNKNOWN_ITEM' });
    expect(await runRecommend([runDir, '--history', '12,700', '--skip-unknown', '--json'], deps())).toBe(0);
    await expect(runRecommend([runDir, '--history', '1,a'], deps())).rejects.toThrow(/--history/);
    await expect(runRecommend([runDir], deps())).rejects.toThrow(/--history: required/);
  });
});
