/**
 * Evaluation of a run's model with the project's metrics: the model decodes ranked lists with the
 * same beam search serving uses; the lists are scored in both ranking modes.
 */
import { SampleSet } from '../data/split.js';
import { SeededRandom } from '../data/prng.js';
import { DEFAULT_KS, type MetricResult, type RankingMode } from '../eval/metrics.js';
import { evaluateRecommender, type RankingRecommender } from '../eval/recommender.js';
import type { FlatMetrics, SplitMetrics } from './layout.js';
import type { DecodeSettings, RunModel } from './types.js';

/** What evaluation needs of a model: its `recommend` (a run's model, or an ensemble: `ensembleModel`). */
export type Decoder = Pick<RunModel, 'recommend'>;

/** `{recall@5, ..., ndcg@20}` of one result. */
export function flattenMetrics(r: MetricResult): FlatMetrics {
  const out: FlatMetrics = {};
  for (const k of r.ks) out[`recall@${k}`] = r.recall[k] ?? 0;
  for (const k of r.ks) out[`ndcg@${k}`] = r.ndcg[k] ?? 0;
  return out;
}

/** Adapts a {@link RunModel} to the evaluation's ranking-recommender interface (lists of at most `maxList`). */
export function rankingRecommender(model: Decoder, decode: DecodeSettings, name = 'eager', maxList = Infinity): RankingRecommender {
  return {
    kind: 'ranking',
    name,
    async rankBatch(batch: SampleSet, k: number) {
      // Decoding cost grows with k (the beam is widened to k): cap the list length.
      const out = await model.recommend(batch.histories, batch.maxHistory, Math.min(k, maxList), decode);
      const lists: Uint32Array[] = [];
      for (let i = 0; i < batch.size; i++) lists.push(out.items.subarray(i * out.k, (i + 1) * out.k));
      return lists;
    },
  };
}

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions {
  decode: DecodeSettings;
  batchSize: number;
  modes?: readonly RankingMode[];
  extraForExclusion?: number;
  ks?: readonly number[];
}

/** Metrics of `model` (a run's, or an ensemble's) on a sample set; modes not requested are returned empty. */
export async function evaluateModel(
  model: Decoder, samples: SampleSet, numItems: number, opts: EvaluateModelOptions,
): Promise<SplitMetrics> {
  const modes = opts.modes ?? ['full', 'exclude-history'];
  const results = await evaluateRecommender(rankingRecommender(model, opts.decode), samples, numItems, {
    ks: opts.ks ?? DEFAULT_KS, modes, batchSize: opts.batchSize, extraForExclusion: opts.extraForExclusion ?? 20,
  });
  const byMode = (m: RankingMode) => {
    const r = results.find((x) => x.mode === m);
    return r ? flattenMetrics(r) : {};
  };
  return {
    split: samples.part === 'test' ? 'test' : 'valid',
    users: samples.size,
    full: byMode('full'),
    'exclude-history': byMode('exclude-history'),
  };
}

/**
 * A fixed seeded subset of `n` samples (all when n is 0 or >= size), in their original order,
 * for cheaper validation during training.
 */
export function sampleSubset(samples: SampleSet, n: number, seed: number, sequences: readonly Uint32Array[]): SampleSet {
  if (n <= 0 || n >= samples.size) return samples;
  const idx = Array.from({ length: samples.size }, (_, i) => i);
  new SeededRandom((seed * 31 + 17) | 0).shuffle(idx);
  const pick = idx.slice(0, n).sort((a, b) => a - b);
  const T = samples.maxHistory;
  const histories = new Uint32Array(n * T);
  const lengths = new Uint32Array(n);
  const targets = new Uint32Array(n);
  const users = new Uint32Array(n);
  const prefixLengths = new Uint32Array(n);
  pick.forEach((i, j) => {
    histories.set(samples.histories.subarray(i * T, (i + 1) * T), j * T);
    lengths[j] = samples.lengths[i]!;
    targets[j] = samples.targets[i]!;
    users[j] = samples.users[i]!;
    prefixLengths[j] = samples.prefixLengths[i]!;
  });
  return new SampleSet(samples.part, T, histories, lengths, targets, users, prefixLengths, sequences);
}
