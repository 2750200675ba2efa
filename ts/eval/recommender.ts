/**
 * What the evaluation needs from a model, and the loop that evaluates one on a sample set in
 * both ranking modes. A model either scores the whole catalogue (`kind: 'scores'`, e.g. SASRec or
 * the baselines) or returns ranked item lists (`kind: 'ranking'`, e.g. a generative model's beam
 * search). Both receive batches as {@link SampleSet} slices, whose flat typed arrays can be
 * handed to native code as they are.
 */
import type { SampleSet } from '../data/split.js';
import {
  DEFAULT_KS, MetricAccumulator, RANKING_MODES, rankInList, rankOfTarget,
  type MetricResult, type RankingMode,
} from './metrics.js';

/** A model that scores every item: returns [batch.size, numItems + 1] row-major (col 0 ignored). */
export interface ScoringRecommender {
  kind: 'scores';
  name: string;
  scoreBatch(batch: SampleSet): Float32Array | Promise<Float32Array>;
}

/** A model that returns ranked item lists (best first), one per sample, of about `k` items. */
export interface RankingRecommender {
  kind: 'ranking';
  name: string;
  rankBatch(batch: SampleSet, k: number): ArrayLike<number>[] | Promise<ArrayLike<number>[]>;
}

/** Either kind of model. */
export type Recommender = ScoringRecommender | RankingRecommender;

/** Options of {@link evaluateRecommender}. */
export interface EvaluateRecommenderOptions {
  ks?: readonly number[];
  modes?: readonly RankingMode[];
  /** Samples per model call (default 256). */
  batchSize?: number;
  /**
   * Ranking models only: how many extra items to request beyond max K so that exclude-history
   * has something left after removing history (default: the longest full history in the batch,
   * capped at 100).
   */
  extraForExclusion?: number;
}

/** Evaluates `model` on `samples` (validation or test), one {@link MetricResult} per mode. */
export async function evaluateRecommender(
  model: Recommender, samples: SampleSet, numItems: number, opts: EvaluateRecommenderOptions = {},
): Promise<MetricResult[]> {
  const ks = opts.ks ?? DEFAULT_KS;
  const modes = opts.modes ?? RANKING_MODES;
  const batchSize = opts.batchSize ?? 256;
  const accs = modes.map((m) => new MetricAccumulator(ks, m, samples.part));
  const maxK = Math.max(...ks);
  const W = numItems + 1;
  for (let start = 0; start < samples.size; start += batchSize) {
    const end = Math.min(samples.size, start + batchSize);
    const batch = samples.slice(start, end);
    if (model.kind === 'scores') {
      const scores = await model.scoreBatch(batch);
      if (scores.length !== batch.size * W) {
        throw new Error(`${model.name}: scoreBatch returned ${scores.length} values, expected ${batch.size} x ${W}`);
      }
      for (let i = 0; i < batch.size; i++) {
        const row = scores.subarray(i * W, (i + 1) * W);
        modes.forEach((m, j) => {
          accs[j]!.addRank(rankOfTarget(row, batch.targets[i]!, m === 'full' ? undefined : batch.fullHistory(i)));
        });
      }
    } else {
      let extra = 0;
      if (modes.includes('exclude-history')) {
        extra = opts.extraForExclusion ?? Math.min(100, Math.max(0, ...batch.prefixLengths));
      }
      const lists = await model.rankBatch(batch, Math.min(numItems, maxK + extra));
      if (lists.length !== batch.size) throw new Error(`${model.name}: rankBatch returned ${lists.length} lists, expected ${batch.size}`);
      for (let i = 0; i < batch.size; i++) {
        modes.forEach((m, j) => {
          accs[j]!.addRank(rankInList(lists[i]!, batch.targets[i]!, m === 'full' ? undefined : batch.fullHistory(i)));
        });
      }
    }
  }
  return accs.map((a) => a.result());
}
