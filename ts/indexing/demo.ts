/**
 * The demo's index, built in memory without downloads: SASRec behaviour embeddings trained on the
 * training part, tfidf-svd semantic embeddings of the generated item text, and codes with a K
 * suited to a small catalogue.
 */
import type { LeaveOneOutSplit } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import type { LoadedIndex } from '../run/types.js';
import { sasrecBehaviourTrainer } from '../sasrec/behaviour.js';
import { asLoadedIndex, buildIndex, type IndexProgress } from './build.js';

/** Smallest K >= 4 with K*K >= numItems: two-level codes for any small catalogue. */
export function demoK(numItems: number): number {
  return Math.max(4, Math.ceil(Math.sqrt(numItems)));
}

export async function buildDemoIndex(
  ds: Dataset,
  split: LeaveOneOutSplit,
  seed: number,
  onProgress?: (p: IndexProgress) => void,
): Promise<LoadedIndex> {
  const built = await buildIndex(
    ds,
    {
      seed,
      split: { maxHistory: split.maxHistory },
      behaviour: { source: 'sasrec', sasrec: { hidden: 32, ffnDim: 64, heads: 1, epochs: 12, patience: 2, dropout: 0.2, attnDropout: 0.2, maxLen: split.maxHistory } },
      semantic: { encoder: 'tfidf-svd', tfidfDim: 32 },
      codes: { k: demoK(ds.numItems) },
    },
    { trainBehaviour: sasrecBehaviourTrainer, ...(onProgress ? { onProgress } : {}) },
  );
  return asLoadedIndex(built);
}
