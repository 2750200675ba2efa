/**
 * The run layer with the real native EAGER model (tiny config, tiny synthetic data): train with
 * validation, resume after an interruption equal to an uninterrupted run, and the service API
 * (concurrency equal to sequential, errors, clamping).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTrain } from '../ts/commands/train.js';
import { Recommender } from '../ts/recommender.js';
import type { RunResults } from '../ts/run/layout.js';
import type { LoadedIndex } from '../ts/run/types.js';
import { SeededRandom } from '../ts/data/prng.js';
import { tinyDatasetDir } from './fixtures/run-data.js';

const { dir: dataDir, dataset } = tinyDatasetDir(48, 80, 11);
const tmp = mkdtempSync(join(tmpdir(), 'eager-native-run-'));

/** Two-level codes (K = 8) and random embeddings for the 48 items: enough to exercise the model. */
function tinyIndex(): LoadedIndex {
  const n = dataset.numItems;
  const rng = new SeededRandom(1);
  const stream = (dim: number, perm: number[]) => ({
    dim,
    embeddings: Float32Array.from({ length: n * dim }, () => rng.next() - 0.5),
    codes: { K: 8, L: 2, codes: Uint32Array.from(perm.flatMap((p) => [Math.floor(p / 8), p % 8])) },
  });
  const ids = Array.from({ length: n }, (_, i) => i);
  return { numItems: n, behaviour: stream(8, ids), semantic: stream(12, rng.shuffle([...ids])), manifest: { numItems: n } };
}
const deps = { loadIndex: async () => tinyIndex() };

const config = {
  model: {
    hidden: 16, heads: 2, ffn: 32, encoderLayers: 1, decoderLayers: 1, dropout: 0.1, attentionDropout: 0,
    gct: { negatives: 16 }, stt: { negatives: 4 },
  },
  schedule: { peakLr: 5e-3, warmupSteps: 5, decay: 'constant' },
  batchSize: 32, maxSteps: 30, evalEvery: 10, patience: 0, seed: 7,
  eval: { decode: { beamWidth: 8 }, batchSize: 64 },
};
const cfgPath = join(tmp, 'config.json');
writeFileSync(cfgPath, JSON.stringify(config));

beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

const results = (run: string) => JSON.parse(readFileSync(join(run, 'results.json'), 'utf8')) as RunResults;
const losses = (run: string) => readFileSync(join(run, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  .filter((r) => r.kind === 'step').map((r) => r.total);

describe('native EAGER run', () => {
  const full = join(tmp, 'full');

  it('trains, keeps safetensors checkpoints, and tests the best one', async () => {
    expect(await runTrain([dataDir, '--index', 'mem', '--out', full, '--config', cfgPath, '--quiet'], deps)).toBe(0);
    const r = results(full);
    expect(r.config.backend).toBe('eager-native');
    expect(existsSync(join(full, 'checkpoints', 'best', 'weights.safetensors'))).toBe(true);
    expect(existsSync(join(full, 'checkpoints', 'last', 'optimizer.safetensors'))).toBe(true);
    expect(r.test.users).toBe(80);
    expect(Object.keys(r.test.full)).toHaveLength(6);
    const l = losses(full);
    expect(l).toHaveLength(30);
    expect(l.every(Number.isFinite)).toBe(true);
  });

  it('--resume after Ctrl-C reproduces the uninterrupted run exactly', async () => {
    const part = join(tmp, 'part');
    const onStep = (async () => {
      // Interrupt once the run has passed its second validation.
      for (let i = 0; i < 2000; i++) {
        await new Promise((r) => setTimeout(r, 5));
        if (existsSync(join(part, 'train-log.jsonl')) && losses(part).length >= 23) {
          process.emit('SIGINT', 'SIGINT');
          return;
        }
      }
    })();
    expect(await runTrain([dataDir, '--index', 'mem', '--out', part, '--config', cfgPath, '--quiet'], deps)).toBe(130);
    await onStep;
    expect(await runTrain(['--resume', '--out', part, '--quiet'], deps)).toBe(0);
    expect(losses(part)).toEqual(losses(full));
    expect(results(part).test).toEqual(results(full).test);
    expect(results(part).bestStep).toBe(results(full).bestStep);
  });

  it('chooses the final checkpoint among the best on a validation sample by every validation user', async () => {
    const sel = join(tmp, 'sel');
    const selPath = join(tmp, 'sel.json');
    writeFileSync(selPath, JSON.stringify({ ...config, evalEvery: 5, eval: { ...config.eval, validUsers: 12, finalCandidates: 2 } }));
    expect(await runTrain([dataDir, '--index', 'mem', '--out', sel, '--config', selPath, '--quiet'], deps)).toBe(0);
    const r = results(sel);
    const fs = r.finalSelection!;
    expect(fs.users).toBe(80);
    expect(fs.candidates).toHaveLength(2);
    expect(fs.candidates.find((c) => c.step === r.bestStep)!.all).toBe(Math.max(...fs.candidates.map((c) => c.all)));
    // the chosen checkpoint's all-users numbers are kept in the shape of `eager eval --split valid --json`
    const va = JSON.parse(readFileSync(join(sel, 'valid-all.json'), 'utf8')) as { step: number; users: number; byRanking: { full: Record<string, number> } };
    expect([va.step, va.users]).toEqual([r.bestStep, 80]);
    expect(va.byRanking.full['ndcg@10']).toBe(fs.candidates.find((c) => c.step === r.bestStep)!.all);
  });

  it('serves: concurrent recommend calls equal sequential ones; errors and clamping', async () => {
    const model = await Recommender.load(full, deps);
    try {
      const histories = Array.from({ length: 24 }, (_, u) => Array.from(dataset.sequences[u]!.subarray(0, 3 + (u % 4))));
      const sequential = [];
      for (const h of histories) sequential.push(await model.recommend(h, { k: 10 }));
      const concurrent = await Promise.all(histories.map((h) => model.recommend(h, { k: 10 })));
      expect(concurrent).toEqual(sequential);
      for (const recs of sequential) {
        expect(recs).toHaveLength(10);
        expect(new Set(recs.map((r) => r.item)).size).toBe(10);
        expect(recs.every((r) => r.item >= 1 && r.item <= 48 && typeof r.title === 'string')).toBe(true);
      }
      const all = await model.recommend([1, 2], { k: 500 });
      // k above the catalogue is clamped: every one of the 48 items, each once
      expect(all).toHaveLength(48);
      expect(new Set(all.map((r) => r.item)).size).toBe(48);
      await expect(model.recommend([1, 49])).rejects.toMatchObject({ code: 'EAGER_UNKNOWN_ITEM' });
      await expect(model.recommend([])).rejects.toMatchObject({ code: 'EAGER_EMPTY_HISTORY' });
      expect(await model.recommend([1, 49], { unknownItems: 'skip', k: 5 })).toEqual(await model.recommend([1], { k: 5 }));
    } finally {
      model.close();
    }
  });
});
