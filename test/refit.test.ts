/**
 * The refit stage (`trainOn: 'train+valid'`): after model selection, the count baselines and
 * SASRec are fitted again with each user's validation target as one more training target.
 */
import { describe, expect, it } from 'vitest';
import { leaveOneOutSplit } from '../ts/data/split.js';
import { datasetOf } from './fixtures/run-data.js';
import { mostPopularRecommender, transitionRecommender } from '../ts/eval/baselines.js';
import { evaluateSasRec, trainSasRec } from '../ts/sasrec/train.js';

const ds = datasetOf;

describe('refit on the training and validation targets', () => {
  // u0's validation transition 3 -> 4 is u1's test transition; u0's test target 5 is nobody's training target.
  const data = ds([[1, 2, 3, 4, 5], [6, 7, 3, 4]]);
  const test = leaveOneOutSplit(data).test;

  it('the item-transition baseline counts the validation transitions, never the test ones', () => {
    const row = (m: ReturnType<typeof transitionRecommender>, u: number) => {
      const s = m.scoreBatch(test) as Float32Array;
      const W = data.numItems + 1;
      return s.subarray(u * W, (u + 1) * W);
    };
    const trainOnly = row(transitionRecommender(data), 1);
    const refit = row(transitionRecommender(data, 'train+valid'), 1);
    expect(trainOnly[4]).toBe(0); // item 4 is only a validation and a test target: unseen in training
    expect(refit[4]).toBeGreaterThanOrEqual(1); // one counted 3 -> 4 transition (u0's validation)
    // u0's test target 5 follows 4 nowhere in either fit
    expect(row(transitionRecommender(data, 'train+valid'), 0)[5]).toBe(0);
    const pop = mostPopularRecommender(data, 'train+valid').scoreBatch(test) as Float32Array;
    expect(Array.from(pop.subarray(0, data.numItems + 1))).toEqual([0, 1, 1, 2, 1, 0, 1, 1]);
  });

  it('SASRec refit trains exactly `epochs` epochs, validates nothing, and differs from the train-only fit', async () => {
    const seqs = Array.from({ length: 40 }, (_, u) => Array.from({ length: 6 + (u % 4) }, (_, j) => ((u + j) % 25) + 1));
    const d = ds(seqs);
    const split = leaveOneOutSplit(d);
    const cfg = { hidden: 16, heads: 2, ffnDim: 32, layers: 1, dropout: 0.1, attnDropout: 0.1, maxLen: 10, lr: 5e-3, batchSize: 16, seed: 3, epochs: 4 };
    const refit = await trainSasRec(d, split, { ...cfg, trainOn: 'train+valid' });
    expect(refit.epochs).toHaveLength(4);
    expect(refit.epochs.every((e) => e.valid === undefined)).toBe(true);
    expect(refit.valid).toBeUndefined();
    expect(refit.bestEpoch).toBe(4);
    expect((await evaluateSasRec(refit.model, split.test)).full.users).toBe(40);
    const again = await trainSasRec(d, split, { ...cfg, trainOn: 'train+valid' });
    expect(again.epochs.map((e) => e.loss)).toEqual(refit.epochs.map((e) => e.loss));
    const trainOnly = await trainSasRec(d, split, { ...cfg, patience: 10 });
    expect(trainOnly.valid).toBeDefined();
    expect(trainOnly.epochs[0]!.loss).not.toBe(refit.epochs[0]!.loss);
  });
});
