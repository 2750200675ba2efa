/**
 * Two reference recommenders fitted on the training parts of the sequences only (never a
 * validation or test target; with `trainOn: 'train+valid'`, a refit, also the validation targets):
 * - most popular: scores = interaction counts;
 * - item transition (bigram): scores = how often each item followed the user's last item,
 *   with popularity as a tiny back-off so unseen transitions still rank sensibly.
 */
import type { TrainOn } from '../config/data.js';
import { trainingPart, type SampleSet } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import type { ScoringRecommender } from './recommender.js';

/** Item counts over the training parts, index = item id ([0] = 0). */
export function trainingPopularity(ds: Pick<Dataset, 'numItems' | 'sequences'>, trainOn: TrainOn = 'train'): Float32Array {
  const counts = new Float32Array(ds.numItems + 1);
  for (const s of ds.sequences) {
    const t = trainingPart(s, trainOn);
    for (let j = 0; j < t.length; j++) counts[t[j]!]! += 1;
  }
  return counts;
}

/** The most-popular baseline. */
export function mostPopularRecommender(ds: Pick<Dataset, 'numItems' | 'sequences'>, trainOn: TrainOn = 'train'): ScoringRecommender {
  const counts = trainingPopularity(ds, trainOn);
  return {
    kind: 'scores',
    name: 'most-popular',
    scoreBatch(batch: SampleSet): Float32Array {
      const out = new Float32Array(batch.size * counts.length);
      for (let i = 0; i < batch.size; i++) out.set(counts, i * counts.length);
      return out;
    },
  };
}

/** The item-to-item transition (bigram) baseline. */
export function transitionRecommender(ds: Pick<Dataset, 'numItems' | 'sequences'>, trainOn: TrainOn = 'train'): ScoringRecommender {
  const W = ds.numItems + 1;
  const next: Map<number, number>[] = Array.from({ length: W }, () => new Map());
  for (const s of ds.sequences) {
    const t = trainingPart(s, trainOn);
    for (let j = 1; j < t.length; j++) {
      const m = next[t[j - 1]!]!;
      m.set(t[j]!, (m.get(t[j]!) ?? 0) + 1);
    }
  }
  const pop = trainingPopularity(ds, trainOn);
  let maxPop = 0;
  for (let i = 1; i < W; i++) maxPop = Math.max(maxPop, pop[i]!);
  // Back-off below one transition count: popularity scaled into [0, 0.5].
  const backoff = pop.map((c) => (maxPop > 0 ? (0.5 * c) / maxPop : 0));
  return {
    kind: 'scores',
    name: 'item-transition',
    scoreBatch(batch: SampleSet): Float32Array {
      const out = new Float32Array(batch.size * W);
      for (let i = 0; i < batch.size; i++) {
        out.set(backoff, i * W);
        const len = batch.lengths[i]!;
        if (len === 0) continue;
        const last = batch.histories[(i + 1) * batch.maxHistory - 1]!;
        for (const [item, c] of next[last]!) out[i * W + item]! += c;
      }
      return out;
    },
  };
}
