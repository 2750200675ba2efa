/**
 * SASRec as the behaviour-embedding trainer of `eager index` (the `BehaviourTrainer` signature of
 * `ts/indexing/build.ts`): trains on the training parts, keeps the epoch with the best validation
 * NDCG@10 and returns its item table `E^b`. With `trainOn: 'train+valid'` (the index of a refit,
 * `bench:repro --refit-of <result> --refit-index`) it trains exactly `epochs` epochs on the
 * training and validation targets and validates nothing; `eager train` lets only a refit use
 * such an index (`ts/run/index-train-on.ts`).
 */
import type { LeaveOneOutSplit } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { parseConfig } from '../config/data.js';
import { SasRecConfigSchema } from './config.js';
import { trainSasRec } from './train.js';

/** `(ds, split, sasrecConfig, seed, onProgress) => { dim, data, info }`. */
export async function sasrecBehaviourTrainer(
  ds: Dataset,
  split: Pick<LeaveOneOutSplit, 'valid'>,
  sasrecConfig: Record<string, unknown>,
  seed: number,
  onProgress: (message: string) => void,
): Promise<{ dim: number; data: Float32Array; info: Record<string, unknown> }> {
  const cfg = parseConfig(SasRecConfigSchema, { seed, ...sasrecConfig }, 'behaviour.sasrec config');
  const r = await trainSasRec(ds, split, cfg, {
    onEpoch: (e) => onProgress(
      `sasrec epoch ${e.epoch}: loss ${e.loss.toFixed(4)}` +
        (e.score !== undefined ? `, valid NDCG@10 ${e.score.toFixed(4)}${e.best ? ' (best)' : ''}` : '') +
        ` (${e.seconds.toFixed(1)} s)`,
    ),
  });
  return {
    dim: r.dim,
    data: r.embeddings,
    info: {
      model: 'sasrec',
      trainOn: cfg.trainOn,
      config: r.config,
      bestEpoch: r.bestEpoch,
      epochsRun: r.epochs.length,
      validNdcg10: r.valid?.full.ndcg[10],
      trainSeconds: r.trainSeconds,
    },
  };
}
